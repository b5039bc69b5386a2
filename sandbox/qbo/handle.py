"""The Python handle of the QBO stand-in that tests use: companies, documents, settings,
limits and faults."""

from __future__ import annotations

import copy
import time
from typing import Any

from sandbox.framework import ControlError, FaultKind, FaultRule
from sandbox.qbo.company import ENTITY_BY_PATH, Company


class QboHandle:
    """Handle part of :class:`~sandbox.qbo.app.QboSandbox` (the control API calls it too)."""

    @property
    def realm_id(self) -> str:
        return self.default_realm_id

    def company(self, realm_id: str | None = None) -> Company:
        realm = realm_id or self.default_realm_id
        try:
            return self.companies[realm]
        except KeyError:
            raise ControlError(f"no company with realm id {realm}", 404) from None

    def create_company(self, name: str | None = None, realm_id: str | None = None) -> str:
        with self.lock:
            if realm_id is None:
                while True:
                    realm_id = str(int(self.default_realm_id) + 1000 * self._next_realm)
                    self._next_realm += 1
                    if realm_id not in self.companies:
                        break
            if realm_id in self.companies:
                raise ControlError(f"realm {realm_id} exists", 409)
            label = name or f"Sandbox Company_US_{len(self.companies) + 1}"
            self.companies[realm_id] = Company.seeded(realm_id, label)
            return realm_id

    def documents(self, entity: str, realm_id: str | None = None) -> list[dict[str, Any]]:
        """Deep copies of every ``entity`` record of a realm (seeded ones included), by Id."""
        company = self.company(realm_id)
        name = ENTITY_BY_PATH[entity.lower()]
        with company.lock:
            records = sorted(company.all(name), key=lambda r: (len(r["Id"]), r["Id"]))
            return copy.deepcopy(records)

    def document(self, entity: str, record_id: str, realm_id: str | None = None) -> dict[str, Any]:
        company = self.company(realm_id)
        name = ENTITY_BY_PATH[entity.lower()]
        with company.lock:
            return copy.deepcopy(company.get(name, record_id))

    def count(self, entity: str, realm_id: str | None = None) -> int:
        company = self.company(realm_id)
        with company.lock:
            return len(company.records[ENTITY_BY_PATH[entity.lower()]])

    def add_document(
        self, entity: str, body: dict[str, Any], realm_id: str | None = None
    ) -> dict[str, Any]:
        """Create a record through the business rules, as if typed into QuickBooks."""
        company = self.company(realm_id)
        with company.lock:
            return copy.deepcopy(company.insert(ENTITY_BY_PATH[entity.lower()], body))

    def set_preferences(self, realm_id: str | None = None, **groups: dict[str, Any]) -> None:
        """``set_preferences(SalesFormsPrefs={"AllowShipping": False})``."""
        company = self.company(realm_id)
        with company.lock:
            self._update_preferences(company, groups, check_token=False)

    def set_duplicate_doc_number_check(
        self,
        enabled: bool,
        realm_id: str | None = None,
        *,
        entities: tuple[str, ...] = (),
        code: int = 6140,
    ) -> None:
        """Turn the DocNumber check on or off; ``entities`` extends it beyond sales forms
        (``("Bill", "JournalEntry", "Purchase")``) and ``code`` is what it answers (6140 or
        6210)."""
        company = self.company(realm_id)
        company.reject_duplicate_doc_numbers = enabled
        company.duplicate_doc_number_entities = frozenset(entities)
        company.duplicate_doc_number_code = code

    def stats(self, realm_id: str | None = None) -> dict[str, Any]:
        realm = realm_id or self.default_realm_id
        records = self.request_log.records(realm)
        now = time.monotonic()
        throttled_403 = self.throttle_status == 403
        admitted = [
            r
            for r in records
            if r.status not in (401, 429) and not (throttled_403 and r.status == 403)
        ]
        with self._flight_lock:
            in_flight = self._in_flight.get(realm, 0)
            max_in_flight = self._max_in_flight.get(realm, 0)
        return {
            "realm_id": realm,
            "requests_total": len(records),
            "requests_admitted": len(admitted),
            "requests_last_minute": sum(1 for r in admitted if now - r.monotonic < 60.0),
            "max_requests_per_minute": self.max_requests_in_window(realm, 60.0),
            "throttled": sum(1 for r in records if r.status == 429) + self._throttled_as_403,
            "unauthorized": sum(1 for r in records if r.status == 401),
            "in_flight": in_flight,
            "max_concurrent": max_in_flight,
        }

    # -- handle: limits and faults --------------------------------------------------------------

    def set_concurrency_limit(self, limit: int | None) -> None:
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1 (None disables it)")
        self.concurrency_limit = limit

    def set_batch_rate_limit(self, limit: int | None, window_seconds: float = 60.0) -> None:
        self.batch_limiter.configure(limit, window_seconds)

    def set_per_second_limit(self, limit: int | None, window_seconds: float = 1.0) -> None:
        self.second_limiter.configure(limit, window_seconds)

    def inject_throttles(self, status: int, **kwargs: Any) -> None:
        """429 or 403 ThrottleExceeded answers before anything is written (``probability``
        or ``count``, ``path_prefix``, ``seed``)."""
        self.throttles.add(status, **kwargs)

    def disable_limits(self) -> None:
        """Benchmarks: no per-minute, concurrency or batch limit."""
        self.disable_rate_limit()
        self.set_concurrency_limit(None)
        self.set_batch_rate_limit(None)
        self.set_per_second_limit(None)

    def set_latency(self, seconds: float) -> None:
        """Every accounting call takes this long inside the realm's concurrency slot."""
        self.latency_seconds = max(0.0, float(seconds))

    def limits(self) -> dict[str, Any]:
        return {
            "per_minute": self.rate_limiter.limit,
            "window_seconds": self.rate_limiter.window_seconds,
            "concurrent": self.concurrency_limit,
            "batch_per_minute": self.batch_limiter.limit,
            "batch_window_seconds": self.batch_limiter.window_seconds,
            "per_second": self.second_limiter.limit,
            "second_window_seconds": self.second_limiter.window_seconds,
            "latency_seconds": self.latency_seconds,
        }

    def inject_after_commit_faults(
        self,
        kind: str | FaultKind,
        *,
        count: int | None = None,
        probability: float | None = None,
        path_prefix: str | None = None,
        delay_seconds: float = 5.0,
        seed: int = 0,
    ) -> FaultRule:
        """Faults on the way back from a write that DID happen (the answer is lost).

        Kinds: server_error (500 SystemFault), bad_gateway/service_unavailable (HTML page),
        slow (answer after ``delay_seconds``), truncated_json, malformed_json.
        """
        return self.after_commit_faults.add(
            kind,
            count=count,
            probability=probability,
            path_prefix=path_prefix,
            delay_seconds=delay_seconds,
            seed=seed,
        )

    def clear_faults(self) -> None:
        super().clear_faults()
        self.after_commit_faults.clear()
        self.throttles.clear()
