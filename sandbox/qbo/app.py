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

This module holds the class and its framework hooks; its parts are mixed in from
``oauth_endpoints``, ``accounting_api``, ``handle`` (the Python handle tests use) and
``control_api``.
"""

from __future__ import annotations

import threading

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.framework import (
    UNLIMITED,
    FaultInjector,
    FaultRule,
    RateLimitDecision,
    SlidingWindowRateLimiter,
    StandIn,
)
from sandbox.qbo import seed
from sandbox.qbo.accounting_api import AccountingApi
from sandbox.qbo.batch import DEFAULT_PER_SECOND, ThrottleInjector
from sandbox.qbo.company import Company
from sandbox.qbo.control_api import QboControlApi
from sandbox.qbo.handle import QboHandle
from sandbox.qbo.oauth import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, OAuthServer
from sandbox.qbo.oauth_endpoints import OAuthEndpoints
from sandbox.qbo.wire import (
    forbidden_response,
    intuit_time,
    json_answer,
    system_fault,
    throttled_response,
    unauthorized_response,
    wire_bytes,
)

DEFAULT_CONCURRENCY_LIMIT = 10
DEFAULT_BATCH_PER_MINUTE = 40


class _RealmRateLimiter(SlidingWindowRateLimiter):
    """Intuit throttles the accounting API per realm; its OAuth endpoints are not counted."""

    def check(self, key: str, now: float) -> RateLimitDecision:
        if key.startswith("oauth:"):
            return RateLimitDecision(True, UNLIMITED, UNLIMITED, int(self.window_seconds))
        return super().check(key, now)


class QboSandbox(OAuthEndpoints, AccountingApi, QboHandle, QboControlApi, StandIn):
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
