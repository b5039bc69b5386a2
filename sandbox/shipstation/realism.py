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
- Labels can have ``orderId: null`` (bought in quick ship, no order), a ``shipDate`` after
  their create date, and ``advancedOptions.billToParty`` of ``recipient`` or ``third_party``
  (v1 Advanced Options model: ``my_account``, ``my_other_account``, ``recipient``,
  ``third_party``): the carrier bills someone else.
- Merges: the orders merged into another vanish from every list and ``GET /orders/{id}``
  answers 404; the surviving order gets ``advancedOptions.mergedOrSplit: true`` and
  ``mergedIds`` (docs: Advanced Options model, read-only fields); only open orders merge.
- The rate limit is a fixed window per key pair: ``X-Rate-Limit-Reset`` is "the number of
  seconds remaining until the next window begins" (ShipStation's v1 requirements page, quoted
  in joecampo/laravel-shipstation PR #19, whose trace shows Reset counting down 22, 20, ...
  while Remaining drops by one a request). The 40-a-minute budget belongs to the key pair,
  shared by every app using it: the "other app" knob spends part of each window, spread
  evenly, so a client meets 429s with requests left in its own count. The 429 body is
  ``{"message": "Too Many Requests"}`` (SkuVault's ``WebRequestServices.IsRequestThrottled``
  looks for that text and reads ``X-Rate-Limit-Reset``, 60 s when absent).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.framework import RequestContext, control_body, json_loads, json_response

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

    def add_orderless_label(
        self,
        key: str,
        *,
        store_id: int | None = None,
        shipment_cost: Any = None,
        carrier_code: str | None = None,
        service_code: str | None = None,
        bill_to_party: str | None = None,
        ship_date: Any = None,
        at: Any = None,
    ) -> dict[str, Any]:
        """A label bought now without an order (quick ship: ``orderId`` null); SHIP_NOTIFY."""
        from sandbox.shipstation.account import now_millis
        from sandbox.shipstation.params import _parse_at, _parse_day

        moment = _parse_at(at) or now_millis()
        with self.lock:
            account = self.account(key)
            label = account.add_orderless_label(
                at=moment,
                store_id=store_id,
                shipment_cost=None if shipment_cost is None else Decimal(shipment_cost),
                carrier_code=carrier_code,
                service_code=service_code,
                bill_to_party=bill_to_party,
                ship_date=_parse_day(ship_date),
            )
            self._notify(account, "SHIP_NOTIFY", label.store_id, [label.shipment_id])
            return json_loads(account.shipment_bytes(label.shipment_id, True))

    def merge_orders(
        self, key: str, primary_id: int, secondary_ids: list[int], *, at: Any = None
    ) -> dict[str, Any]:
        """Merge open orders into ``primary_id`` (see ``Account.merge_orders``). ShipStation
        sends no webhook for it (ORDER_NOTIFY is for new orders)."""
        from sandbox.shipstation.account import now_millis
        from sandbox.shipstation.params import _parse_at

        moment = _parse_at(at) or now_millis()
        with self.lock:
            account = self.account(key)
            account.merge_orders(primary_id, [int(i) for i in secondary_ids], at=moment)
            return json_loads(account.order_bytes(primary_id))

    def split_order(
        self, key: str, order_id: int, item_ids: list[int], *, at: Any = None
    ) -> dict[str, Any]:
        """Split the lines ``item_ids`` off an open order into a new order (see
        ``splits.split_order``); returns the new part. No webhook (ORDER_NOTIFY is for new
        orders imported from a store)."""
        from sandbox.shipstation.account import now_millis
        from sandbox.shipstation.params import _parse_at
        from sandbox.shipstation.splits import split_order

        moment = _parse_at(at) or now_millis()
        with self.lock:
            account = self.account(key)
            part = split_order(account, order_id, [int(i) for i in item_ids], at=moment)
            return json_loads(account.order_bytes(part.order_id))

    def add_fulfillment(
        self,
        key: str,
        order_id: int,
        *,
        fee: Any = None,
        provider: str | None = "shipbob",
        at: Any = None,
    ) -> dict[str, Any]:
        """Mark an order shipped by a fulfillment provider with ``fulfillmentFee`` ``fee``."""
        from sandbox.shipstation.account import now_millis
        from sandbox.shipstation.fulfillments import add_fulfillment
        from sandbox.shipstation.params import _parse_at

        moment = _parse_at(at) or now_millis()
        with self.lock:
            account = self.account(key)
            f = add_fulfillment(
                account,
                order_id,
                at=moment,
                provider=provider,
                fee=None if fee is None else Decimal(str(fee)),
            )
            return json_loads(account.fulfillment_bytes(f.fulfillment_id))

    def void_fulfillment(self, key: str, fulfillment_id: int, *, at: Any = None) -> dict[str, Any]:
        """Void a fulfillment (its fee is no longer owed). No webhook."""
        from sandbox.shipstation.account import now_millis
        from sandbox.shipstation.fulfillments import void_fulfillment
        from sandbox.shipstation.params import _parse_at

        moment = _parse_at(at) or now_millis()
        with self.lock:
            account = self.account(key)
            void_fulfillment(account, fulfillment_id, at=moment)
            return json_loads(account.fulfillment_bytes(fulfillment_id))

    def set_other_app_usage(self, key: str, requests_per_window: int) -> None:
        """Another app uses this key pair: ``requests_per_window`` of each window's budget,
        spread evenly over the window (0 stops it)."""
        self.account(key)
        self.rate_limiter.set_other_usage(key, int(requests_per_window))

    def rate_windows(self, key: str) -> list[dict[str, Any]]:
        """Every rate-limit window of the key pair so far: ``start`` (monotonic seconds),
        ``ours`` and ``rejected`` (the client's admitted and 429ed requests), ``others``
        (the other app's admitted requests)."""
        return self.rate_limiter.windows(key)

    # -- control API ----------------------------------------------------------------------------

    def realism_control_rules(self) -> list[Rule]:
        return [
            Rule(
                "/accounts/<key>/orders/<int:order_id>/poison",
                endpoint="control_poison_order",
                methods=["POST"],
            ),
            Rule("/accounts/<key>/other-app", endpoint="control_other_app", methods=["GET", "PUT"]),
            Rule("/accounts/<key>/labels", endpoint="control_orderless_label", methods=["POST"]),
            Rule(
                "/accounts/<key>/orders/<int:order_id>/merge",
                endpoint="control_merge_orders",
                methods=["POST"],
            ),
            Rule(
                "/accounts/<key>/orders/<int:order_id>/fulfillments",
                endpoint="control_add_fulfillment",
                methods=["POST"],
            ),
            Rule(
                "/accounts/<key>/fulfillments/<int:fulfillment_id>/void",
                endpoint="control_void_fulfillment",
                methods=["POST"],
            ),
            Rule(
                "/accounts/<key>/orders/<int:order_id>/split",
                endpoint="control_split_order",
                methods=["POST"],
            ),
        ]

    def control_poison_order(self, request: Request, key: str, order_id: int) -> Any:
        poisoned = bool(control_body(request).get("poisoned", True))
        self.poison_order(key, order_id, poisoned)
        return {"orderId": order_id, "poisoned": poisoned}

    def control_other_app(self, request: Request, key: str) -> Any:
        if request.method == "PUT":
            body = control_body(request)
            self.set_other_app_usage(key, int(body.get("requests_per_window", 0)))
        else:
            self.account(key)
        return {
            "requests_per_window": self.rate_limiter.other_usage(key),
            "windows": self.rate_windows(key),
        }

    def control_orderless_label(self, request: Request, key: str) -> Any:
        body = control_body(request)
        label = self.add_orderless_label(
            key,
            store_id=body.get("storeId"),
            shipment_cost=body.get("shipmentCost"),
            carrier_code=body.get("carrierCode"),
            service_code=body.get("serviceCode"),
            bill_to_party=body.get("billToParty"),
            ship_date=body.get("shipDate"),
            at=body.get("at"),
        )
        return json_response(label, 201)

    def control_merge_orders(self, request: Request, key: str, order_id: int) -> Any:
        body = control_body(request)
        return self.merge_orders(key, order_id, list(body.get("orderIds") or []), at=body.get("at"))

    def control_split_order(self, request: Request, key: str, order_id: int) -> Any:
        body = control_body(request)
        part = self.split_order(
            key, order_id, list(body.get("orderItemIds") or []), at=body.get("at")
        )
        return json_response(part, 201)

    def control_add_fulfillment(self, request: Request, key: str, order_id: int) -> Any:
        body = control_body(request)
        made = self.add_fulfillment(
            key,
            order_id,
            fee=body.get("fulfillmentFee"),
            provider=body.get("fulfillmentProviderCode", "shipbob"),
            at=body.get("at"),
        )
        return json_response(made, 201)

    def control_void_fulfillment(self, request: Request, key: str, fulfillment_id: int) -> Any:
        return self.void_fulfillment(key, fulfillment_id, at=control_body(request).get("at"))
