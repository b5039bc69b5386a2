"""The QuickBooks Online stand-in: Intuit's OAuth server and the Accounting API v3 on one host.

Paths mirror Intuit's, so only base URLs differ between production and this stand-in:

==========================================  ==================================================
``GET /.well-known/openid_configuration``   OpenID discovery (intuit-oauth reads it)
``GET|POST /connect/oauth2``                authorize page (Connect / Cancel buttons)
``POST /oauth2/v1/tokens/bearer``           token endpoint (Basic client auth)
``POST /v2/oauth2/tokens/revoke``           revoke (JSON ``{"token": ...}``)
``GET /v1/openid_connect/userinfo``         user info
``GET /op/v1/jwks``                         (empty) key set
``POST /v3/company/{realm}/{entity}``       create, update (``Id``+``SyncToken``), ``?operation=
                                            delete``, ``?operation=void`` / ``include=void``
``GET /v3/company/{realm}/{entity}/{id}``   read
``GET|POST /v3/company/{realm}/query``      ``select ... from ...`` (``?query=`` or text body)
``POST /v3/company/{realm}/batch``          up to 30 ``BatchItemRequest`` items
``GET /v3/company/{realm}/companyinfo/{realm}``, ``GET|POST .../preferences``
``GET /app/{entity}?txnId=``                the "open in QuickBooks" page of a document
==========================================  ==================================================

Limits per realm (the account key of the request log is the realm id): 500 requests per
rolling minute and 10 in flight (both answered with the XML 429 Intuit sends), 40 batch
requests per minute, 10 requests per second when turned on (``sandbox/qbo/batch.py``).
``?requestid=`` makes a write replay its first successful answer.
Control API under ``/__sandbox__/qbo/`` (see ``sandbox/qbo/README.md``).
"""

from __future__ import annotations

import copy
import html
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.framework import (
    UNLIMITED,
    ControlError,
    FaultInjector,
    FaultKind,
    FaultRule,
    RateLimitDecision,
    RequestContext,
    SlidingWindowRateLimiter,
    StandIn,
    control_body,
    json_response,
)
from sandbox.qbo import seed
from sandbox.qbo.batch import DEFAULT_PER_SECOND, ThrottleInjector
from sandbox.qbo.company import ENTITIES, ENTITY_BY_PATH, NAME_LISTS, Company, Replay
from sandbox.qbo.oauth import (
    ACCOUNTING_SCOPE,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    OAuthError,
    OAuthServer,
)
from sandbox.qbo.query import parse_query, run_query
from sandbox.qbo.wire import (
    QboFault,
    bad_request_body,
    forbidden_response,
    intuit_time,
    json_answer,
    object_not_found,
    query_validation_error,
    system_fault,
    throttled_response,
    unauthorized_response,
    unsupported_operation,
    wire_bytes,
    wire_loads,
)

DEFAULT_CONCURRENCY_LIMIT = 10
DEFAULT_BATCH_PER_MINUTE = 40
MAX_BATCH_ITEMS = 30
MAX_REQUEST_ID = 50

_SINGLETONS = {"companyinfo": "CompanyInfo", "preferences": "Preferences"}


