"""The shared rate limiter and concurrency semaphore, on Redis and on the SQLite fallback.

These check decisions, not durations: whether the store grants a request now or says to
wait, and the order and spacing of grants recorded by the store's own clock."""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid

import pytest
import redis
from django.conf import settings

from unify.core.exceptions import ProviderRateLimited
from unify.core.ratelimit import (
    MAX_OBSERVED_PLACEHOLDERS,
    Budget,
    ConcurrencySemaphore,
    RedisBackend,
    SlidingWindowLimiter,
    SQLiteBackend,
)


@pytest.fixture(params=["redis", "sqlite"])
def backend(request, tmp_path):
    if request.param == "redis":
        return RedisBackend(redis.Redis.from_url(settings.REDIS_URL))
    return SQLiteBackend(tmp_path / "ratelimit.sqlite3")


@pytest.fixture
def key():
    return f"test:{uuid.uuid4().hex}"


def test_grants_up_to_the_limit_then_says_how_long_to_wait(backend, key):
    budget = Budget(limit=3, window_seconds=30)
    assert [backend.try_acquire(key, budget) for _ in range(3)] == [0, 0, 0]
    wait = backend.try_acquire(key, budget)
    assert 29 < wait <= 30


def test_provider_headers_take_budget_away_when_someone_else_uses_the_keys(backend, key):
    budget = Budget(limit=10, window_seconds=60)
    for _ in range(2):
        assert backend.try_acquire(key, budget) == 0
    # The provider says only 3 remain (another app spent 5): we may send 3 more, not 8.
    backend.observe(key, budget, remaining=3, reset_seconds=20)
    assert [backend.try_acquire(key, budget) for _ in range(3)] == [0, 0, 0]
    wait = backend.try_acquire(key, budget)
    assert 0 < wait <= 20.5  # the borrowed slots come back when the provider's window resets


def test_a_budget_far_above_the_providers_records_a_bounded_number_of_other_requests(backend, key):
    """A limit configured at a billion (limits "off" in a benchmark) while the provider says
    39 remain: one answer records at most MAX_OBSERVED_PLACEHOLDERS requests of other apps,
    not a billion (in Redis that script held the server for everyone)."""
    budget = Budget(limit=1_000_000_000, window_seconds=60)
    backend.observe(key, budget, remaining=39, reset_seconds=30)
    if isinstance(backend, RedisBackend):
        recorded = backend.client.zcard(backend._keys(key)[0])
    else:
        with backend._tx() as db:
            recorded = db.execute("SELECT COUNT(*) FROM hits WHERE key = ?", (key,)).fetchone()[0]
    assert recorded == MAX_OBSERVED_PLACEHOLDERS
    assert backend.try_acquire(key, budget) == 0  # the rest of the budget is still granted


def test_a_429_blocks_every_caller_of_the_key_until_the_reset(backend, key):
    budget = Budget(limit=40, window_seconds=60)
    backend.observe(key, budget, remaining=0, reset_seconds=7)
    assert 6 < backend.try_acquire(key, budget) <= 7
    other = f"{key}:other"
    assert backend.try_acquire(other, budget) == 0  # other keys are not affected
    backend.block(other, 5)
    assert 4 < backend.try_acquire(other, budget) <= 5


def test_acquire_gives_up_after_its_longest_wait(backend, key):
    limiter = SlidingWindowLimiter(Budget(limit=1, window_seconds=60), backend=backend,
                                   max_wait_seconds=0.2)  # fmt: skip
    limiter.acquire(key)
    with pytest.raises(ProviderRateLimited) as raised:
        limiter.acquire(key)
    assert raised.value.retry_after > 59


