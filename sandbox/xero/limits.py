"""Xero's API limits as the stand-in enforces them, all on sliding windows:

- per organisation: ``per_minute`` calls (60) in any ``minute_seconds`` (60) and ``per_day``
  calls (5,000) in any ``day_seconds`` (86,400);
- per app, across organisations: ``app_per_minute`` calls (10,000) in any ``minute_seconds``;
- per organisation, at once: ``concurrent`` calls (5), checked by the API handler.

Every organisation's answer carries ``X-DayLimit-Remaining``, ``X-MinLimit-Remaining`` and
``X-AppMinLimit-Remaining``; a tenantless call (``/connections``) only the last. A refused
call is a 429 with ``Retry-After`` (seconds) and ``X-Rate-Limit-Problem`` (``minute``,
``day``, ``appminute``; ``concurrent`` for the concurrency limit). Only admitted calls count.
The windows can be scaled down (``minute_seconds=1``) to measure a day's work in seconds.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sandbox.framework import RateLimitDecision

APP_KEY = "app"


@dataclass(frozen=True, slots=True)
class XeroDecision(RateLimitDecision):
    problem: str = ""
    retry_after: int = 0
    extra: tuple[tuple[str, str], ...] = ()

    def headers(self) -> dict[str, str]:
        return dict(self.extra)


@dataclass
class _Window:
    limit: int | None
    seconds: float
    hits: dict[str, deque[float]] = field(default_factory=dict)

    def _trim(self, key: str, now: float) -> deque[float]:
        hits = self.hits.setdefault(key, deque())
        while hits and now - hits[0] >= self.seconds:
            hits.popleft()
        return hits

    def remaining(self, key: str, now: float) -> int:
        if self.limit is None:
            return 1_000_000
        return max(0, self.limit - len(self._trim(key, now)))

    def wait(self, key: str, now: float) -> int:
        hits = self._trim(key, now)
        if not hits:
            return 1
        return max(1, math.ceil(hits[0] + self.seconds - now))

    def record(self, key: str, now: float) -> None:
        if self.limit is not None:
            self._trim(key, now).append(now)

    def max_in_window(self, key: str) -> int:
        times = list(self.hits.get(key, ()))
        best = start = 0
        for end, moment in enumerate(times):
            while moment - times[start] >= self.seconds:
                start += 1
            best = max(best, end - start + 1)
        return best


class XeroLimits:
    """The stand-in's ``rate_limiter``: ``check(key, now)`` for every API request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.configure_all()

    # The framework's generic knobs: ``set_rate_limit(limit, window)`` sets the minute limit.
    @property
    def enabled(self) -> bool:
        return self.minute.limit is not None

    @property
    def limit(self) -> int | None:
        return self.minute.limit

    @property
    def window_seconds(self) -> float:
        return self.minute.seconds

    def configure(self, limit: int | None, window_seconds: float = 60.0) -> None:
        with self._lock:
            self.minute = _Window(limit, window_seconds)
            self.app_minute = _Window(self.app_minute.limit, window_seconds)

    def configure_all(
        self,
        *,
        per_minute: int | None = 60,
        minute_seconds: float = 60.0,
        per_day: int | None = 5000,
        day_seconds: float = 86400.0,
        app_per_minute: int | None = 10_000,
    ) -> None:
        with self._lock:
            self.minute = _Window(per_minute, minute_seconds)
            self.day = _Window(per_day, day_seconds)
            self.app_minute = _Window(app_per_minute, minute_seconds)

    def reset(self) -> None:
        with self._lock:
            for window in (self.minute, self.day, self.app_minute):
                window.hits.clear()

    def check(self, key: str, now: float) -> RateLimitDecision:
        if key in ("identity", "pages"):
            return XeroDecision(True, 0, 0, 0)
        tenantless = key.startswith("connections:")
        with self._lock:
            app_left = self.app_minute.remaining(APP_KEY, now)
            problem, wait = "", 0
            if app_left <= 0:
                problem, wait = "appminute", self.app_minute.wait(APP_KEY, now)
            elif not tenantless and self.day.remaining(key, now) <= 0:
                problem, wait = "day", self.day.wait(key, now)
            elif not tenantless and self.minute.remaining(key, now) <= 0:
                problem, wait = "minute", self.minute.wait(key, now)
            if problem:
                return XeroDecision(
                    False,
                    0,
                    0,
                    wait,
                    problem=problem,
                    retry_after=wait,
                    extra=(("Retry-After", str(wait)), ("X-Rate-Limit-Problem", problem)),
                )
            self.app_minute.record(APP_KEY, now)
            headers = [("X-AppMinLimit-Remaining", str(self.app_minute.remaining(APP_KEY, now)))]
            if not tenantless:
                self.minute.record(key, now)
                self.day.record(key, now)
                headers += [
                    ("X-DayLimit-Remaining", str(self.day.remaining(key, now))),
                    ("X-MinLimit-Remaining", str(self.minute.remaining(key, now))),
                ]
            return XeroDecision(True, 0, 0, 0, extra=tuple(headers))

    def max_in_window(self, key: str, which: str = "minute") -> int:
        with self._lock:
            return getattr(self, which).max_in_window(key)

    def to_json(self) -> dict[str, Any]:
        return {
            "per_minute": self.minute.limit,
            "minute_seconds": self.minute.seconds,
            "per_day": self.day.limit,
            "day_seconds": self.day.seconds,
            "app_per_minute": self.app_minute.limit,
        }
