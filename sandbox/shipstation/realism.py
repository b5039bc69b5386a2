"""ShipStation as it really behaves where it is unkind (issue 16): single-order reads, orders
ShipStation fails on, and the knobs that switch these on.

Sources (see ``shared/reference/shipstation-v1.md``):

- ``GET /orders/{orderId}`` answers one order object, not a list envelope (docs, "Get order",
  ``apis/shipstation-v1/openapi/orders/get_order``); an id the account does not hold (never
  existed, or merged away) answers 404. The 404 body is assumed to be ASP.NET's
  ``{"Message": ...}`` like the stand-in's other errors (not documented).
- A single order can make every list page that contains it answer HTTP 500, whatever the page
  size: production clients isolate it by halving the page size down to 1 and skipping that
  one position (SkuVault's ``shipStationAccess``, ``V2/ShipStationService.cs``
  ``DownloadOrdersAsync`` with ``V2/Misc/PageSizeAdjuster.cs``; only a 500 is treated so,
  ``WebRequestServices.CanSkipException``). The stand-in's "poison" knob models it: while
  an order is poisoned, every ``/orders`` page whose records include it, and ``GET
  /orders/{id}`` of it, answer 500 with the .NET error body.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.framework import RequestContext, control_body

POISON_MESSAGE = "Object reference not set to an instance of an object."


class RealismMixin:
    """Endpoints and knobs of :class:`~sandbox.shipstation.app.ShipStationSandbox` that model
    ShipStation's rough edges. Mixed into the stand-in; uses its lock, accounts and error
    bodies."""

    # -- API ------------------------------------------------------------------------------------

    def realism_api_rules(self) -> list[Rule]:
        return [Rule("/orders/<int:order_id>", endpoint="api_order_get", methods=["GET"])]

    def api_order_get(self, request: Request, ctx: RequestContext, order_id: int) -> Response:
        with self.lock:
            account = self._account(ctx)
            if order_id in account.poisoned:
                return self.error_response(500, POISON_MESSAGE)
            if order_id not in account.orders.records:
                return self.error_response(404, f"Order not found: {order_id}")
            body = account.order_bytes(order_id)
        return Response(body, status=200, content_type="application/json; charset=utf-8")

    def poisoned_page(self, account: Any, ids: list[int]) -> Response | None:
        """The 500 a list page gets when one of its records is poisoned (else None)."""
        if account.poisoned and not account.poisoned.isdisjoint(ids):
            return self.error_response(500, POISON_MESSAGE)
        return None

    # -- Python handle --------------------------------------------------------------------------

    def poison_order(self, key: str, order_id: int, poisoned: bool = True) -> None:
        """Make ShipStation fail on this order (every page containing it answers 500), or, with
        ``poisoned=False``, recover from it."""
        with self.lock:
            account = self.account(key)
            account._order(order_id)  # 404 for an unknown order
            if poisoned:
                account.poisoned.add(order_id)
            else:
                account.poisoned.discard(order_id)

    # -- control API ----------------------------------------------------------------------------

    def realism_control_rules(self) -> list[Rule]:
        return [
            Rule(
                "/accounts/<key>/orders/<int:order_id>/poison",
                endpoint="control_poison_order",
                methods=["POST"],
            ),
        ]

    def control_poison_order(self, request: Request, key: str, order_id: int) -> Any:
        poisoned = bool(control_body(request).get("poisoned", True))
        self.poison_order(key, order_id, poisoned)
        return {"orderId": order_id, "poisoned": poisoned}
