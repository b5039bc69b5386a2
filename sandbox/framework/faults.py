"""Fault injection: "the next N requests" or "a seeded fraction p", optionally under a path
prefix."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FaultKind(StrEnum):
    SERVER_ERROR = "server_error"  # 500 with the provider's error body
    BAD_GATEWAY = "bad_gateway"  # 502 HTML page from the load balancer
    SERVICE_UNAVAILABLE = "service_unavailable"  # 503 HTML page
    SLOW = "slow"  # sleep delay_seconds, then answer normally
    TRUNCATED_JSON = "truncated_json"  # 200 whose body stops halfway
    MALFORMED_JSON = "malformed_json"  # 200 whose body is not valid JSON
    NULL_ENTRIES = "null_entries"  # 200 with null entries inserted into its lists

    @classmethod
    def parse(cls, value: str | FaultKind) -> FaultKind:
        aliases = {"500": cls.SERVER_ERROR, "502": cls.BAD_GATEWAY, "503": cls.SERVICE_UNAVAILABLE}
        if isinstance(value, FaultKind):
            return value
        return aliases.get(str(value)) or cls(str(value))


@dataclass
class FaultRule:
    """Either the next ``count`` matching requests, or each with ``probability`` (seeded)."""

    id: int
    kind: FaultKind
    count: int | None = None
    probability: float | None = None
    path_prefix: str | None = None
    delay_seconds: float = 5.0
    seed: int = 0
    fired: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def matches(self, path: str) -> bool:
        return self.path_prefix is None or path.startswith(self.path_prefix)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": str(self.kind),
            "count": self.count,
            "probability": self.probability,
            "path_prefix": self.path_prefix,
            "delay_seconds": self.delay_seconds,
            "seed": self.seed,
            "fired": self.fired,
        }


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._next_id = 1

    def add(
        self,
        kind: str | FaultKind,
        *,
        count: int | None = None,
        probability: float | None = None,
        path_prefix: str | None = None,
        delay_seconds: float = 5.0,
        seed: int = 0,
    ) -> FaultRule:
        if count is not None and probability is not None:
            raise ValueError("give either count or probability, not both")
        if count is None and probability is None:
            count = 1
        if count is not None and count < 1:
            raise ValueError("count must be at least 1")
        if probability is not None and not 0 < probability <= 1:
            raise ValueError("probability must be in (0, 1]")
        with self._lock:
            rule = FaultRule(
                id=self._next_id,
                kind=FaultKind.parse(kind),
                count=count,
                probability=probability,
                path_prefix=path_prefix,
                delay_seconds=delay_seconds,
                seed=seed,
                rng=random.Random(seed),
            )
            self._next_id += 1
            self._rules.append(rule)
            return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def pick(self, path: str) -> FaultRule | None:
        """The fault for this request, if any; counting rules are used up in order."""
        with self._lock:
            for rule in list(self._rules):
                if not rule.matches(path):
                    continue
                if rule.count is not None:
                    rule.count -= 1
                    rule.fired += 1
                    if rule.count <= 0:
                        self._rules.remove(rule)
                    return rule
                if rule.probability is not None and rule.rng.random() < rule.probability:
                    rule.fired += 1
                    return rule
            return None


_GATEWAY_FAULTS = {FaultKind.BAD_GATEWAY.value, FaultKind.SERVICE_UNAVAILABLE.value}
