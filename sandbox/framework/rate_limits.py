"""Rate limiters of the stand-ins: a per-account sliding window (QBO, Xero) and ShipStation's
fixed window shared with the account's other applications."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

# ---------------------------------------------------------------------------------------------
# Rate limiting
# ---------------------------------------------------------------------------------------------

UNLIMITED = 1_000_000


@dataclass(frozen=True, slots=True)
class RateLimitDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(self.remaining),
            "X-Rate-Limit-Reset": str(self.reset_seconds),
        }


class SlidingWindowRateLimiter:
    """At most ``limit`` admitted requests per key in any rolling window of ``window_seconds``.

    Only admitted requests count: a client that keeps hammering while limited is not
    punished further, so waiting ``reset_seconds`` after a 429 always frees a slot.
    """

    def __init__(self, limit: int | None = 40, window_seconds: float = 60.0) -> None:
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}
        self.limit = limit
        self.window_seconds = window_seconds

    @property
    def enabled(self) -> bool:
        return self.limit is not None

    def configure(self, limit: int | None, window_seconds: float = 60.0) -> None:
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1 (use None to disable)")
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        with self._lock:
            self.limit = limit
            self.window_seconds = window_seconds
            self._hits.clear()

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()

    def check(self, key: str, now: float) -> RateLimitDecision:
        with self._lock:
            limit, window = self.limit, self.window_seconds
            if limit is None:
                # Disabled (benchmarks): headers still present, reporting an ample budget.
                return RateLimitDecision(True, UNLIMITED, UNLIMITED, int(window))
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= window:
                hits.popleft()
            if len(hits) < limit:
                hits.append(now)
                reset = max(0, math.ceil(hits[0] + window - now))
                return RateLimitDecision(True, limit, limit - len(hits), reset)
            reset = max(1, math.ceil(hits[0] + window - now))
            return RateLimitDecision(False, limit, 0, reset)

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "limit": self.limit,
            "window_seconds": self.window_seconds,
        }


@dataclass(slots=True)
class _FixedWindow:
    start: float
    ours: int = 0  # requests of the key pair's client under test, admitted
    rejected: int = 0  # its requests answered 429
    others: int = 0  # another app's requests admitted (see ``set_other_usage``)
    others_arrived: int = 0

    @property
    def count(self) -> int:
        return self.ours + self.others

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "ours": self.ours,
            "rejected": self.rejected,
            "others": self.others,
        }


class FixedWindowRateLimiter:
    """At most ``limit`` admitted requests per key in each fixed window of ``window_seconds``;
    ``reset_seconds`` counts down to the next window (ShipStation: "the number of seconds
    remaining until the next window begins").

    A key's first request opens its first window; windows follow each other back to back
    from there. ``set_other_usage(key, n)`` models another app using the same key pair:
    ``n`` requests per window, spread evenly over it, each admitted while budget is left,
    so a client can meet a 429 with requests left in its own count. Only admitted requests
    count. ``windows(key)`` reports every window (its own and the other app's requests).
    """

    def __init__(self, limit: int | None = 40, window_seconds: float = 60.0) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, list[_FixedWindow]] = {}
        self._others: dict[str, int] = {}
        self.limit = limit
        self.window_seconds = window_seconds

    @property
    def enabled(self) -> bool:
        return self.limit is not None

    def configure(self, limit: int | None, window_seconds: float = 60.0) -> None:
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1 (use None to disable)")
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        with self._lock:
            self.limit = limit
            self.window_seconds = window_seconds
            self._windows.clear()

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
            self._others.clear()

    def set_other_usage(self, key: str, requests_per_window: int) -> None:
        if requests_per_window < 0:
            raise ValueError("requests_per_window must be 0 or more")
        with self._lock:
            if requests_per_window:
                self._others[key] = requests_per_window
            else:
                self._others.pop(key, None)

    def other_usage(self, key: str) -> int:
        with self._lock:
            return self._others.get(key, 0)

    def windows(self, key: str) -> list[dict[str, Any]]:
        with self._lock:
            return [w.to_json() for w in self._windows.get(key, [])]

    def _current(self, key: str, now: float) -> _FixedWindow:
        windows = self._windows.setdefault(key, [])
        if not windows:
            windows.append(_FixedWindow(start=now))
        window = windows[-1]
        if now >= window.start + self.window_seconds:
            self._others_arrive(key, window, window.start + self.window_seconds)
            elapsed = (now - window.start) // self.window_seconds
            window = _FixedWindow(start=window.start + elapsed * self.window_seconds)
            windows.append(window)
            del windows[:-1000]
        self._others_arrive(key, window, now)
        return window

    def _others_arrive(self, key: str, window: _FixedWindow, now: float) -> None:
        others = self._others.get(key, 0)
        if not others:
            return
        spacing = self.window_seconds / others
        due = min(others, max(0, math.floor((now - window.start) / spacing + 0.5)))
        for _ in range(window.others_arrived, due):
            assert self.limit is not None
            if window.count < self.limit:
                window.others += 1
        window.others_arrived = max(window.others_arrived, due)

    def check(self, key: str, now: float) -> RateLimitDecision:
        with self._lock:
            limit, length = self.limit, self.window_seconds
            if limit is None:
                return RateLimitDecision(True, UNLIMITED, UNLIMITED, int(length))
            window = self._current(key, now)
            # Rounded first: (start + 60.0) - start can be 60.000000000007, which is not 61 s.
            left = round(window.start + length - now, 6)
            if window.count < limit:
                window.ours += 1
                return RateLimitDecision(True, limit, limit - window.count, max(0, math.ceil(left)))
            window.rejected += 1
            return RateLimitDecision(False, limit, 0, max(1, math.ceil(left)))

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "limit": self.limit,
            "window_seconds": self.window_seconds,
            "kind": "fixed",
        }
