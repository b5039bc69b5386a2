"""What a shared rate limit is: a budget, and the store that keeps its state."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

NAMESPACE = "unify:rl"
# At most this many requests of other apps are recorded from one answer's headers (the same
# bound is written into the Redis script): a budget configured far above the provider's must
# not make one answer cost minutes.
MAX_OBSERVED_PLACEHOLDERS = 10_000

# Called with the seconds a request of this thread will wait for the shared budget (set by
# long-running callers, such as an import, to show the wait); waits under a second are not
# reported.
wait_listener: contextvars.ContextVar[Callable[[float], None] | None] = contextvars.ContextVar(
    "unify_rate_limit_wait_listener", default=None
)


@dataclass(frozen=True, slots=True)
class Budget:
    limit: int
    window_seconds: float
    # Grants are counted over window + margin: a request granted at t reaches the provider a
    # little later than one granted at t + window, and the provider counts arrivals.
    margin_seconds: float = 0.0

    @property
    def effective_window(self) -> float:
        return self.window_seconds + self.margin_seconds


class LimiterBackend(Protocol):
    def try_acquire(self, key: str, budget: Budget, member: str | None = None) -> float:
        """Grant one request now (returns 0) or return the seconds to wait first. ``member``
        names the grant (for ``restamp``)."""

    def restamp(self, key: str, budget: Budget, member: str) -> float:
        """The request of grant ``member`` leaves now: the grant counts from now (0). When it
        is no longer in the window it is granted again if the budget allows (0), else the
        seconds to wait are returned; while the key is blocked (a 429), the grant is given
        up and the block's seconds are returned."""

    def observe(self, key: str, budget: Budget, remaining: int, reset_seconds: float) -> None:
        """Align with what the provider says is left in its window."""

    def block(self, key: str, seconds: float) -> None:
        """Grant nothing for ``seconds`` (after a 429)."""

    def shrink(self, key: str, budget: Budget, reset_seconds: float, ttl_seconds: float) -> int:
        """After a 429: cap the key's limit at the requests of ours the provider admitted in
        its current window (which ends in ``reset_seconds``), at least one below the cap in
        force and at most half of it lower, for ``ttl_seconds``. Returns the new cap."""

    def cap(self, key: str) -> int | None:
        """The key's shrunk limit, if any."""

    def semaphore_acquire(self, key: str, capacity: int, token: str, lease: float) -> bool: ...

    def semaphore_acquire_with_grant(
        self, key: str, capacity: int, token: str, lease: float, budget: Budget
    ) -> float:
        """A slot of ``key``'s semaphore and a grant of its rate budget in one atomic step:
        0 when both are taken, -1 when every slot is busy, else the seconds to wait for the
        rate; nothing is taken unless both are. The grant is named ``token``."""

    def semaphore_release(self, key: str, token: str) -> None: ...

    def reset(self, key: str) -> None: ...
