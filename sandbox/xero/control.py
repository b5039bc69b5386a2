"""The Xero stand-in's handle (Python methods) and control API under ``/__sandbox__/xero/``:

GET|POST /organisations                              list; create {"name", "tenant_id"}
GET      /organisations/<tenant>                     counts, lock dates, idempotency keys
PUT      /organisations/<tenant>/settings            {"period_lock_date": "2026-03-31",
                                                      "end_of_year_lock_date": ...}
GET      /organisations/<tenant>/stats               requests, 429s, most per minute/at once
GET|POST /organisations/<tenant>/<Collection>        what was posted; add as if typed in Xero
GET      /oauth                                      clients, grants, connections
POST     /oauth/clients                              {"client_id", "client_secret", ...}
GET|PUT  /oauth/settings                             auto_approve(_tenants, _user), TTLs, grace
POST     /oauth/tokens                               {"tenant_ids", "user", "scope"} -> tokens
POST     /oauth/expire                               {"what": "access" | "refresh"}
POST     /oauth/revoke                               end every grant and connection
GET|PUT  /limits                                     per_minute, minute_seconds, per_day,
                                                      day_seconds, app_per_minute,
                                                      concurrent, latency_seconds
GET|POST|DELETE /after-commit-faults                 writes that happen, answers that are lost
"""

from __future__ import annotations

import copy
import time
from datetime import date
from typing import TYPE_CHECKING, Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request

from sandbox.framework import ControlError, FaultKind, FaultRule, control_body
from sandbox.xero import wire
from sandbox.xero.books import COLLECTIONS, Organisation

if TYPE_CHECKING:
    from sandbox.xero.app import XeroSandbox

DEFAULT_SCOPE = (
    "openid profile email offline_access accounting.settings accounting.contacts "
    "accounting.invoices accounting.payments accounting.banktransactions "
    "accounting.manualjournals"
)


def _collection(name: str) -> str:
    for known in COLLECTIONS:
        if known.lower() == name.lower():
            return known
    raise ControlError(f"unknown collection {name}", 404)


