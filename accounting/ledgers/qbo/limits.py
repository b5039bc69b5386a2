"""QuickBooks Online's batch lane and per-second limit, shared by every worker (Redis).

Beside the 500 requests a minute and 10 at once per realm (``client.qbo_rate_limiter``,
``client.qbo_semaphore``), Intuit allows 10 requests a second per realm and app, and 40 batch
requests a minute per realm and app, 120 a minute per realm across apps. The batch budget
starts at 40; a 429 on a batch request (another app using the realm's 120, or our own count
off) makes every worker wait and shrinks the budget to what fitted in the window
(``SlidingWindowLimiter.throttled``). Batch requests count in the minute's 500 too.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator

from django.conf import settings

from unify.core.ratelimit import Budget, SlidingWindowLimiter

PROVIDER = "qbo"


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
    return Budget(
        limit=int(settings.QBO_RATE_LIMIT_PER_SECOND),
        window_seconds=window,
        # Requests reach Intuit some milliseconds after their grant: counted over 1.2 s, the
        # 10 a second still carry the 500 a minute.
        margin_seconds=window / 5,
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


# Set while a batch request whose grant was taken beforehand (``try_batch_grant``) is sent.
_grant_held: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "qbo_batch_grant_held", default=False
)


def try_batch_grant(realm_id: str) -> bool:
    """Take a batch grant if one is free now (never waits)."""
    limiter = batch_limiter()
    return limiter.backend.try_acquire(batch_key(realm_id), limiter.budget) <= 0


@contextlib.contextmanager
def batch_grant_held() -> Iterator[None]:
    token = _grant_held.set(True)
    try:
        yield
    finally:
        _grant_held.reset(token)


def acquire_batch(realm_id: str) -> None:
    """Before a batch request: its grant, unless taken already by ``try_batch_grant``."""
    if _grant_held.get():
        _grant_held.set(False)  # one request per grant: a resend takes its own
        return
    batch_limiter().acquire(batch_key(realm_id))