class _RealmRateLimiter(SlidingWindowRateLimiter):
    """Intuit throttles the accounting API per realm; its OAuth endpoints are not counted."""

    def check(self, key: str, now: float) -> RateLimitDecision:
        if key.startswith("oauth:"):
            return RateLimitDecision(True, UNLIMITED, UNLIMITED, int(self.window_seconds))
        return super().check(key, now)


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _corrupt(rule: FaultRule | None, body: bytes) -> bytes:
    if rule is None:
        return body
    if rule.kind is FaultKind.TRUNCATED_JSON:
        return body[: max(1, len(body) // 2)]
    if rule.kind is FaultKind.MALFORMED_JSON:
        return body[:-1] + b",undefined" + body[-1:] if len(body) > 1 else b"{,}"
    return body


class QboSandbox(StandIn):
    """QuickBooks Online stand-in and its handle (see ``sandbox/qbo/README.md``)."""

    name = "qbo"
    default_rate_limit = 500
    default_rate_window = 60.0

    def __init__(self, *, realm_id: str = seed.DEFAULT_REALM_ID) -> None:
        self.default_realm_id = realm_id
        self.companies: dict[str, Company] = {}
        self.oauth = OAuthServer()
        self.concurrency_limit: int | None = DEFAULT_CONCURRENCY_LIMIT
        self.latency_seconds = 0.0
        self.after_commit_faults = FaultInjector()
        self.batch_limiter = SlidingWindowRateLimiter(DEFAULT_BATCH_PER_MINUTE, 60.0)
        self.second_limiter = SlidingWindowRateLimiter(DEFAULT_PER_SECOND, 1.0)
        self.throttles = ThrottleInjector()
        self._flight_lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        self._max_in_flight: dict[str, int] = {}
        self._next_realm = 1
        super().__init__()
        self.rate_limiter = _RealmRateLimiter(self.default_rate_limit, self.default_rate_window)
        self.reset_state()

    # -- framework hooks ------------------------------------------------------------------------

    def reset_state(self) -> None:
        self.companies.clear()
        self.companies[self.default_realm_id] = Company.seeded(
            self.default_realm_id, seed.DEFAULT_COMPANY_NAME
        )
        self._next_realm = 1
        self.oauth.reset()
        self.oauth.clients.clear()
        self.oauth.register_client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        self.concurrency_limit = DEFAULT_CONCURRENCY_LIMIT
        self.latency_seconds = 0.0
        self.throttle_status = 429
        self._throttled_as_403 = 0
        self.after_commit_faults.clear()
        self.batch_limiter.configure(DEFAULT_BATCH_PER_MINUTE, 60.0)
        self.second_limiter.configure(DEFAULT_PER_SECOND, 1.0)
        self.throttles.clear()
        with self._flight_lock:
            self._in_flight.clear()
            self._max_in_flight.clear()

    def authenticate(self, request: Request) -> tuple[str | None, Response | None]:
        parts = request.path.split("/")
        if len(parts) > 3 and parts[1] == "v3" and parts[2].lower() == "company":
            realm = parts[3]
            access, why = self.oauth.check_access_token(self._bearer(request))
            if access is None:
                return realm, unauthorized_response(why)
            if access.realm_id != realm or realm not in self.companies:
                return realm, forbidden_response()
            return realm, self.throttles.pick(request.path)
        if request.path.lower().startswith("/v1/openid_connect/userinfo"):
            access, why = self.oauth.check_access_token(self._bearer(request))
            if access is None:
                return "oauth:userinfo", unauthorized_response(why)
            return "oauth:userinfo", None
        auth = request.authorization
        client = auth.username if auth is not None and auth.type == "basic" else None
        return f"oauth:{client or '-'}", None

    @staticmethod
    def _bearer(request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return token.strip() or None

    def rate_limited_response(self, decision: RateLimitDecision) -> Response:
        if self.throttle_status == 403:
            with self._flight_lock:
                self._throttled_as_403 += 1
        return throttled_response(status=self.throttle_status)

    def set_throttle_status(self, status: int = 429) -> None:
        """Answer throttling with 429 (documented) or 403 (as Intuit has also done)."""
        if status not in (403, 429):
            raise ValueError("throttling is answered with 429 or 403")
        self.throttle_status = status

    def fault_server_error(self, rule: FaultRule) -> Response:
        return system_fault().response()

    def error_response(self, status: int, message: str) -> Response:
        fault_type = "SystemFault" if status >= 500 else "ValidationFault"
        body = {
            "Fault": {
                "Error": [
                    {"Message": message, "Detail": message, "code": str(status), "element": ""}
                ],
                "type": fault_type,
            },
            "time": intuit_time(),
        }
        return json_answer(wire_bytes(body), status)

    def api_rules(self) -> list[Rule]:
        return [
            Rule("/.well-known/openid_configuration", endpoint="api_discovery", methods=["GET"]),
            Rule(
                "/.well-known/openid_sandbox_configuration",
                endpoint="api_discovery",
                methods=["GET"],
            ),
            Rule("/connect/oauth2", endpoint="api_authorize", methods=["GET", "POST"]),
            Rule("/oauth2/v1/tokens/bearer", endpoint="api_token", methods=["POST"]),
            Rule("/v2/oauth2/tokens/revoke", endpoint="api_revoke", methods=["POST"]),
            Rule("/v1/openid_connect/userinfo", endpoint="api_userinfo", methods=["GET"]),
            Rule("/op/v1/jwks", endpoint="api_jwks", methods=["GET"]),
            Rule("/app/<entity>", endpoint="api_deep_link", methods=["GET"]),
            Rule("/v3/company/<realm>/query", endpoint="api_query", methods=["GET", "POST"]),
            Rule("/v3/company/<realm>/batch", endpoint="api_batch", methods=["POST"]),
            Rule(
                "/v3/company/<realm>/preferences",
                endpoint="api_preferences",
                methods=["GET", "POST"],
            ),
            Rule("/v3/company/<realm>/<entity>", endpoint="api_write", methods=["POST"]),
            Rule("/v3/company/<realm>/<entity>/<record_id>", endpoint="api_read", methods=["GET"]),
        ]

    # -- OAuth endpoints ------------------------------------------------------------------------

    @property
    def discovery_url(self) -> str:
        """What to pass as intuit-oauth's ``environment``."""
        return f"{self.base_url}/.well-known/openid_configuration"

    @property
    def api_base_url(self) -> str:
        """What python-quickbooks' ``api_url_v3`` must be (ends in ``/v3``)."""
        return f"{self.base_url}/v3"

    def discovery_document(self) -> dict[str, Any]:
        base = self.public_base_url
        return {
            "issuer": f"{base}/op/v1",
            "authorization_endpoint": f"{base}/connect/oauth2",
            "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
            "userinfo_endpoint": f"{base}/v1/openid_connect/userinfo",
            "revocation_endpoint": f"{base}/v2/oauth2/tokens/revoke",
            "jwks_uri": f"{base}/op/v1/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": [
                "openid",
                "email",
                "profile",
                "address",
                "phone",
                ACCOUNTING_SCOPE,
                "com.intuit.quickbooks.payment",
            ],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
        }

    def api_discovery(self, request: Request, ctx: RequestContext) -> Response:
        return json_response(self.discovery_document())

    def api_jwks(self, request: Request, ctx: RequestContext) -> Response:
        return json_response({"keys": []})

    def api_userinfo(self, request: Request, ctx: RequestContext) -> Response:
        access, _ = self.oauth.check_access_token(self._bearer(request))
        assert access is not None
        return json_response(
            {
                "sub": f"sandbox-user-{access.realm_id}",
                "email": "sandbox.user@example.com",
                "emailVerified": True,
                "givenName": "Sandbox",
                "familyName": "User",
            }
        )

    def _authorize_params(self, values: Any) -> tuple[dict[str, str], Response | None]:
        params = {
            k: str(values.get(k, ""))
            for k in ("client_id", "redirect_uri", "scope", "state", "response_type")
        }
        client = self.oauth.clients.get(params["client_id"])
        if client is None:
            return params, self._oauth_page(
                "The app that sent you here is not known (invalid client_id).", 400
            )
        if not params["redirect_uri"] or not client.allows(params["redirect_uri"]):
            return params, self._oauth_page(
                "The redirect_uri query parameter value is invalid. Make sure it is listed in the "
                "Redirect URIs section on your app's keys tab and matches it exactly.",
                400,
            )
        if params["response_type"] != "code":
            return params, self._redirect(
                params, {"error": "unsupported_response_type", "state": params["state"]}
            )
        if not params["scope"].split():
            return params, self._redirect(
                params, {"error": "invalid_scope", "state": params["state"]}
            )
        return params, None

    def _redirect(self, params: dict[str, str], query: dict[str, str]) -> Response:
        return Response(
            status=302, headers={"Location": _with_query(params["redirect_uri"], query)}
        )

    def _approve(self, params: dict[str, str], realm_id: str) -> Response:
        code = self.oauth.issue_code(
            params["client_id"], params["redirect_uri"], realm_id, params["scope"]
        )
        self.event_log.add("authorized", client_id=params["client_id"], realm_id=realm_id)
        return self._redirect(params, {"code": code, "state": params["state"], "realmId": realm_id})

    def api_authorize(self, request: Request, ctx: RequestContext) -> Response:
        values = request.form if request.method == "POST" else request.args
        params, problem = self._authorize_params(values)
        if problem is not None:
            return problem
        if request.method == "POST":
            if request.form.get("decision") != "approve":
                self.event_log.add("authorization_denied", client_id=params["client_id"])
                return self._redirect(params, {"error": "access_denied", "state": params["state"]})
            realm_id = request.form.get("realmId", "")
            if realm_id not in self.companies:
                return self._oauth_page("Choose a company to connect.", 400)
            return self._approve(params, realm_id)
        if self.oauth.auto_approve:
            realm_id = self.oauth.auto_approve_realm or self.default_realm_id
            return self._approve(params, realm_id)
        return self._authorize_page(params)

    def _authorize_page(self, params: dict[str, str]) -> Response:
        esc = html.escape
        hidden = "".join(
            f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in params.items()
        )
        options = "".join(
            f'<option value="{esc(c.realm_id)}">{esc(c.name)}</option>'
            for c in self.companies.values()
        )
        body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Connect to QuickBooks</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 3rem auto;">
<h1>Intuit QuickBooks (sandbox stand-in)</h1>
<p>An app wants to connect to your QuickBooks company and read and write its accounting
data.</p>
<form method="post" action="/connect/oauth2">
{hidden}
<p><label for="realmId">Company</label>
<select id="realmId" name="realmId">{options}</select></p>
<button type="submit" name="decision" value="approve" id="connect">Connect</button>
<button type="submit" name="decision" value="deny" id="cancel">Cancel</button>
</form>
</body></html>"""
        return Response(body, status=200, content_type="text/html; charset=utf-8")

    def _oauth_page(self, message: str, status: int) -> Response:
        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error</title>'
            f"</head><body><h1>Something went wrong</h1><p>{html.escape(message)}</p>"
            "</body></html>"
        )
        return Response(body, status=status, content_type="text/html; charset=utf-8")

    def _client(self, request: Request) -> Any:
        auth = request.authorization
        if auth is None or auth.type != "basic":
            raise OAuthError("invalid_client", 401)
        return self.oauth.authenticate_client(auth.username, auth.password)

    def _oauth_error(self, exc: OAuthError) -> Response:
        response = json_response(exc.body(), exc.status)
        response.headers["Cache-Control"] = "no-store"
        return response

    def api_token(self, request: Request, ctx: RequestContext) -> Response:
        try:
            client = self._client(request)
            grant_type = request.form.get("grant_type", "")
            if grant_type == "authorization_code":
                answer = self.oauth.exchange_code(
                    client, request.form.get("code"), request.form.get("redirect_uri")
                )
            elif grant_type == "refresh_token":
                answer = self.oauth.refresh(client, request.form.get("refresh_token"))
            elif not grant_type:
                raise OAuthError("invalid_request", description="grant_type is required")
            else:
                raise OAuthError("unsupported_grant_type")
        except OAuthError as exc:
            self.event_log.add("token_refused", error=exc.error)
            return self._oauth_error(exc)
        self.event_log.add("token_issued", grant_type=grant_type)
        response = json_response(answer)
        response.headers["Cache-Control"] = "no-store"
        return response

    def api_revoke(self, request: Request, ctx: RequestContext) -> Response:
        try:
            client = self._client(request)
            token = None
            if request.is_json or request.get_data().lstrip().startswith(b"{"):
                try:
                    token = (wire_loads(request.get_data()) or {}).get("token")
                except ValueError:
                    raise OAuthError("invalid_request") from None
            else:
                token = request.form.get("token")
            self.oauth.revoke(client, token)
        except OAuthError as exc:
            return self._oauth_error(exc)
        self.event_log.add("token_revoked")
        return Response(b"", status=200)

    # -- accounting API -------------------------------------------------------------------------

    def _company_call(self, realm: str, handle: Callable[[Company], Response]) -> Response:
        company = self.companies.get(realm)
        if company is None:
            return forbidden_response()
        if not self.second_limiter.check(realm, time.monotonic()).allowed:
            self.event_log.add("second_throttled", realm_id=realm)
            return throttled_response()
        with self._flight_lock:
            in_flight = self._in_flight.get(realm, 0) + 1
            if self.concurrency_limit is not None and in_flight > self.concurrency_limit:
                self.event_log.add("concurrency_throttled", realm_id=realm, in_flight=in_flight)
                return throttled_response()
            self._in_flight[realm] = in_flight
            self._max_in_flight[realm] = max(self._max_in_flight.get(realm, 0), in_flight)
        try:
            if self.latency_seconds > 0:
                time.sleep(self.latency_seconds)
            return handle(company)
        finally:
            with self._flight_lock:
                self._in_flight[realm] -= 1

    def _answer_value(
        self, ctx: RequestContext, value: dict[str, Any], status: int = 200
    ) -> Response:
        return json_answer(_corrupt(ctx.fault, wire_bytes(value)), status)

    def _read_json(self, request: Request) -> Any:
        raw = request.get_data()
        if not raw.strip():
            raise bad_request_body("(empty request body)")
        try:
            return wire_loads(raw)
        except ValueError as exc:
            raise bad_request_body(f"Unrecognized token ({exc})") from None

    def api_read(
        self, request: Request, ctx: RequestContext, realm: str, entity: str, record_id: str
    ) -> Response:
        def handle(company: Company) -> Response:
            key = entity.lower()
            try:
                if key == "companyinfo":
                    if record_id not in (realm, company.company_info["Id"]):
                        raise object_not_found("CompanyInfo", record_id)
                    return self._answer_value(
                        ctx, {"CompanyInfo": company.company_info, "time": intuit_time()}
                    )
                name = ENTITY_BY_PATH.get(key)
                if name is None:
                    raise unsupported_operation(entity, "Read")
                with company.lock:
                    record = company.records[name].get(record_id) or company.records[name].get(
                        record_id.upper()
                    )
                    if record is None:
                        record = company.get(name, record_id)
                    return self._answer_value(ctx, {name: record, "time": intuit_time()})
            except QboFault as fault:
                return fault.response()

        return self._company_call(realm, handle)

    def api_preferences(self, request: Request, ctx: RequestContext, realm: str) -> Response:
        def handle(company: Company) -> Response:
            try:
                if request.method == "POST":
                    body = self._read_json(request)
                    if not isinstance(body, dict):
                        raise bad_request_body("Preferences")
                    with company.lock:
                        self._update_preferences(company, body, check_token=True)
                return self._answer_value(
                    ctx, {"Preferences": company.preferences, "time": intuit_time()}
                )
            except QboFault as fault:
                return fault.response()

        return self._company_call(realm, handle)

    def _update_preferences(
        self, company: Company, body: dict[str, Any], *, check_token: bool
    ) -> None:
        from sandbox.qbo.wire import meta_time, required_param, stale_object

        prefs = company.preferences
        if check_token:
            sent = str(body.get("SyncToken", "")).strip()
            if not sent:
                raise required_param("SyncToken")
            if sent != prefs["SyncToken"]:
                raise stale_object("Preferences", "1", sent, prefs["SyncToken"])
        for group, values in body.items():
            if group in ("Id", "SyncToken", "MetaData", "domain", "sparse") or values is None:
                continue
            if isinstance(values, dict) and isinstance(prefs.get(group), dict):
                prefs[group].update({k: v for k, v in values.items() if v is not None})
            else:
                prefs[group] = values
        prefs["SyncToken"] = str(int(prefs["SyncToken"]) + 1)
        prefs["MetaData"] = {**prefs["MetaData"], "LastUpdatedTime": meta_time()}

    def api_write(self, request: Request, ctx: RequestContext, realm: str, entity: str) -> Response:
        name = ENTITY_BY_PATH.get(entity.lower())
        if name is None:
            return unsupported_operation(entity, "Create").response()
        return self._company_call(realm, lambda company: self._write(request, ctx, company, name))

    def _replayed(self, request: Request, company: Company) -> tuple[str | None, Response | None]:
        request_id = request.args.get("requestid")
        if not request_id:
            return None, None
        if len(request_id) > MAX_REQUEST_ID:
            return request_id, QboFault(
                2050,
                "String length is either shorter or longer than supported by specification",
                f"requestid can be at most {MAX_REQUEST_ID} characters; supplied {len(request_id)}",
                "requestid",
            ).response()
        replay = company.replays.get(request_id)
        if replay is None:
            return request_id, None
        if replay.path.lower() != request.path.lower():
            return request_id, QboFault(
                600,
                "Duplicate Request ID",
                f"The requestid {request_id} was already used for another request.",
                "",
            ).response()
        self.event_log.add(
            "requestid_replayed",
            realm_id=company.realm_id,
            request_id=request_id,
            path=request.path,
        )
        return request_id, json_answer(replay.body, replay.status)

    def _write(
        self, request: Request, ctx: RequestContext, company: Company, entity: str
    ) -> Response:
        with company.lock:
            request_id, replay = self._replayed(request, company)
            if replay is not None:
                return self._deliver(request, ctx, replay.get_data(), replay.status_code)
            operation = request.args.get("operation", "").lower()
            include = request.args.get("include", "").lower()
            try:
                body = self._read_json(request)
                if operation == "delete":
                    result: dict[str, Any] = {entity: company.delete(entity, body)}
                elif operation == "void" or include == "void":
                    result = {entity: company.void(entity, body)}
                elif operation in ("", "create", "update"):
                    result = {entity: company.save(entity, body)}
                else:
                    raise unsupported_operation(entity, operation)
            except QboFault as fault:
                self.event_log.add(
                    "fault", realm_id=company.realm_id, entity=entity, code=fault.code
                )
                return fault.response()
            result["time"] = intuit_time()
            payload = wire_bytes(result)
            if request_id:
                company.replays[request_id] = Replay(request.method, request.path, 200, payload)
        return self._deliver(request, ctx, payload, 200)

    def _deliver(
        self, request: Request, ctx: RequestContext, payload: bytes, status: int
    ) -> Response:
        """The answer of a committed write, unless a fault "loses" it on the way back."""
        rule = self.after_commit_faults.pick(request.path)
        if rule is not None:
            self.event_log.add("after_commit_fault", path=request.path, fault=str(rule.kind))
            if rule.kind is FaultKind.SERVER_ERROR:
                return system_fault().response()
            if rule.kind in (FaultKind.BAD_GATEWAY, FaultKind.SERVICE_UNAVAILABLE):
                return self.fault_gateway_page(502 if rule.kind is FaultKind.BAD_GATEWAY else 503)
            if rule.kind is FaultKind.SLOW:
                time.sleep(rule.delay_seconds)
            payload = _corrupt(rule, payload)
        return json_answer(_corrupt(ctx.fault, payload), status)

    def _query_response(self, company: Company, text: str) -> dict[str, Any]:
        query = parse_query(text)
        singleton = _SINGLETONS.get(query.entity.lower())
        if singleton is not None:
            record = company.company_info if singleton == "CompanyInfo" else company.preferences
            result = run_query(query, [record], name_list=False, known_field=lambda _: True)
            if "items" in result:
                result[singleton] = result.pop("items")
            return result
        entity = ENTITY_BY_PATH.get(query.entity.lower())
        if entity is None:
            raise query_validation_error(f"Entity {query.entity} is not supported")
        with company.lock:
            indexed = company.candidates(entity, query.conditions)
            records = company.all(entity) if indexed is None else indexed
            result = run_query(
                query,
                records,
                name_list=entity in NAME_LISTS,
                known_field=lambda f: company.queryable(entity, f),
            )
            if "items" in result:
                result = {entity: result.pop("items"), **result}
            return copy.deepcopy(result)

    def api_query(self, request: Request, ctx: RequestContext, realm: str) -> Response:
        def handle(company: Company) -> Response:
            text = request.args.get("query")
            if text is None:
                raw = request.get_data()
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    text = raw.decode("latin-1")
            try:
                result = self._query_response(company, text)
            except QboFault as fault:
                return fault.response()
            return self._answer_value(ctx, {"QueryResponse": result, "time": intuit_time()})

        return self._company_call(realm, handle)

    def api_batch(self, request: Request, ctx: RequestContext, realm: str) -> Response:
        def handle(company: Company) -> Response:
            # Counted once the per-second and concurrency limits let the request in.
            if not self.batch_limiter.check(realm, time.monotonic()).allowed:
                self.event_log.add("batch_throttled", realm_id=realm)
                return throttled_response()
            return self._batch(request, ctx, company)

        return self._company_call(realm, handle)

    def _batch(self, request: Request, ctx: RequestContext, company: Company) -> Response:
        with company.lock:
            request_id, replay = self._replayed(request, company)
            if replay is not None:
                return self._deliver(request, ctx, replay.get_data(), replay.status_code)
            try:
                body = self._read_json(request)
                items = body.get("BatchItemRequest") if isinstance(body, dict) else None
                if not isinstance(items, list) or not items:
                    raise bad_request_body("BatchItemRequest")
                if len(items) > MAX_BATCH_ITEMS:
                    raise QboFault(
                        1040,
                        "Batch size exceeds allowed limit",
                        f"Batch size {len(items)} exceeds the limit of {MAX_BATCH_ITEMS} "
                        "BatchItemRequest items.",
                        "BatchItemRequest",
                    )
            except QboFault as fault:
                return fault.response()
            # Serially, and no item sees what an earlier one of this payload created.
            try:
                out = [self._batch_item(company, item) for item in items]
            finally:
                company.unseen.clear()
            payload = wire_bytes({"BatchItemResponse": out, "time": intuit_time()})
            if request_id:
                company.replays[request_id] = Replay(request.method, request.path, 200, payload)
        return self._deliver(request, ctx, payload, 200)

    def _batch_item(self, company: Company, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            return {"Fault": bad_request_body("BatchItemRequest").fault()}
        b_id = str(item.get("bId", ""))
        try:
            if "Query" in item:
                return {"bId": b_id, "QueryResponse": self._query_response(company, item["Query"])}
            entity = next((e for e in ENTITIES if e in item), None)
            if entity is None:
                raise bad_request_body("BatchItemRequest entity")
            operation = str(item.get("operation", "")).lower()
            if operation == "delete":
                result = company.delete(entity, item[entity])
            elif operation in ("create", "update"):
                result = company.save(entity, item[entity])
                company.unseen.add((entity, str(result.get("Id", ""))))
            else:
                raise unsupported_operation(entity, operation or "(none)")
            return {"bId": b_id, entity: copy.deepcopy(result)}
        except QboFault as fault:
            return {"bId": b_id, "Fault": fault.fault()}

    def api_deep_link(self, request: Request, ctx: RequestContext, entity: str) -> Response:
        """``/app/salesreceipt?txnId=..``: what "open in QuickBooks" shows (any realm)."""
        name = ENTITY_BY_PATH.get(entity.lower())
        txn_id = request.args.get("txnId") or request.args.get("nameId") or ""
        realm = request.args.get("realmId")
        found = None
        for company in self.companies.values():
            if realm and company.realm_id != realm:
                continue
            if name and txn_id in company.records[name]:
                found = (company, company.records[name][txn_id])
                break
        if found is None:
            return self._oauth_page("That transaction was not found.", 404)
        company, record = found
        esc = html.escape
        rows = "".join(
            f"<tr><td>{esc(str(line.get('Description', line.get('DetailType', ''))))}</td>"
            f"<td>{esc(str(line.get('Amount', '')))}</td></tr>"
            for line in record.get("Line", [])
        )
        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{esc(str(name))} {esc(txn_id)}</title></head><body>"
            f"<h1>{esc(company.name)}: {esc(str(name))} {esc(str(record.get('DocNumber', '')))}"
            f'</h1><p>Total: <span id="total">{esc(str(record.get("TotalAmt", "")))}</span></p>'
            f"<table>{rows}</table></body></html>"
        )
        return Response(body, status=200, content_type="text/html; charset=utf-8")

    # -- handle: companies and documents --------------------------------------------------------

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

    # -- handle: OAuth --------------------------------------------------------------------------

    def register_client(
        self, client_id: str, client_secret: str, redirect_uris: tuple[str, ...] | list[str] = ()
    ) -> None:
        self.oauth.register_client(client_id, client_secret, tuple(redirect_uris))

    def issue_tokens(
        self, realm_id: str | None = None, client_id: str = DEMO_CLIENT_ID
    ) -> dict[str, Any]:
        """A fresh grant for a realm, skipping the browser: the token endpoint's answer."""
        realm = realm_id or self.default_realm_id
        self.company(realm)
        return self.oauth.issue_tokens(client_id, realm)

    def set_auto_approve(self, enabled: bool = True, realm_id: str | None = None) -> None:
        self.oauth.auto_approve = enabled
        self.oauth.auto_approve_realm = realm_id

    def set_refresh_grace(self, seconds: float) -> None:
        self.oauth.refresh_grace_seconds = float(seconds)

    def set_token_lifetimes(
        self, *, access_seconds: int | None = None, refresh_seconds: int | None = None
    ) -> None:
        if access_seconds is not None:
            self.oauth.access_token_ttl = int(access_seconds)
        if refresh_seconds is not None:
            self.oauth.refresh_token_ttl = int(refresh_seconds)

    def expire_access_tokens(self, realm_id: str | None = None) -> int:
        return self.oauth.expire_access_tokens(realm_id)

    def expire_refresh_tokens(self, realm_id: str | None = None) -> int:
        return self.oauth.expire_refresh_tokens(realm_id)

    def revoke_tokens(self, realm_id: str | None = None) -> int:
        return self.oauth.revoke_all(realm_id)

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

    # -- control API (provider part) ------------------------------------------------------------

    def control_rules(self) -> list[Rule]:
        return [
            Rule("/companies", endpoint="control_companies", methods=["GET", "POST"]),
            Rule("/companies/<realm>", endpoint="control_company", methods=["GET"]),
            Rule("/companies/<realm>/stats", endpoint="control_stats", methods=["GET"]),
            Rule("/companies/<realm>/settings", endpoint="control_settings", methods=["PUT"]),
            Rule("/companies/<realm>/documents", endpoint="control_documents", methods=["GET"]),
            Rule(
                "/companies/<realm>/documents/<entity>",
                endpoint="control_documents_of",
                methods=["GET", "POST"],
            ),
            Rule(
                "/companies/<realm>/documents/<entity>/<record_id>",
                endpoint="control_document",
                methods=["GET"],
            ),
            Rule("/oauth", endpoint="control_oauth", methods=["GET"]),
            Rule("/oauth/clients", endpoint="control_oauth_clients", methods=["GET", "POST"]),
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

    def _company_summary(self, company: Company) -> dict[str, Any]:
        with company.lock:
            return {
                "realm_id": company.realm_id,
                "name": company.name,
                "counts": {e: len(company.records[e]) for e in ENTITIES},
                "reject_duplicate_doc_numbers": company.reject_duplicate_doc_numbers,
                "requestids": len(company.replays),
            }

    def control_companies(self, request: Request) -> Any:
        if request.method == "POST":
            body = control_body(request)
            realm = self.create_company(body.get("name"), body.get("realm_id"))
            return json_response(self._company_summary(self.company(realm)), 201)
        return {"companies": [self._company_summary(c) for c in self.companies.values()]}

    def control_company(self, request: Request, realm: str) -> Any:
        return self._company_summary(self.company(realm))

    def control_stats(self, request: Request, realm: str) -> Any:
        self.company(realm)
        return self.stats(realm)

    def control_settings(self, request: Request, realm: str) -> Any:
        body = control_body(request)
        if "reject_duplicate_doc_numbers" in body:
            self.set_duplicate_doc_number_check(bool(body["reject_duplicate_doc_numbers"]), realm)
        if isinstance(body.get("preferences"), dict):
            self.set_preferences(realm, **body["preferences"])
        return self._company_summary(self.company(realm))

    def control_documents(self, request: Request, realm: str) -> Any:
        kind = request.args.get("type")
        if kind:
            return self._control_list(realm, kind)
        return {e: self.documents(e, realm) for e in ENTITIES}

    def _control_list(self, realm: str, entity: str) -> Any:
        if entity.lower() not in ENTITY_BY_PATH:
            raise ControlError(f"unknown entity {entity}", 404)
        docs = self.documents(entity, realm)
        return json_response(
            {"entity": ENTITY_BY_PATH[entity.lower()], "count": len(docs), "documents": docs}
        )

    def control_documents_of(self, request: Request, realm: str, entity: str) -> Any:
        if request.method == "POST":
            if entity.lower() not in ENTITY_BY_PATH:
                raise ControlError(f"unknown entity {entity}", 404)
            try:
                record = self.add_document(entity, control_body(request), realm)
            except QboFault as fault:
                return fault.response()
            return json_answer(wire_bytes(record), 201)
        return self._control_list(realm, entity)

    def control_document(self, request: Request, realm: str, entity: str, record_id: str) -> Any:
        if entity.lower() not in ENTITY_BY_PATH:
            raise ControlError(f"unknown entity {entity}", 404)
        try:
            return json_answer(wire_bytes(self.document(entity, record_id, realm)))
        except QboFault as fault:
            return fault.response()

    def control_oauth(self, request: Request) -> Any:
        return self.oauth.summary()

    def control_oauth_clients(self, request: Request) -> Any:
        if request.method == "POST":
            body = control_body(request)
            if not body.get("client_id") or not body.get("client_secret"):
                raise ControlError("client_id and client_secret are required")
            self.register_client(
                str(body["client_id"]),
                str(body["client_secret"]),
                tuple(body.get("redirect_uris") or ()),
            )
        return {"clients": self.oauth.summary()["clients"]}

    def control_oauth_settings(self, request: Request) -> Any:
        if request.method == "PUT":
            body = control_body(request)
            if "auto_approve" in body:
                self.set_auto_approve(bool(body["auto_approve"]), body.get("auto_approve_realm"))
            if "refresh_grace_seconds" in body:
                self.set_refresh_grace(float(body["refresh_grace_seconds"]))
            self.set_token_lifetimes(
                access_seconds=body.get("access_token_ttl"),
                refresh_seconds=body.get("refresh_token_ttl"),
            )
        return self.oauth.settings()

    def control_oauth_tokens(self, request: Request) -> Any:
        body = control_body(request)
        try:
            return self.issue_tokens(
                body.get("realm_id"), str(body.get("client_id") or DEMO_CLIENT_ID)
            )
        except KeyError as exc:
            raise ControlError(str(exc), 404) from None

    def control_oauth_expire(self, request: Request) -> Any:
        body = control_body(request)
        what = body.get("what", "access")
        realm = body.get("realm_id")
        if what == "access":
            return {"expired": self.expire_access_tokens(realm)}
        if what == "refresh":
            return {"expired": self.expire_refresh_tokens(realm)}
        raise ControlError('what must be "access" or "refresh"')

    def control_oauth_revoke(self, request: Request) -> Any:
        return {"revoked": self.revoke_tokens(control_body(request).get("realm_id"))}

    def control_limits(self, request: Request) -> Any:
        if request.method == "PUT":
            body = control_body(request)
            if "per_minute" in body:
                if body["per_minute"] is None:
                    self.disable_rate_limit()
                else:
                    self.set_rate_limit(
                        int(body["per_minute"]), float(body.get("window_seconds", 60.0))
                    )
            if "concurrent" in body:
                value = body["concurrent"]
                self.set_concurrency_limit(None if value is None else int(value))
            if "batch_per_minute" in body:
                value = body["batch_per_minute"]
                self.set_batch_rate_limit(
                    None if value is None else int(value),
                    float(body.get("batch_window_seconds", 60.0)),
                )
            if "per_second" in body:
                value = body["per_second"]
                self.set_per_second_limit(
                    None if value is None else int(value),
                    float(body.get("second_window_seconds", 1.0)),
                )
            if "latency_seconds" in body:
                self.set_latency(float(body["latency_seconds"]))
        return self.limits()

    def control_after_commit_faults(self, request: Request) -> Any:
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

    def control_info(self, request: Request) -> dict[str, Any]:
        info = super().control_info(request)
        info.update(
            {
                "discovery_url": f"{self.public_base_url}/.well-known/openid_configuration",
                "api_base_url": f"{self.public_base_url}/v3",
                "default_realm_id": self.default_realm_id,
                "demo_client_id": DEMO_CLIENT_ID,
                "limits": self.limits(),
            }
        )
        return info
