"""Reliability runs: the import executed by real Celery worker subprocesses (the shared
``celery_worker_process`` fixture) against the ShipStation stand-in over HTTP, PostgreSQL and
Redis. Small pages, short leases and quick retries keep each run a few seconds long."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from connections.sources.shipstation.client import api_key_fingerprint
from connections.sources.shipstation.limits import shipstation_rate_limiter
from tests.sales.support import SS_KEY
from tests.worker_process import unique_queue

LEASE_SECONDS = 3.0


def wait_for(predicate: Callable[[], object], *, timeout: float = 90.0, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or predicate}")


@pytest.fixture
def sync_env(shipstation, settings, tmp_path):
    """Settings for this process and the environment for its workers, kept in step."""
    queue = unique_queue("sync")
    values = {
        "DJANGO_SETTINGS_MODULE": "tests.reliability.worker_settings",
        "SHIPSTATION_API_BASE_URL": shipstation.base_url,
        "SHIPSTATION_TIMEOUT_CONNECT": "2",
        "SHIPSTATION_TIMEOUT_READ": "1",
        "SHIPSTATION_RATE_LIMIT_PER_MINUTE": "100000",
        "SHIPSTATION_RATE_LIMIT_WINDOW_SECONDS": "60",
        "SALES_TASK_QUEUE": queue,
        # The notification emails (keys expired, run failed) go out from the same worker.
        "NOTIFICATIONS_TASK_QUEUE": queue,
        "SALES_SYNC_LEASE_SECONDS": str(LEASE_SECONDS),
        "SALES_SYNC_BACKOFF_SECONDS": "0.05",
        "SALES_SYNC_BACKOFF_MAX_SECONDS": "0.3",
        "SALES_SYNC_MAX_ATTEMPTS": "8",
        "SALES_SYNC_PAGE_SIZE": "50",
        "UNIFY_TEST_EMAIL_DIR": str(tmp_path / "mail"),
    }

    class Env(dict):
        queue = ""

        def set(self, **changes: object) -> None:
            """Change a value for this process and for workers started afterwards."""
            for name, value in changes.items():
                self[name] = str(value)
                _apply(name, value)

    def _apply(name: str, value: object) -> None:
        current = getattr(settings, name, None)
        if isinstance(current, bool):
            value = str(value) in ("1", "true", "True")
        elif isinstance(current, int):
            value = int(value)
        elif isinstance(current, float):
            value = float(value)
        setattr(settings, name, value)

    env = Env(values)
    env.queue = queue
    for name, value in values.items():
        if name not in ("DJANGO_SETTINGS_MODULE", "UNIFY_TEST_EMAIL_DIR"):
            _apply(name, value)
    shipstation_rate_limiter().reset(f"shipstation:{api_key_fingerprint(SS_KEY)}")
    return env


@pytest.fixture
def start_worker(celery_worker_process, sync_env):
    def start(**kwargs):
        return celery_worker_process([sync_env.queue], env=dict(sync_env), **kwargs)

    return start