class XeroControl:
    """Mixed into :class:`~sandbox.xero.app.XeroSandbox`."""

    # -- organisations and what was posted ----------------------------------------------------

    @property
    def tenant_id(self: XeroSandbox) -> str:
        from sandbox.xero.seed import DEFAULT_TENANT_ID

        return DEFAULT_TENANT_ID

    def organisation(self: XeroSandbox, tenant_id: str | None = None) -> Organisation:
        tenant = (tenant_id or self.tenant_id).lower()
        try:
            return self.organisations[tenant]
        except KeyError:
            raise ControlError(f"no organisation {tenant}", 404) from None

    def create_organisation(self: XeroSandbox, name: str, tenant_id: str | None = None) -> str:
        import uuid

        tenant = (tenant_id or str(uuid.uuid4())).lower()
        with self.lock:
            if tenant in self.organisations:
                raise ControlError(f"organisation {tenant} exists", 409)
            self.organisations[tenant] = Organisation.seeded(tenant, name)
        return tenant

    def documents(self: XeroSandbox, collection: str, tenant_id: str | None = None) -> list[dict]:
        """Deep copies of every record of a collection, oldest first."""
        org = self.organisation(tenant_id)
        with org.lock:
            return copy.deepcopy(org.all(_collection(collection)))

    def count(self: XeroSandbox, collection: str, tenant_id: str | None = None) -> int:
        org = self.organisation(tenant_id)
        with org.lock:
            return len(org.records[_collection(collection)])

    def add_document(
        self: XeroSandbox, collection: str, body: dict[str, Any], tenant_id: str | None = None
    ) -> dict[str, Any]:
        """Create a record through the rules, as if typed into Xero (raises on refusal)."""
        org = self.organisation(tenant_id)
        result = org.write(_collection(collection), [body], method="PUT", summarize=False)
        element = result.elements[0]
        if element.get("HasErrors"):
            raise ControlError(
                "; ".join(e["Message"] for e in element.get("ValidationErrors", [])), 400
            )
        return element

    def set_lock_dates(
        self: XeroSandbox,
        *,
        period: date | None = None,
        end_of_year: date | None = None,
        tenant_id: str | None = None,
    ) -> None:
        org = self.organisation(tenant_id)
        with org.lock:
            org.period_lock_date = period
            org.end_of_year_lock_date = end_of_year

    def users_seen(self: XeroSandbox, tenant_id: str | None = None) -> set[str]:
        """The users whose tokens reached this organisation's API."""
        with self._flight_lock:
            return set(self._users_by_tenant.get((tenant_id or self.tenant_id).lower(), ()))

    def stats(self: XeroSandbox, tenant_id: str | None = None) -> dict[str, Any]:
        tenant = (tenant_id or self.tenant_id).lower()
        records = self.request_log.records(tenant)
        admitted = [r for r in records if r.status not in (401, 403, 429)]
        window = self.rate_limiter.minute.seconds
        with self._flight_lock:
            max_in_flight = self._max_in_flight.get(tenant, 0)
        return {
            "tenant_id": tenant,
            "requests_total": len(records),
            "requests_admitted": len(admitted),
            "max_requests_per_minute": self.request_log.max_in_window(
                tenant, window, exclude_statuses=(401, 403, 429)
            ),
            "throttled": sum(1 for r in records if r.status == 429),
            "unauthorized": sum(1 for r in records if r.status == 401),
            "forbidden": sum(1 for r in records if r.status == 403),
            "max_concurrent": max_in_flight,
        }

    # -- identity -----------------------------------------------------------------------------

    def register_client(
        self: XeroSandbox, client_id: str, client_secret: str, redirect_uris=()
    ) -> None:
        self.identity.register_client(client_id, client_secret, tuple(redirect_uris))

    def issue_tokens(
        self: XeroSandbox,
        tenant_ids: tuple[str, ...] | list[str] | None = None,
        *,
        user: str = "",
        scope: str = DEFAULT_SCOPE,
        client_id: str = "",
    ) -> dict[str, Any]:
        """A fresh grant reaching these organisations, skipping the browser."""
        from sandbox.xero.identity import DEMO_CLIENT_ID, DEMO_USER_EMAIL

        tenants = tuple(t.lower() for t in (tenant_ids or (self.tenant_id,)))
        for tenant in tenants:
            self.organisation(tenant)
        names = {t: o.name for t, o in self.organisations.items()}
        return self.identity.issue_tokens(
            client_id or DEMO_CLIENT_ID, tenants, names, scope, user or DEMO_USER_EMAIL
        )

    def set_auto_approve(
        self: XeroSandbox,
        enabled: bool = True,
        tenant_ids: tuple[str, ...] | list[str] = (),
        user: str = "",
    ) -> None:
        from sandbox.xero.identity import DEMO_USER_EMAIL

        self.identity.auto_approve = enabled
        self.identity.auto_approve_tenants = tuple(t.lower() for t in tenant_ids)
        self.identity.auto_approve_user = user or DEMO_USER_EMAIL

    def expire_access_tokens(self: XeroSandbox) -> int:
        return self.identity.expire_access_tokens()

    def expire_refresh_tokens(self: XeroSandbox) -> int:
        return self.identity.expire_refresh_tokens()

    def revoke_tokens(self: XeroSandbox) -> int:
        return self.identity.revoke_all()

    # -- limits and faults --------------------------------------------------------------------

    def set_limits(
        self: XeroSandbox,
        *,
        per_minute: int | None = 60,
        minute_seconds: float = 60.0,
        per_day: int | None = 5000,
        day_seconds: float = 86400.0,
        app_per_minute: int | None = 10_000,
        concurrent: int | None = 5,
    ) -> None:
        """Xero's limits; windows may be scaled down (``minute_seconds=1``)."""
        self.rate_limiter.configure_all(
            per_minute=per_minute,
            minute_seconds=minute_seconds,
            per_day=per_day,
            day_seconds=day_seconds,
            app_per_minute=app_per_minute,
        )
        self.concurrency_limit = concurrent

    def disable_limits(self: XeroSandbox) -> None:
        self.set_limits(per_minute=None, per_day=None, app_per_minute=None, concurrent=None)

    def set_latency(self: XeroSandbox, seconds: float) -> None:
        self.latency_seconds = max(0.0, float(seconds))

    def limits(self: XeroSandbox) -> dict[str, Any]:
        return {
            **self.rate_limiter.to_json(),
            "concurrent": self.concurrency_limit,
            "latency_seconds": self.latency_seconds,
        }

    def inject_after_commit_faults(
        self: XeroSandbox,
        kind: str | FaultKind,
        *,
        count: int | None = None,
        probability: float | None = None,
        path_prefix: str | None = None,
        delay_seconds: float = 5.0,
        seed: int = 0,
    ) -> FaultRule:
        """Faults on the way back from a write that DID happen (the answer is lost)."""
        return self.after_commit_faults.add(
            kind,
            count=count,
            probability=probability,
            path_prefix=path_prefix,
            delay_seconds=delay_seconds,
            seed=seed,
        )

    def clear_faults(self: XeroSandbox) -> None:
        self.faults.clear()
        self.after_commit_faults.clear()

    # -- control API --------------------------------------------------------------------------

    def control_rules(self) -> list[Rule]:
        return [
            Rule("/organisations", endpoint="control_organisations", methods=["GET", "POST"]),
            Rule("/organisations/<tenant>", endpoint="control_organisation", methods=["GET"]),
            Rule("/organisations/<tenant>/settings", endpoint="control_settings", methods=["PUT"]),
            Rule("/organisations/<tenant>/stats", endpoint="control_stats", methods=["GET"]),
            Rule(
                "/organisations/<tenant>/<collection>",
                endpoint="control_collection",
                methods=["GET", "POST"],
            ),
            Rule("/oauth", endpoint="control_oauth", methods=["GET"]),
            Rule("/oauth/clients", endpoint="control_oauth_clients", methods=["POST"]),
            Rule("/oauth/settings", endpoint="control_oauth_settings", methods=["GET", "PUT"]),
            Rule("/oauth/tokens", endpoint="control_oauth_tokens", methods=["POST"]),
            Rule("/oauth/expire", endpoint="control_oauth_expire", methods=["POST"]),
            Rule("/oauth/revoke", endpoint="control_oauth_revoke", methods=["POST"]),
            Rule("/limits", endpoint="control_limits", methods=["GET", "PUT"]),
            Rule(
                "/after-commit-faults",
                endpoint="control_after_commit_faults",
                methods=["GET", "POST", "DELETE"],
            ),
        ]

    def _summary(self: XeroSandbox, org: Organisation) -> dict[str, Any]:
        with org.lock:
            return {
                "tenant_id": org.tenant_id,
                "name": org.name,
                "counts": {name: len(rows) for name, rows in org.records.items()},
                "period_lock_date": org.period_lock_date,
                "end_of_year_lock_date": org.end_of_year_lock_date,
                "idempotency_keys": len(org.replays),
            }

    def control_organisations(self: XeroSandbox, request: Request) -> Any:
        if request.method == "POST":
            body = control_body(request)
            tenant = self.create_organisation(
                str(body.get("name") or "New Org"), body.get("tenant_id")
            )
            return self._summary(self.organisation(tenant))
        return {"organisations": [self._summary(o) for o in self.organisations.values()]}

    def control_organisation(self: XeroSandbox, request: Request, tenant: str) -> Any:
        return self._summary(self.organisation(tenant))

    def control_settings(self: XeroSandbox, request: Request, tenant: str) -> Any:
        body = control_body(request)

        def day(name: str) -> date | None:
            value = body.get(name)
            return date.fromisoformat(value) if value else None

        self.set_lock_dates(
            period=day("period_lock_date"),
            end_of_year=day("end_of_year_lock_date"),
            tenant_id=tenant,
        )
        return self._summary(self.organisation(tenant))

    def control_stats(self: XeroSandbox, request: Request, tenant: str) -> Any:
        self.organisation(tenant)
        return self.stats(tenant)

    def control_collection(
        self: XeroSandbox, request: Request, tenant: str, collection: str
    ) -> Any:
        if request.method == "POST":
            record = self.add_document(collection, control_body(request), tenant)
            return wire.json_answer(wire.dumps(record), 201)
        rows = self.documents(collection, tenant)
        return wire.json_answer(wire.dumps({"count": len(rows), _collection(collection): rows}))

    def control_oauth(self: XeroSandbox, request: Request) -> Any:
        return self.identity.summary()

    def control_oauth_clients(self: XeroSandbox, request: Request) -> Any:
        body = control_body(request)
        if not body.get("client_id") or not body.get("client_secret"):
            raise ControlError("client_id and client_secret are required")
        self.register_client(
            str(body["client_id"]), str(body["client_secret"]), body.get("redirect_uris") or ()
        )
        return self.identity.summary()["clients"]

    def control_oauth_settings(self: XeroSandbox, request: Request) -> Any:
        if request.method == "PUT":
            body = control_body(request)
            if "auto_approve" in body:
                self.set_auto_approve(
                    bool(body["auto_approve"]),
                    body.get("auto_approve_tenants") or (),
                    str(body.get("auto_approve_user") or ""),
                )
            for name in ("access_token_ttl", "refresh_token_ttl", "code_ttl"):
                if body.get(name) is not None:
                    setattr(self.identity, name, int(body[name]))
            if body.get("refresh_grace_seconds") is not None:
                self.identity.refresh_grace_seconds = float(body["refresh_grace_seconds"])
        return self.identity.settings()

    def control_oauth_tokens(self: XeroSandbox, request: Request) -> Any:
        body = control_body(request)
        return self.issue_tokens(
            body.get("tenant_ids"),
            user=str(body.get("user") or ""),
            scope=str(body.get("scope") or DEFAULT_SCOPE),
        )

    def control_oauth_expire(self: XeroSandbox, request: Request) -> Any:
        what = control_body(request).get("what", "access")
        if what == "access":
            return {"expired": self.expire_access_tokens()}
        if what == "refresh":
            return {"expired": self.expire_refresh_tokens()}
        raise ControlError('what must be "access" or "refresh"')

    def control_oauth_revoke(self: XeroSandbox, request: Request) -> Any:
        return {"revoked": self.revoke_tokens()}

    def control_limits(self: XeroSandbox, request: Request) -> Any:
        if request.method == "PUT":
            body = control_body(request)
            current = self.limits()
            merged = {k: body.get(k, current[k]) for k in current if k != "latency_seconds"}
            self.set_limits(**merged)
            if "latency_seconds" in body:
                self.set_latency(float(body["latency_seconds"]))
        return self.limits()

    def control_after_commit_faults(self: XeroSandbox, request: Request) -> Any:
        if request.method == "DELETE":
            self.after_commit_faults.clear()
            return {"faults": []}
        if request.method == "POST":
            body = control_body(request)
            try:
                kind = FaultKind.parse(body["kind"])
            except (KeyError, ValueError) as exc:
                raise ControlError("kind must be one of " + ", ".join(FaultKind)) from exc
            rule = self.inject_after_commit_faults(
                kind,
                count=body.get("count"),
                probability=float(body["probability"]) if body.get("probability") else None,
                path_prefix=body.get("path_prefix"),
                delay_seconds=float(body.get("delay_seconds", 5.0)),
                seed=int(body.get("seed", 0)),
            )
            return rule.to_json()
        return {"faults": [r.to_json() for r in self.after_commit_faults.rules()]}

    def control_info(self: XeroSandbox, request: Request) -> dict[str, Any]:
        info = super().control_info(request)  # type: ignore[misc]
        info.update(
            {
                "authorize_url": self.authorize_url,
                "token_url": self.token_url,
                "api_base_url": self.api_base_url,
                "default_tenant_id": self.tenant_id,
                "limits": self.limits(),
                "time": time.time(),
            }
        )
        return info
