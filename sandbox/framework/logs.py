"""What a stand-in received (the request log) and what it did on its own (the event log)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request the stand-in received (control API calls are not recorded)."""

    time: float  # wall clock, seconds since the epoch, at arrival
    monotonic: float  # the clock the rate limiter used for this request
    method: str
    path: str
    query: str
    account: str | None  # the API key presented (never the secret); None when absent
    status: int
    fault: str | None
    duration_ms: float

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "monotonic": self.monotonic,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "account": self.account,
            "status": self.status,
            "fault": self.fault,
            "duration_ms": round(self.duration_ms, 3),
        }


class RequestLog:
    """Every API request, oldest first; only the newest ``max_records`` are kept, so a demo
    left running for weeks does not grow without bound."""

    def __init__(self, max_records: int = 500_000) -> None:
        self._lock = threading.Lock()
        self._records: deque[RequestRecord] = deque(maxlen=max_records)

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self, account: str | None = None) -> list[RequestRecord]:
        with self._lock:
            records = list(self._records)
        if account is None:
            return records
        return [r for r in records if r.account == account]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def max_in_window(
        self,
        account: str,
        window_seconds: float,
        *,
        exclude_statuses: Iterable[int] = (401, 429),
    ) -> int:
        """Most requests of ``account`` admitted within any rolling window of that length.

        Rejected requests (429, and 401 which never reaches the limiter) are excluded by
        default because they do not consume budget.
        """
        excluded = set(exclude_statuses)
        times = sorted(r.monotonic for r in self.records(account) if r.status not in excluded)
        best = 0
        start = 0
        for end, t in enumerate(times):
            while t - times[start] >= window_seconds:
                start += 1
            best = max(best, end - start + 1)
        return best


class EventLog:
    """Things the stand-in did on its own initiative (webhook deliveries, handler crashes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[dict[str, Any]] = []

    def add(self, kind: str, **details: Any) -> None:
        with self._lock:
            self._events.append({"time": time.time(), "kind": kind, **details})

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            events = list(self._events)
        return [e for e in events if kind is None or e["kind"] == kind]

    def clear(self) -> None:
        with self._lock:
            self._events.clear()
