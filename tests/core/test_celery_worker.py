"""A real Celery worker, started as a subprocess on the Redis broker, runs the health task."""

from __future__ import annotations

import time
import uuid

import pytest
from django.core.cache import cache

from tests.worker_process import unique_queue
from unify.core.tasks import health_check

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _wait_for_cache(key: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cache.get(key)
        if value is not None:
            return value
        time.sleep(0.1)
    return None


def test_worker_subprocess_runs_health_task_from_redis_queue(celery_worker_process, settings):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    queue = unique_queue("health")
    worker = celery_worker_process([queue])
    token = uuid.uuid4().hex
    assert cache.get(f"health:{token}") is None

    health_check.apply_async(kwargs={"token": token}, queue=queue)

    value = _wait_for_cache(f"health:{token}")
    assert value is not None, worker.output()[-3000:]
    assert value.startswith("ok ")
    # The worker, not this process, ran it: its log names the task as received and done.
    log = worker.output()
    assert "unify.core.tasks.health_check" in log
    assert worker.is_alive()
    assert worker.stop() is not None
    assert not worker.is_alive()


def test_killed_worker_leaves_task_unacknowledged_for_redelivery(celery_worker_process):
    """acks_late + reject_on_worker_lost: a task queued while no worker consumes stays in
    Redis; a SIGKILLed worker does not lose it, the next worker runs it."""
    queue = unique_queue("health")
    first = celery_worker_process([queue])
    first.kill()
    first.wait(timeout=15)
    assert not first.is_alive()
    token = uuid.uuid4().hex
    health_check.apply_async(kwargs={"token": token}, queue=queue)
    assert cache.get(f"health:{token}") is None
    second = celery_worker_process([queue])
    assert _wait_for_cache(f"health:{token}") is not None, second.output()[-3000:]
    assert second.pid != first.pid
