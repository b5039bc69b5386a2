"""The limiters provider clients use: a sliding window and a concurrency semaphore."""

from __future__ import annotations

import contextlib
import logging
import math
import time
import uuid
from collections.abc import Callable, Iterator, Mapping

from unify.core.exceptions import ProviderRateLimited
from unify.core.ratelimit.backends import default_backend
from unify.core.ratelimit.budget import Budget, LimiterBackend, wait_listener

logger = logging.getLogger(__name__)


def _header(headers: Mapping[str, str], name: str) -> float | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class SlidingWindowLimiter:
    """The shared limiter behind a provider client (``acquire``/``observe`` hook).

    ``budget`` is a :class:`Budget` or a callable returning one, so settings are read when a
    request is made, never at import time. ``acquire`` waits (sleeping in short slices) until
    the shared store grants the request; after ``max_wait_seconds`` it raises
    ``ProviderRateLimited`` so the caller's retry policy takes over instead of a worker
    sleeping forever.
    """

    remaining_header = "X-Rate-Limit-Remaining"
    reset_header = "X-Rate-Limit-Reset"

    def __init__(
        self,
        budget: Budget | Callable[[], Budget],
        *,
        provider: str = "",
        backend: LimiterBackend | None = None,
        max_wait_seconds: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        shrink_seconds: float | Callable[[], float] = 600.0,
    ) -> None:
        self._budget = budget
        self._shrink_seconds = shrink_seconds
        self.provider = provider
        self._backend = backend
        self.max_wait_seconds = max_wait_seconds
        self._sleep = sleep
        self.waited_seconds = 0.0  # total time this instance spent waiting (for reports)

    @property
    def budget(self) -> Budget:
        return self._budget() if callable(self._budget) else self._budget

    @property
    def backend(self) -> LimiterBackend:
        if self._backend is None:
            self._backend = default_backend()
        return self._backend

    def acquire(self, key: str, member: str | None = None) -> None:
        """Wait for a grant (named ``member`` when given, for ``restamp``)."""
        self.wait_for_grant(key, lambda budget: self.backend.try_acquire(key, budget, member))

    def restamp(self, key: str, member: str) -> None:
        """The request of grant ``member`` leaves now. A grant taken before waiting for
        something else (another limit, a concurrency slot) counts from now, the moment the
        provider will count it; if it has left the window meanwhile, or a 429 blocked the
        key, this waits for a grant again like ``acquire``."""
        self.wait_for_grant(key, lambda budget: self.backend.restamp(key, budget, member))

    def wait_for_grant(self, key: str, attempt: Callable[[Budget], float]) -> None:
        """Call ``attempt(budget)`` (a grant from the shared store: 0, or the seconds to
        wait) until it grants, sleeping in short slices; after ``max_wait_seconds`` raise
        ``ProviderRateLimited`` so the caller's retry policy takes over."""
        budget = self.budget
        max_wait = self.max_wait_seconds
        if max_wait is None:
            max_wait = 2 * budget.effective_window + 5
        waited = 0.0
        listener = wait_listener.get()
        while True:
            wait = attempt(budget)
            if wait <= 0:
                self.waited_seconds += waited
                return
            if listener is not None and wait >= 1.0:
                listener(wait)
            if waited + wait > max_wait:
                self.waited_seconds += waited
                raise ProviderRateLimited(
                    f"{self.provider or key}: no request slot within {max_wait:g} s",
                    provider=self.provider,
                    retry_after=wait,
                )
            # A short slice, so a slot freed early (a reset by support) is used soon.
            pause = min(wait, max(0.05, budget.effective_window / 4))
            self._sleep(pause)
            waited += pause

    def observe(self, key: str, headers: Mapping[str, str]) -> None:
        remaining = _header(headers, self.remaining_header)
        reset = _header(headers, self.reset_header)
        if remaining is None:
            return
        self.backend.observe(key, self.budget, int(remaining), reset if reset is not None else 0)

    def block(self, key: str, seconds: float) -> None:
        """Stop every worker from using ``key`` for ``seconds`` (the provider said 429)."""
        self.backend.block(key, seconds)

    def throttled(self, key: str, reset_seconds: float) -> int:
        """The provider answered 429 (its count is the truth, whatever ours says): every
        worker waits for its reset, and the key's budget shrinks to what fitted in the
        provider's window beside the other apps using the same credentials. Returns the
        shrunk limit."""
        seconds = max(0.1, float(reset_seconds))
        self.backend.block(key, seconds)
        ttl = self._shrink_seconds() if callable(self._shrink_seconds) else self._shrink_seconds
        cap = self.backend.shrink(key, self.budget, seconds, float(ttl))
        logger.info("%s: 429, waiting %.0f s; budget now %s a window", key, seconds, cap)
        return cap

    def reset(self, key: str) -> None:
        self.backend.reset(key)


class ConcurrencySemaphore:
    """At most ``capacity`` holders of ``key`` at once across all workers.

    ``with sem.hold(key): ...`` waits for a slot (up to ``max_wait_seconds``, then raises
    ``ProviderRateLimited``) and frees it afterwards; a slot held by a process that died frees
    itself after ``lease_seconds``.
    """

    def __init__(
        self,
        *,
        capacity: int,
        lease_seconds: float = 120.0,
        provider: str = "",
        backend: LimiterBackend | None = None,
        max_wait_seconds: float = 60.0,
        poll_seconds: float = 0.05,
    ) -> None:
        self.capacity = capacity
        self.lease_seconds = lease_seconds
        self.provider = provider
        self._backend = backend
        self.max_wait_seconds = max_wait_seconds
        self.poll_seconds = poll_seconds

    @property
    def backend(self) -> LimiterBackend:
        if self._backend is None:
            self._backend = default_backend()
        return self._backend

    @contextlib.contextmanager
    def hold(self, key: str) -> Iterator[str]:
        token = uuid.uuid4().hex
        deadline = time.monotonic() + self.max_wait_seconds
        while not self.backend.semaphore_acquire(key, self.capacity, token, self.lease_seconds):
            self._wait_for_slot(key, deadline)
        try:
            yield token
        finally:
            self.backend.semaphore_release(key, token)

    @contextlib.contextmanager
    def hold_with_grant(self, key: str, limiter: SlidingWindowLimiter) -> Iterator[str]:
        """``hold(key)`` and then ``limiter.acquire(key)``, in one round trip to the shared
        store per attempt instead of two. The slot is taken only together with the grant,
        so a request waiting for the rate holds no slot; the grant is followed at once by
        the request, so the provider counts it in the window we did (a caller that waits
        for something else first moves it with ``limiter.restamp(key, token)``)."""
        token = uuid.uuid4().hex
        slot_deadline = time.monotonic() + self.max_wait_seconds

        def attempt(budget: Budget) -> float:
            while True:
                wait = self.backend.semaphore_acquire_with_grant(
                    key, self.capacity, token, self.lease_seconds, budget
                )
                if wait >= 0:
                    return wait
                self._wait_for_slot(key, slot_deadline)

        limiter.wait_for_grant(key, attempt)
        try:
            yield token
        finally:
            self.backend.semaphore_release(key, token)

    def _wait_for_slot(self, key: str, deadline: float) -> None:
        if time.monotonic() >= deadline:
            raise ProviderRateLimited(
                f"{self.provider or key}: all {self.capacity} concurrent slots busy",
                provider=self.provider,
                retry_after=self.poll_seconds,
            )
        time.sleep(self.poll_seconds)
