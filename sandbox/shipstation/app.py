"""The ShipStation API v1 stand-in: routes, auth, filters, paging, webhooks, control API.

Faithfulness notes (see /work/shared/reference/shipstation-v1.md):

- HTTP Basic, key as user name and secret as password; a missing, wrong or expired pair gets
  a 401 whose body is a short HTML page, not JSON.
- Paths and query parameter names are case-insensitive (ShipStation runs on IIS/ASP.NET,
  and its own webhook URLs say ``storeID``); empty parameters count as absent.
- List envelope ``{"orders": [...], "total", "page", "pages"}``; ``pages`` is
  ``ceil(total / pageSize)`` (0 when nothing matches); a page past the end is an empty list
  with the same total. ``pageSize`` defaults to 100; above 500 (or below 1) is a 400 in
  ASP.NET's model-validation shape ``{"Message": "The request is invalid.", "ModelState":
  {...}}`` (assumed; the real message text is not documented).
- Date filters are Pacific ``yyyy-mm-dd hh:mm:ss`` (or ``yyyy-mm-dd`` = midnight), or ISO 8601
  with ``Z`` or an offset (that exact instant; the docs' samples use ``...T14:15:22Z``), both
  ends inclusive, compared with full precision. ``shipDate`` filters compare calendar days.
- Default order when ``sortBy`` is absent: by id ascending (design; ShipStation does not
  document it). ``sortBy``/``sortDir`` values outside the documented ones are a 400.
- ``orderNumber`` is a case-insensitive prefix match on /orders and an exact match on
  /shipments and /fulfillments; ``customerName``, ``itemKeyword`` and ``recipientName`` are
  case-insensitive substring matches (``itemKeyword`` searches SKU, name and option values).
- Only ``ORDER_NOTIFY`` and ``SHIP_NOTIFY`` webhooks are ever sent; the other documented
  events can be subscribed to but never fire here.

This module holds the class and its framework hooks; its parts are mixed in from ``endpoints``
(the API), ``handle`` (webhooks out and the Python handle), ``control_api``, ``realism`` and
``catalog``; ``params`` reads query parameters.
"""

from __future__ import annotations

import hmac

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.framework import (
    FaultRule,
    FixedWindowRateLimiter,
    RateLimitDecision,
    StandIn,
    WebhookDispatcher,
    json_response,
)
from sandbox.shipstation.account import Account
from sandbox.shipstation.catalog import CatalogMixin
from sandbox.shipstation.control_api import ShipStationControlApi
from sandbox.shipstation.endpoints import ApiEndpoints
from sandbox.shipstation.handle import ShipStationHandle
from sandbox.shipstation.params import InvalidParameter
from sandbox.shipstation.realism import RealismMixin

_UNAUTHORIZED_PAGE = (
    "<html><head><title>401 - Unauthorized</title></head><body>"
    "<h1>401 - Unauthorized: Access is denied due to invalid credentials.</h1>"
    "</body></html>"
)


class ShipStationSandbox(
    ApiEndpoints, ShipStationHandle, ShipStationControlApi, RealismMixin, CatalogMixin, StandIn
):
    """ShipStation API v1 stand-in and its handle (see ``sandbox/README.md``)."""

    name = "shipstation"
    rate_limiter_class = FixedWindowRateLimiter

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self._next_webhook_id = 41_000
        super().__init__()
        self.webhooks = WebhookDispatcher(self.event_log)

    # -- framework hooks ------------------------------------------------------------------------

    def reset_state(self) -> None:
        self.accounts.clear()

    def api_path(self, request: Request) -> str:
        return request.path.lower()

    def authenticate(self, request: Request) -> tuple[str | None, Response | None]:
        auth = request.authorization
        key = auth.username if auth is not None and auth.type == "basic" else None
        account = self.accounts.get(key) if key is not None else None
        if (
            auth is None
            or account is None
            or account.expired
            or auth.password is None
            or not hmac.compare_digest(auth.password.encode(), account.secret.encode())
        ):
            return key, Response(_UNAUTHORIZED_PAGE, status=401, content_type="text/html")
        return key, None

    def error_response(self, status: int, message: str) -> Response:
        if status == 401:
            return Response(_UNAUTHORIZED_PAGE, status=401, content_type="text/html")
        if status >= 500:
            return json_response(
                {
                    "Message": "An error has occurred.",
                    "ExceptionMessage": message,
                    "ExceptionType": "System.Exception",
                    "StackTrace": None,
                },
                status,
            )
        return json_response({"Message": message}, status)

    def fault_server_error(self, rule: FaultRule) -> Response:
        return self.error_response(
            500, "Object reference not set to an instance of an object. (injected fault)"
        )

    def rate_limited_response(self, decision: RateLimitDecision) -> Response:
        return json_response({"message": "Too Many Requests"}, 429)

    def _invalid(self, exc: InvalidParameter) -> Response:
        return json_response(
            {"Message": "The request is invalid.", "ModelState": {exc.name: [exc.message]}}, 400
        )

    def api_rules(self) -> list[Rule]:
        # Matched against the lower-cased path (see api_path).
        return [
            Rule("/stores", endpoint="api_stores", methods=["GET"]),
            Rule("/accounts/listtags", endpoint="api_tags", methods=["GET"]),
            Rule("/orders", endpoint="api_orders", methods=["GET"]),
            Rule("/shipments", endpoint="api_shipments", methods=["GET"]),
            Rule("/fulfillments", endpoint="api_fulfillments", methods=["GET"]),
            Rule("/webhooks", endpoint="api_webhooks", methods=["GET"]),
            Rule("/webhooks/subscribe", endpoint="api_webhook_subscribe", methods=["POST"]),
            Rule("/webhooks/<int:webhook_id>", endpoint="api_webhook_delete", methods=["DELETE"]),
            *self.realism_api_rules(),
            *self.catalog_api_rules(),
        ]
