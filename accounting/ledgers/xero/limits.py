"""Xero's limits, shared by every worker (Redis; the SQLite file on the embedded default).

Per organisation (tenant): 60 calls in any 60 s, 5,000 in any 24 h, 5 at once; per app: 10,000
calls a minute across organisations. Before a call: the day's grant (never waited for: a spent
day pauses posting, see :func:`daily_pause`), the app's minute grant, then the tenant's
concurrency slot and minute grant in one step. After it: ``X-MinLimit-Remaining`` and
``X-DayLimit-Remaining`` take budget away when Xero counted more than we did. A 429 is
believed: every worker waits ``Retry-After`` for the limit it names (``X-Rate-Limit-Problem``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache

from unify.core.ratelimit import Budget, ConcurrencySemaphore, SlidingWindowLimiter

logger = logging.getLogger("unify.xero")

PROVIDER = "xero"
APP_KEY = "xero-app"
# Aligning with Xero's remaining counts records one entry per request Xero counted and we
# did not; a budget above this is a limiter turned off, which is never aligned.
OBSERVE_MAX_BUDGET = 10_000


def _minute_budget() -> Budget:
    window = float(settings.XERO_RATE_LIMIT_WINDOW_SECONDS)
    return Budget(
        limit=int(settings.XERO_RATE_LIMIT_PER_MINUTE),
        window_seconds=window,
        margin_seconds=min(1.0, window / 20),
    )


def _day_budget() -> Budget:
    return Budget(
        limit=int(settings.XERO_DAY_LIMIT),
        window_seconds=float(settings.XERO_DAY_WINDOW_SECONDS),
    )


def _app_budget() -> Budget:
    window = float(settings.XERO_RATE_LIMIT_WINDOW_SECONDS)
    return Budget(
        limit=int(settings.XERO_APP_RATE_LIMIT_PER_MINUTE),
        window_seconds=window,
        margin_seconds=min(1.0, window / 20),
    )


def minute_key(tenant_id: str) -> str:
    return f"{PROVIDER}:{tenant_id}"


def day_key(tenant_id: str) -> str:
    return f"{PROVIDER}-day:{tenant_id}"


_lock = threading.Lock()
_limiters: dict[str, SlidingWindowLimiter] = {}
_semaphores: dict[int, ConcurrencySemaphore] = {}


def _limiter(name: str) -> SlidingWindowLimiter:
    with _lock:
        limiter = _limiters.get(name)
        if limiter is None:
            budget = {"minute": _minute_budget, "day": _day_budget, "app": _app_budget}[name]
            # The day is never waited for (a worker does not sleep for hours): a spent day
            # raises at once and postings pause.
            limiter = SlidingWindowLimiter(
                budget, provider=PROVIDER, max_wait_seconds=0.0 if name == "day" else None
            )
            _limiters[name] = limiter
        return limiter


def _semaphore() -> ConcurrencySemaphore:
    capacity = int(settings.XERO_MAX_CONCURRENT)
    with _lock:
        semaphore = _semaphores.get(capacity)
        if semaphore is None:
            semaphore = ConcurrencySemaphore(
                capacity=capacity,
                lease_seconds=float(settings.XERO_TIMEOUT_READ) + 30,
                provider=PROVIDER,
                max_wait_seconds=float(settings.XERO_TIMEOUT_READ),
            )
            _semaphores[capacity] = semaphore
        return semaphore


class DailyLimitReached(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"xero: the organisation's daily limit is spent ({retry_after:.0f} s)")
        self.retry_after = retry_after


@contextlib.contextmanager
def request_slot(tenant_id: str | None) -> Iterator[None]:
    """Everything a call needs before it leaves; ``tenant_id`` None for tenantless calls
    (``/connections``), which count only against the app's minute."""
    from unify.core.exceptions import ProviderRateLimited

    if tenant_id:
        try:
            _limiter("day").acquire(day_key(tenant_id))
        except ProviderRateLimited as exc:
            pause_for_day(tenant_id, exc.retry_after)
            raise DailyLimitReached(exc.retry_after) from None
    _limiter("app").acquire(APP_KEY)
    if not tenant_id:
        yield
        return
    with _semaphore().hold_with_grant(minute_key(tenant_id), _limiter("minute")):
        yield


def observe(tenant_id: str | None, headers: Mapping[str, str]) -> None:
    """Align the shared counts with what Xero says remains (case-insensitive headers)."""
    if not tenant_id:
        return
    lowered = {k.lower(): v for k, v in headers.items()}
    for header, name, key in (
        ("x-minlimit-remaining", "minute", minute_key(tenant_id)),
        ("x-daylimit-remaining", "day", day_key(tenant_id)),
    ):
        value = lowered.get(header)
        if value is None or not value.strip().isdigit():
            continue
        limiter = _limiter(name)
        budget = limiter.budget
        if budget.limit > OBSERVE_MAX_BUDGET:
            continue  # limits off (benchmarks): nothing to align, and no huge phantom count
        # Xero gives no reset time: what it counted expires a whole window from now.
        limiter.backend.observe(key, budget, int(value), budget.window_seconds)
        if name == "day" and int(value) <= 0:
            pause_for_day(tenant_id, budget.window_seconds)


def throttled(tenant_id: str | None, problem: str, retry_after: float) -> None:
    """Xero said 429: every worker waits for the limit it named."""
    seconds = max(1.0, retry_after)
    if problem == "appminute" or not tenant_id:
        _limiter("app").block(APP_KEY, seconds)
    elif problem == "day":
        _limiter("day").block(day_key(tenant_id), seconds)
        pause_for_day(tenant_id, seconds)
    else:  # minute, concurrent
        _limiter("minute").block(minute_key(tenant_id), seconds)
    logger.info("xero %s: 429 (%s), waiting %.0f s", tenant_id or "app", problem, seconds)


# -- the daily pause, for the engine and the Accounting tab -------------------------------------


def _pause_key(tenant_id: str) -> str:
    return f"xero:daily-pause:{tenant_id}"


def pause_for_day(tenant_id: str, seconds: float) -> None:
    until = time.time() + max(1.0, seconds)
    cache.set(_pause_key(tenant_id), until, timeout=max(1, int(seconds) + 1))


def daily_pause(tenant_id: str) -> datetime | None:
    """When posting to this organisation may resume, while its daily limit is spent."""
    until = cache.get(_pause_key(tenant_id))
    if until is None or until <= time.time():
        return None
    return datetime.fromtimestamp(until, tz=UTC)


def reset(tenant_id: str) -> None:
    """Forget every count of this organisation (tests: a fresh stand-in)."""
    for name, key in (("minute", minute_key(tenant_id)), ("day", day_key(tenant_id))):
        _limiter(name).reset(key)
    _limiter("app").reset(APP_KEY)
    cache.delete(_pause_key(tenant_id))
