"""The Xero stand-in: Xero's identity service, ``/connections`` and the Accounting API on one
host. Paths mirror Xero's, so only base URLs differ between production and the stand-in:

=====================================================  ========================================
``GET|POST /identity/connect/authorize``               consent page (login.xero.com)
``POST /connect/token``                                both grants (identity.xero.com)
``POST /connect/revocation``                           revoke a refresh token
``GET /connections``, ``DELETE /connections/{id}``     the organisations a token reaches
``GET /api.xro/2.0/Organisation``                      the organisation (api.xero.com)
``GET|PUT|POST /api.xro/2.0/{Collection}``             Contacts, Items, Invoices, Payments,
                                                       BankTransactions, ManualJournals
``GET /api.xro/2.0/{Collection}/{id or number}``       Accounts, TaxRates, Currencies: GET
``GET /AccountsReceivable/View.aspx?InvoiceID=``       what "open in Xero" shows
=====================================================  ========================================

Every accounting call needs a Bearer token (401 problem otherwise, ``TokenExpired: ...``
when it expired) and an ``xero-tenant-id`` the token reaches (403 otherwise), and a scope
that covers the endpoint (401 ``AuthorizationUnsuccessful``). Writes take ``summarizeErrors``
and ``Idempotency-Key`` (at most 128 characters; a repeated key replays the first answer of
the same method and path). Limits: see :mod:`sandbox.xero.limits`. The request log's account
key is the tenant id. Control API under ``/__sandbox__/xero/`` (see ``README.md``).
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.framework import (
    FaultInjector,
    FaultKind,
    FaultRule,
    RateLimitDecision,
    RequestContext,
    StandIn,
)
from sandbox.xero import seed, wire
from sandbox.xero.books import COLLECTIONS, PAGED, WRITABLE, Organisation, Replay
from sandbox.xero.control import XeroControl
from sandbox.xero.identity import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, IdentityServer
from sandbox.xero.identity_views import IdentityViews
from sandbox.xero.limits import XeroDecision, XeroLimits
from sandbox.xero.where import WhereError

API_PREFIX = "/api.xro/2.0"
MAX_IDEMPOTENCY_KEY = 128
REPLAY_TTL_SECONDS = 24 * 3600
DEFAULT_CONCURRENCY = 5
_CANONICAL = {name.lower(): name for name in (*COLLECTIONS, "Organisation")}
# The scopes that open each collection (granular ones for apps made since March 2026, the
# broad ones before); reads also accept the ".read" variants.
_SCOPES = {
    "Organisation": ("accounting.settings",),
    "Accounts": ("accounting.settings",),
    "TaxRates": ("accounting.settings",),
    "Currencies": ("accounting.settings",),
    "Items": ("accounting.settings",),
    "Contacts": ("accounting.contacts",),
    "Invoices": ("accounting.invoices", "accounting.transactions"),
    "Payments": ("accounting.payments", "accounting.transactions"),
    "BankTransactions": ("accounting.banktransactions", "accounting.transactions"),
    "ManualJournals": ("accounting.manualjournals", "accounting.transactions"),
}
_DEEP_LINKS = {
    "/accountsreceivable/view.aspx": ("Invoices", "invoiceid"),
    "/accountspayable/view.aspx": ("Invoices", "invoiceid"),
    "/bank/viewtransaction.aspx": ("BankTransactions", "banktransactionid"),
    "/journal/view.aspx": ("ManualJournals", "invoiceid"),
}


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _arg(request: Request, name: str, default: str = "") -> str:
    wanted = name.lower()
    for key, value in request.args.items(multi=True):
        if key.lower() == wanted:
            return value
    return default


def _csv_arg(request: Request, name: str) -> list[str]:
    return [part for part in _arg(request, name).split(",") if part.strip()]


def _corrupt(rule: FaultRule | None, body: bytes) -> bytes:
    if rule is None:
        return body
    if rule.kind is FaultKind.TRUNCATED_JSON:
        return body[: max(1, len(body) // 2)]
    if rule.kind is FaultKind.MALFORMED_JSON:
        return body[:-1] + b",undefined" + body[-1:] if len(body) > 1 else b"{,}"
    return body


class XeroSandbox(IdentityViews, XeroControl, StandIn):
    """Xero stand-in and its handle (see ``sandbox/xero/README.md``)."""

    name = "xero"
    default_rate_limit = 60
    default_rate_window = 60.0

    def __init__(self) -> None:
        self.organisations: dict[str, Organisation] = {}
        self.identity = IdentityServer()
        self.concurrency_limit: int | None = DEFAULT_CONCURRENCY
        self.latency_seconds = 0.0
        self.after_commit_faults = FaultInjector()
        self.replay_ttl_seconds = float(REPLAY_TTL_SECONDS)
        self._flight_lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        self._max_in_flight: dict[str, int] = {}
        self._users_by_tenant: dict[str, set[str]] = {}
        super().__init__()
        self.rate_limiter = XeroLimits()
        self.reset_state()

    # -- framework hooks ----------------------------------------------------------------------

    def reset_state(self) -> None:
        self.organisations.clear()
        for tenant_id, name in (
            (seed.DEFAULT_TENANT_ID, seed.DEFAULT_ORGANISATION_NAME),
            (seed.SECOND_TENANT_ID, seed.SECOND_ORGANISATION_NAME),
        ):
            self.organisations[tenant_id] = Organisation.seeded(tenant_id, name)
        self.identity.reset()
        self.identity.clients.clear()
        self.identity.register_client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        self.concurrency_limit = DEFAULT_CONCURRENCY
        self.latency_seconds = 0.0
        self.after_commit_faults.clear()
        self.replay_ttl_seconds = float(REPLAY_TTL_SECONDS)
        if isinstance(getattr(self, "rate_limiter", None), XeroLimits):
            self.rate_limiter.configure_all()
        with self._flight_lock:
            self._in_flight.clear()
            self._max_in_flight.clear()
            self._users_by_tenant.clear()

    def reset(self) -> None:
        super().reset()
        self.rate_limiter.configure_all()

    @staticmethod
    def _bearer(request: Request) -> str | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None

    def authenticate(self, request: Request) -> tuple[str | None, Response | None]:
        path = request.path.lower()
        if path.startswith(("/identity/", "/connect/")):
            return "identity", None
        if path in _DEEP_LINKS:
            return "pages", None
        grant, why = self.identity.check_access_token(self._bearer(request))
        if path.startswith("/connections"):
            if grant is None:
                return "connections:-", wire.unauthorized(why)
            return f"connections:{grant.user}", None
        tenant = request.headers.get("xero-tenant-id", "").strip().lower()
        if grant is None:
            return tenant or None, wire.unauthorized(why)
        if (
            not tenant
            or tenant not in self.organisations
            or not self.identity.reaches(grant, tenant)
        ):
            return tenant or None, wire.forbidden()
        collection = _CANONICAL.get(path[len(API_PREFIX) + 1 :].split("/", 1)[0], "")
        granted = set(grant.scope.split())
        needed = _SCOPES.get(collection, ())
        if needed and not any(
            s in granted or (request.method == "GET" and f"{s}.read" in granted) for s in needed
        ):
            return tenant, wire.unauthorized("AuthorizationUnsuccessful")
        with self._flight_lock:
            self._users_by_tenant.setdefault(tenant, set()).add(grant.user)
        return tenant, None

    def rate_limited_response(self, decision: RateLimitDecision) -> Response:
        body = wire.dumps({"Title": "Too Many Requests", "Status": 429})
        response = wire.json_answer(body, 429)
        if isinstance(decision, XeroDecision):
            response.headers.update(decision.headers())
        return response

    def fault_server_error(self, rule: FaultRule) -> Response:
        return wire.server_error()

    def fault_gateway_page(self, status: int) -> Response:
        if status == 503:
            return wire.organisation_offline()
        return super().fault_gateway_page(status)

    def error_response(self, status: int, message: str) -> Response:
        if status == 404:
            return wire.not_found()
        if status >= 500:
            return wire.server_error()
        return wire.bad_request(message)

    def api_rules(self) -> list[Rule]:
        rules = [
            Rule("/identity/connect/authorize", endpoint="api_authorize", methods=["GET", "POST"]),
            Rule("/connect/token", endpoint="api_token", methods=["POST"]),
            Rule("/connect/revocation", endpoint="api_revoke", methods=["POST"]),
            Rule("/connections", endpoint="api_connections", methods=["GET"]),
            Rule("/Connections", endpoint="api_connections", methods=["GET"]),
            Rule("/connections/<connection_id>", endpoint="api_connection", methods=["DELETE"]),
            Rule("/Connections/<connection_id>", endpoint="api_connection", methods=["DELETE"]),
            Rule(
                f"{API_PREFIX}/<collection>",
                endpoint="api_collection",
                methods=["GET", "PUT", "POST"],
            ),
            Rule(
                f"{API_PREFIX}/<collection>/<key>", endpoint="api_record", methods=["GET", "POST"]
            ),
        ]
        rules += [
            Rule(path, endpoint="api_deep_link", methods=["GET"])
            for path in ("/AccountsReceivable/View.aspx", "/AccountsPayable/View.aspx",
                         "/Bank/ViewTransaction.aspx", "/Journal/View.aspx")
        ]  # fmt: skip
        return rules

    # -- URLs the app is configured with ------------------------------------------------------

    @property
    def authorize_url(self) -> str:
        return f"{self.public_base_url}/identity/connect/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/connect/token"

    @property
    def revocation_url(self) -> str:
        return f"{self.base_url}/connect/revocation"

    @property
    def identity_base_url(self) -> str:
        """What xero-python's ``IdentityApi(base_url=...)`` takes (``/Connections`` below)."""
        return self.base_url

    @property
    def api_base_url(self) -> str:
        """What ``AccountingApi(base_url=...)`` takes."""
        return f"{self.base_url}{API_PREFIX}"

    # -- accounting ---------------------------------------------------------------------------

    def _tenant_call(
        self, request: Request, handle: Callable[[Organisation], Response]
    ) -> Response:
        tenant = request.headers.get("xero-tenant-id", "").strip().lower()
        org = self.organisations[tenant]
        with self._flight_lock:
            in_flight = self._in_flight.get(tenant, 0) + 1
            if self.concurrency_limit is not None and in_flight > self.concurrency_limit:
                self.event_log.add("concurrency_limited", tenant=tenant, in_flight=in_flight)
                response = self.rate_limited_response(
                    XeroDecision(
                        False, 0, 0, 1, problem="concurrent", retry_after=1,
                        extra=(("Retry-After", "1"), ("X-Rate-Limit-Problem", "concurrent")),
                    )
                )  # fmt: skip
                return response
            self._in_flight[tenant] = in_flight
            self._max_in_flight[tenant] = max(self._max_in_flight.get(tenant, 0), in_flight)
        try:
            if self.latency_seconds > 0:
                time.sleep(self.latency_seconds)
            return handle(org)
        finally:
            with self._flight_lock:
                self._in_flight[tenant] -= 1

    def api_collection(self, request: Request, ctx: RequestContext, collection: str) -> Response:
        name = _CANONICAL.get(collection.lower())
        if name is None:
            return wire.not_found()
        if request.method == "GET":
            return self._tenant_call(request, lambda org: self._list(request, ctx, org, name))
        if name not in WRITABLE:
            return Response(status=405)
        return self._tenant_call(request, lambda org: self._write(request, ctx, org, name))

    def api_record(
        self, request: Request, ctx: RequestContext, collection: str, key: str
    ) -> Response:
        name = _CANONICAL.get(collection.lower())
        if name is None or name == "Organisation":
            return wire.not_found()
        if request.method == "POST":
            if name not in WRITABLE:
                return Response(status=405)
            return self._tenant_call(request, lambda org: self._write(request, ctx, org, name, key))

        def read(org: Organisation) -> Response:
            with org.lock:
                record = org.get(name, key)
                if record is None:
                    return wire.not_found()
                body = wire.dumps(wire.envelope(name, [record]))
            return wire.json_answer(_corrupt(ctx.fault, body))

        return self._tenant_call(request, read)

    def _list(
        self, request: Request, ctx: RequestContext, org: Organisation, name: str
    ) -> Response:
        if name == "Organisation":
            body = wire.envelope("Organisations", [org.organisation()])
            return wire.json_answer(_corrupt(ctx.fault, wire.dumps(body)))
        try:
            with org.lock:
                rows = org.query(
                    name,
                    where=_arg(request, "where") or None,
                    order=_arg(request, "order") or None,
                    ids=_csv_arg(request, "IDs"),
                    numbers=_csv_arg(request, "InvoiceNumbers"),
                    statuses=_csv_arg(request, "Statuses"),
                    contact_ids=_csv_arg(request, "ContactIDs"),
                    include_archived=_arg(request, "includeArchived").lower() == "true",
                )
                extra: dict[str, Any] = {}
                if name in PAGED:
                    page = max(1, int(_arg(request, "page") or 1))
                    size = min(1000, max(1, int(_arg(request, "pageSize") or 100)))
                    extra["pagination"] = {
                        "page": page,
                        "pageSize": size,
                        "pageCount": (len(rows) + size - 1) // size,
                        "itemCount": len(rows),
                    }
                    rows = rows[(page - 1) * size : page * size]
                body = wire.dumps(wire.envelope(name, rows, **extra))
        except (WhereError, ValueError) as exc:
            return wire.bad_request(str(exc))
        return wire.json_answer(_corrupt(ctx.fault, body))

    def _write(
        self, request: Request, ctx: RequestContext, org: Organisation, name: str, key: str = ""
    ) -> Response:
        idempotency_key = request.headers.get("Idempotency-Key", "")
        if len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
            return wire.bad_request(
                f"The Idempotency-Key header can be at most {MAX_IDEMPOTENCY_KEY} characters."
            )
        with org.lock:
            if idempotency_key:
                org.forget_old_replays(self.replay_ttl_seconds)
                replay = org.replays.get(idempotency_key)
                if replay is not None:
                    if (replay.method, replay.path.lower()) != (
                        request.method,
                        request.path.lower(),
                    ):
                        return wire.bad_request(
                            "The Idempotency-Key was already used for another request."
                        )
                    self.event_log.add(
                        "idempotent_replay", tenant=org.tenant_id, key=idempotency_key,
                        path=request.path,
                    )  # fmt: skip
                    return self._deliver(request, ctx, replay.body, replay.status)
            try:
                body = wire.loads(request.get_data() or b"{}")
            except wire.XeroJsonError as exc:
                return wire.bad_request(f"The request body could not be read: {exc}")
            if isinstance(body, dict) and isinstance(body.get(name), list):
                elements = body[name]
            elif isinstance(body, dict) and name not in body:
                elements = [body]
            else:
                return wire.bad_request(f"Expected a {name} collection.")
            if key:
                id_field = COLLECTIONS[name][0]
                elements = [{**e, id_field: key} if isinstance(e, dict) else e for e in elements]
            summarize = _arg(request, "summarizeErrors", "true").lower() != "false"
            result = org.write(name, elements, method=request.method, summarize=summarize)
            if result.status == 400:
                payload = wire.validation_exception(result.elements).get_data()
            else:
                payload = wire.dumps(wire.envelope(name, result.elements))
            if idempotency_key:
                org.replays[idempotency_key] = Replay(
                    request.method, request.path, result.status, payload, time.time()
                )
            self.event_log.add(
                "write", tenant=org.tenant_id, collection=name, elements=len(elements),
                failed=result.failed, status=result.status,
            )  # fmt: skip
        return self._deliver(request, ctx, payload, result.status)

    def _deliver(
        self, request: Request, ctx: RequestContext, payload: bytes, status: int
    ) -> Response:
        """The answer of a write that happened, unless a fault loses it on the way back."""
        rule = self.after_commit_faults.pick(request.path)
        if rule is not None:
            self.event_log.add("after_commit_fault", path=request.path, fault=str(rule.kind))
            if rule.kind is FaultKind.SERVER_ERROR:
                return wire.server_error()
            if rule.kind is FaultKind.BAD_GATEWAY:
                return self.fault_gateway_page(502)
            if rule.kind is FaultKind.SERVICE_UNAVAILABLE:
                return wire.organisation_offline()
            if rule.kind is FaultKind.SLOW:
                time.sleep(rule.delay_seconds)
            payload = _corrupt(rule, payload)
        return wire.json_answer(_corrupt(ctx.fault, payload), status)

    def api_deep_link(self, request: Request, ctx: RequestContext) -> Response:
        collection, param = _DEEP_LINKS[request.path.lower()]
        record_id = next((v for k, v in request.args.items() if k.lower() == param), "")
        for org in self.organisations.values():
            record = org.records[collection].get(record_id.lower())
            if record is None:
                continue
            esc = html.escape
            number = (
                record.get("InvoiceNumber")
                or record.get("Reference")
                or record.get("Narration", "")
            )
            total = record.get("Total", "")
            body = (
                f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(org.name)}'
                f"</title></head><body><h1>{esc(org.name)}: {esc(str(number))}</h1>"
                f'<p>Total: <span id="total">{esc(str(total))}</span></p></body></html>'
            )
            return Response(body, status=200, content_type="text/html; charset=utf-8")
        return self._page("Not found", "That document was not found.", 404)
