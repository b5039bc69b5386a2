"""QuickBooks Online's batch lane and per-second limit, shared by every worker (Redis).

Beside the 500 requests a minute and 10 at once per realm (``client.qbo_rate_limiter``,
``client.qbo_semaphore``), Intuit allows 10 requests a second per realm and app, and 40 batch
requests a minute per realm and app, 120 a minute per realm across apps. The batch budget
starts at 40; a 429 on a batch request (another app using the realm's 120, or our own count
off) makes every worker wait and shrinks the budget to what fitted in the window
(``SlidingWindowLimiter.throttled``). Batch requests count in the minute's 500 too.

Intuit counts a request when it arrives, so each of its grants counts from the moment it
leaves (``grants_at_departure``), not from when it was taken before another wait.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
import uuid
from collections.abc import Iterator

from django.conf import settings

from unify.core.ratelimit import Budget, SlidingWindowLimiter

PROVIDER = "qbo"
# A grant older than this when its request leaves is moved to the moment it leaves
# (``SlidingWindowLimiter.restamp``); below it, the budget's margin covers the difference.
RESTAMP_AFTER_SECONDS = 0.02
# How much later than its grant a request may reach Intuit (a loaded worker, the network).
TRANSIT_SECONDS = 0.05


def batch_key(realm_id: str) -> str:
    return f"{PROVIDER}-batch:{realm_id}"


def second_key(realm_id: str) -> str:
    return f"{PROVIDER}-second:{realm_id}"


def batch_budget() -> Budget:
    window = float(settings.QBO_RATE_LIMIT_WINDOW_SECONDS)
    return Budget(
        limit=int(settings.QBO_BATCH_PER_MINUTE),
        window_seconds=window,
        margin_seconds=min(1.0, window / 20),
    )


def second_budget() -> Budget:
    window = float(settings.QBO_RATE_LIMIT_SECOND_WINDOW)
    per_second = int(settings.QBO_RATE_LIMIT_PER_SECOND)
    return Budget(
        # One below Intuit's 10: a request that reaches Intuit late (a loaded worker, a
        # thread waiting for the interpreter) then cannot make it 11 in a second, and a 429
        # stops the company for a minute. 9 in 1.2 s still carry the 500 a minute's share.
        limit=max(1, per_second - 1) if per_second > 2 else per_second,
        window_seconds=window,
        # Requests reach Intuit some milliseconds after their grant, later on a loaded
        # worker: counted over 1.2 s, 9 a window carry 450 a minute. Counted over 1.1 s
        # (491 a minute) the benchmark at 10,000 sales drew four 429s on a loaded machine,
        # each a minute's pause for the company: more than the 41 requests a minute gained.
        # The time a request travels does not shrink with a scaled clock (benchmarks):
        # never less than TRANSIT_SECONDS.
        margin_seconds=max(window / 5, TRANSIT_SECONDS),
    )


_lock = threading.Lock()
_limiters: dict[str, SlidingWindowLimiter] = {}


def _limiter(name: str) -> SlidingWindowLimiter:
    with _lock:
        limiter = _limiters.get(name)
        if limiter is None:
            budget = batch_budget if name == "batch" else second_budget
            limiter = SlidingWindowLimiter(
                budget,
                provider=PROVIDER,
                shrink_seconds=lambda: 10 * float(settings.QBO_RATE_LIMIT_WINDOW_SECONDS),
            )
            _limiters[name] = limiter
        return limiter


def batch_limiter() -> SlidingWindowLimiter:
    return _limiter("batch")


def second_limiter() -> SlidingWindowLimiter | None:
    """None when the per-second limit is turned off (``QBO_RATE_LIMIT_PER_SECOND`` = 0)."""
    if int(settings.QBO_RATE_LIMIT_PER_SECOND) <= 0:
        return None
    return _limiter("second")


def reset(realm_id: str) -> None:
    batch_limiter().reset(batch_key(realm_id))
    _limiter("second").reset(second_key(realm_id))


# The moment after which a request of the current thread must not leave any more (the
# postings' leases would run out before its answer is recorded): ``send_deadline``.
_send_by: contextvars.ContextVar[float | None] = contextvars.ContextVar("qbo_send_by", default=None)


@contextlib.contextmanager
def send_deadline(send_by: float | None) -> Iterator[None]:
    """Requests made inside leave only until ``send_by`` (``time.monotonic()``); later,
    after every wait for the limits, ``too_late_to_send`` is true and they are not sent."""
    token = _send_by.set(send_by)
    try:
        yield
    finally:
        _send_by.reset(token)


def too_late_to_send() -> bool:
    send_by = _send_by.get()
    return send_by is not None and time.monotonic() > send_by


# The name of the batch grant taken beforehand (``try_batch_grant``) while its request is sent.
_grant_held: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "qbo_batch_grant_held", default=None
)


def try_batch_grant(realm_id: str) -> str | None:
    """Take a batch grant if one is free now (never waits): its name, or None."""
    limiter = batch_limiter()
    member = uuid.uuid4().hex
    wait = limiter.backend.try_acquire(batch_key(realm_id), limiter.budget, member)
    return member if wait <= 0 else None


@contextlib.contextmanager
def batch_grant_held(member: str) -> Iterator[None]:
    token = _grant_held.set(member)
    try:
        yield
    finally:
        _grant_held.reset(token)


def acquire_batch(realm_id: str) -> str:
    """Before a batch request: its grant, unless taken already by ``try_batch_grant``.
    Returns the grant's name for ``grants_at_departure``."""
    member = _grant_held.get()
    if member is not None:
        _grant_held.set(None)  # one request per grant: a resend takes its own
        return member
    member = uuid.uuid4().hex
    batch_limiter().acquire(batch_key(realm_id), member)
    return member


def grants_at_departure(
    realm_id: str,
    minute: SlidingWindowLimiter,
    minute_key: str,
    minute_grant: str,
    batch_grant: str | None,
) -> None:
    """Right before a request leaves, holding its concurrency slot and its minute's grant
    (named ``minute_grant``): its batch grant (if a batch) counts from now, and its grant of
    the second is taken last, since Intuit counts each limit from the request's arrival. A
    grant taken before another wait (the batch's record, the concurrency slot, up to a second
    for the per-second limit) would count from an earlier moment, and a window's last request
    could reach Intuit less than a window after its first. When the second's grant had to
    wait, the others move to now; when that had to wait (a 429 blocked the company meanwhile),
    the second's grant is taken again."""
    if batch_grant is not None:
        batch_limiter().restamp(batch_key(realm_id), batch_grant)
    per_second = second_limiter()
    if per_second is None:
        return
    while True:
        started = time.monotonic()
        per_second.acquire(second_key(realm_id))
        if time.monotonic() - started <= RESTAMP_AFTER_SECONDS:
            return
        started = time.monotonic()
        minute.restamp(minute_key, minute_grant)
        if batch_grant is not None:
            batch_limiter().restamp(batch_key(realm_id), batch_grant)
        if time.monotonic() - started <= RESTAMP_AFTER_SECONDS:
            return