def test_limiter_reads_headers_like_the_client_sends_them(backend, key):
    limiter = SlidingWindowLimiter(Budget(limit=40, window_seconds=60), backend=backend)
    limiter.observe(key, {"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "9"})
    assert backend.try_acquire(key, limiter.budget) > 8
    limiter.observe(f"{key}:b", {"X-Rate-Limit-Remaining": "junk"})  # ignored, no error
    assert backend.try_acquire(f"{key}:b", limiter.budget) == 0


def _grab(backend_kind: str, path: str, redis_url: str, key: str, count: int, out) -> None:
    backend = (
        RedisBackend(redis.Redis.from_url(redis_url))
        if backend_kind == "redis"
        else SQLiteBackend(path)
    )
    budget = Budget(limit=5, window_seconds=1.0, margin_seconds=0.3)
    limiter = SlidingWindowLimiter(budget, backend=backend)
    for _ in range(count):
        limiter.acquire(key)
        out.put(time.time())


@pytest.mark.parametrize("kind", ["redis", "sqlite"])
def test_processes_sharing_a_key_stay_within_one_budget(kind, tmp_path, key):
    """Three processes, 8 requests each, one budget of 5 per second."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    path = str(tmp_path / "ratelimit.sqlite3")
    procs = [
        ctx.Process(target=_grab, args=(kind, path, settings.REDIS_URL, key, 8, out))
        for _ in range(3)
    ]
    for p in procs:
        p.start()
    grants = sorted(out.get(timeout=60) for _ in range(24))
    for p in procs:
        p.join(timeout=30)
    # Any 1-second span holds at most 5 grants (grant times as the processes saw them; the
    # margin covers the time between the store's decision and the process noting it).
    for i in range(len(grants) - 5):
        assert grants[i + 5] - grants[i] >= 1.0, grants


def test_concurrency_semaphore_caps_holders_and_frees_dead_ones(backend, key):
    sem = ConcurrencySemaphore(capacity=2, lease_seconds=0.5, backend=backend,
                               max_wait_seconds=0.1)  # fmt: skip
    held = []
    with sem.hold(key), sem.hold(key), pytest.raises(ProviderRateLimited), sem.hold(key):
        held.append("third")
    assert held == []
    with sem.hold(key):
        held.append("after release")
    assert held == ["after release"]
    # A holder that never releases (its process died) loses the slot when the lease ends.
    assert backend.semaphore_acquire(key, 1, "dead", 0.2)
    assert not backend.semaphore_acquire(key, 1, "alive", 0.2)
    time.sleep(0.3)
    assert backend.semaphore_acquire(key, 1, "alive", 0.2)


def test_threads_share_the_semaphore(backend, key):
    sem = ConcurrencySemaphore(capacity=3, backend=backend, max_wait_seconds=10)
    inside = 0
    peak = 0
    lock = threading.Lock()

    def work():
        nonlocal inside, peak
        with sem.hold(key):
            with lock:
                inside += 1
                peak = max(peak, inside)
            time.sleep(0.05)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 3


def test_slot_and_grant_are_taken_together_or_not_at_all(backend, key):
    budget = Budget(limit=2, window_seconds=30)
    # Every slot busy: -1, and no grant is spent on the attempt.
    assert backend.semaphore_acquire(key, 1, "other", 5.0)
    assert backend.semaphore_acquire_with_grant(key, 1, "mine", 5.0, budget) == -1
    backend.semaphore_release(key, "other")
    assert backend.semaphore_acquire_with_grant(key, 1, "mine", 5.0, budget) == 0
    # Both were taken: the slot is mine, and one grant of two is spent.
    assert not backend.semaphore_acquire(key, 1, "other", 5.0)
    backend.semaphore_release(key, "mine")
    assert backend.semaphore_acquire_with_grant(key, 1, "second", 5.0, budget) == 0
    backend.semaphore_release(key, "second")
    # The rate is spent: the answer is the wait, and the free slot stays free.
    wait = backend.semaphore_acquire_with_grant(key, 1, "third", 5.0, budget)
    assert 29 < wait <= 30
    assert backend.semaphore_acquire(key, 1, "other", 5.0)
    backend.semaphore_release(key, "other")
    # A 429 block answers with its wait too.
    blocked = f"{key}:blocked"
    backend.block(blocked, 7)
    assert 6 < backend.semaphore_acquire_with_grant(blocked, 1, "t", 5.0, budget) <= 7


def test_hold_with_grant_waits_for_the_rate_without_holding_a_slot(backend, key):
    probes = []

    def sleep(seconds):
        # While it waits for the rate, the one slot is free for others.
        probes.append(backend.semaphore_acquire(key, 1, "probe", 1.0))
        backend.semaphore_release(key, "probe")
        time.sleep(seconds)

    limiter = SlidingWindowLimiter(
        Budget(limit=2, window_seconds=0.6), backend=backend, sleep=sleep, provider="qbo"
    )
    sem = ConcurrencySemaphore(capacity=1, backend=backend, max_wait_seconds=0.1, provider="qbo")
    # The one slot is held: a second caller gets none and spends no grant.
    with (
        sem.hold_with_grant(key, limiter),
        pytest.raises(ProviderRateLimited, match="concurrent"),
        sem.hold_with_grant(key, limiter),
    ):
        pass
    with sem.hold_with_grant(key, limiter):
        pass
    assert probes == []
    with sem.hold_with_grant(key, limiter):
        pass
    assert probes and all(probes)  # the third waited for the window, slot-less
    assert limiter.waited_seconds > 0
    # Released after each use.
    assert backend.semaphore_acquire(key, 1, "after", 1.0)


def test_hold_with_grant_gives_up_after_the_limiters_longest_wait(backend, key):
    limiter = SlidingWindowLimiter(
        Budget(limit=1, window_seconds=30), backend=backend, max_wait_seconds=1
    )
    sem = ConcurrencySemaphore(capacity=2, backend=backend)
    with sem.hold_with_grant(key, limiter):
        pass
    with (
        pytest.raises(ProviderRateLimited, match="no request slot"),
        sem.hold_with_grant(key, limiter),
    ):
        pass
    assert backend.semaphore_acquire(key, 1, "free", 1.0)  # nothing left held


def test_a_429_shrinks_the_budget_to_what_fitted_and_each_further_one_shrinks_it_again(
    backend, key
):
    budget = Budget(limit=40, window_seconds=60)
    for _ in range(25):
        assert backend.try_acquire(key, budget) == 0
    # The provider answered the 25th with 429: 24 of ours fitted beside another app.
    assert backend.shrink(key, budget, reset_seconds=30, ttl_seconds=60) == 24
    assert backend.cap(key) == 24
    assert backend.try_acquire(key, budget) > 0  # 25 granted already, 24 allowed
    other = f"{key}:other"
    assert backend.try_acquire(other, budget) == 0  # other keys keep their budget
    # Another 429 before the cap was even reached: one less again.
    assert backend.shrink(key, budget, reset_seconds=30, ttl_seconds=60) == 23
    # Few of ours fitted: at most half the budget goes at once.
    third = f"{key}:third"
    for _ in range(3):
        backend.try_acquire(third, budget)
    assert backend.shrink(third, budget, reset_seconds=30, ttl_seconds=60) == 20
    assert backend.shrink(third, budget, reset_seconds=30, ttl_seconds=60) == 10
    # Observed usage (what the provider says others spent) is not counted as ours.
    fourth = f"{key}:fourth"
    backend.observe(fourth, Budget(limit=4, window_seconds=60), remaining=0, reset_seconds=30)
    assert backend.shrink(fourth, Budget(limit=4, window_seconds=60), 30, 60) == 2


def test_the_shrunk_budget_expires(backend, key):
    budget = Budget(limit=10, window_seconds=60)
    backend.try_acquire(key, budget)
    backend.shrink(key, budget, reset_seconds=30, ttl_seconds=0.2)
    assert backend.cap(key) == 5
    time.sleep(0.3)
    assert backend.cap(key) is None


def test_throttled_blocks_every_caller_until_the_reset_and_shrinks(backend, key):
    limiter = SlidingWindowLimiter(Budget(limit=40, window_seconds=60), backend=backend,
                                   shrink_seconds=60)  # fmt: skip
    for _ in range(31):
        limiter.acquire(key)
    assert limiter.throttled(key, 7) == 30
    assert 6 < backend.try_acquire(key, limiter.budget) <= 7


def test_a_grant_restamped_when_its_request_leaves_counts_from_then(backend, key):
    """A grant taken before another wait (the per-second limit, a concurrency slot) moves to
    the moment its request leaves, so the window's next grant waits for that moment: the
    provider counts arrivals, and the window's last request must not reach it less than a
    window after the first."""
    budget = Budget(limit=2, window_seconds=1.0)
    assert backend.try_acquire(key, budget, "first") == 0
    time.sleep(0.4)  # waiting for something else before sending
    assert backend.restamp(key, budget, "first") == 0
    assert backend.try_acquire(key, budget, "second") == 0
    time.sleep(0.7)  # a second after the first grant, 0.7 s after it left
    wait = backend.try_acquire(key, budget)
    assert 0.2 < wait <= 0.4  # counted from when it left, not from the grant
    # A grant that has left the window is granted again only if the budget allows; a
    # 429's block gives it up and waits.
    other = f"{key}:other"
    assert backend.try_acquire(other, budget, "late") == 0
    assert backend.try_acquire(other, budget) == 0
    backend.block(other, 5)
    assert 4 < backend.restamp(other, budget, "late") <= 5
    assert 4 < backend.try_acquire(other, budget) <= 5


def test_restamp_keeps_the_limit_in_every_window(backend, key):
    budget = Budget(limit=3, window_seconds=0.6)
    names = [f"g{i}" for i in range(3)]
    for name in names:
        assert backend.try_acquire(key, budget, name) == 0
    time.sleep(0.7)  # every grant has left the window: a restamp is a new grant
    assert backend.try_acquire(key, budget, "new") == 0
    assert [backend.restamp(key, budget, name) for name in names[:2]] == [0, 0]
    assert 0.5 < backend.restamp(key, budget, names[2]) <= 0.6
    # Restamping a grant that is still in the window never adds one.
    assert backend.restamp(key, budget, names[0]) == 0
    assert backend.try_acquire(key, budget) > 0
