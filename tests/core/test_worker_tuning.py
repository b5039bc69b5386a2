"""The worker process tunes the interpreter once, when it starts (not around each run)."""

from __future__ import annotations

import gc
import sys
import time

import pytest

from unify.core import worker_tuning


@pytest.fixture
def restored_interpreter():
    threshold, switch = gc.get_threshold(), sys.getswitchinterval()
    yield
    gc.set_threshold(*threshold)
    sys.setswitchinterval(switch)
    gc.unfreeze()


def test_tuning_freezes_what_exists_and_raises_the_collection_threshold(restored_interpreter):
    _, older, oldest = gc.get_threshold()
    gc.unfreeze()

    worker_tuning.worker_process_tune(sender=None)

    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (worker_tuning.GC_THRESHOLD, older, oldest)
    assert sys.getswitchinterval() == pytest.approx(worker_tuning.SWITCH_INTERVAL)
    worker_tuning.worker_process_tune(sender=None)  # a second signal changes nothing
    assert gc.get_threshold() == (worker_tuning.GC_THRESHOLD, older, oldest)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("pool", ["threads", "prefork"])
def test_a_real_worker_is_tuned_when_it_starts(celery_worker_process, pool):
    worker = celery_worker_process(pool=pool, concurrency=2 if pool == "threads" else 1)
    # Every pool's main process (worker_init); prefork children too (worker_process_init),
    # which may log a moment after the worker said it is ready.
    expected = 2 if pool == "prefork" else 1
    deadline = time.monotonic() + 20
    while True:
        tuned = [line for line in worker.output().splitlines() if "interpreter tuned" in line]
        if len(tuned) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    time.sleep(0.5)  # and no more than that
    tuned = [line for line in worker.output().splitlines() if "interpreter tuned" in line]
    assert len(tuned) == expected, worker.output()[-3000:]
    assert f"gc threshold {worker_tuning.GC_THRESHOLD}" in tuned[0]
