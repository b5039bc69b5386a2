"""The ShipStation stand-in's part of the control API under ``/__sandbox__/shipstation/``."""

from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request

from sandbox.framework import ControlError, control_body, json_response
from sandbox.shipstation.params import _parse_at


class ShipStationControlApi:
    """Control API part of :class:`~sandbox.shipstation.app.ShipStationSandbox`."""

    def control_rules(self) -> list[Rule]:
        return [
            Rule("/accounts", endpoint="control_accounts", methods=["GET", "POST"]),
            Rule("/accounts/<key>", endpoint="control_account", methods=["GET", "DELETE"]),
            Rule("/accounts/<key>/meta", endpoint="control_account_meta", methods=["GET"]),
            Rule("/accounts/<key>/expire", endpoint="control_expire", methods=["POST"]),
            Rule("/accounts/<key>/orders", endpoint="control_add_order", methods=["POST"]),
            Rule(
                "/accounts/<key>/orders/<int:order_id>",
                endpoint="control_order",
                methods=["GET", "PATCH"],
            ),
            Rule(
                "/accounts/<key>/orders/<int:order_id>/labels",
                endpoint="control_add_label",
                methods=["POST"],
            ),
            Rule(
                "/accounts/<key>/shipments/<int:shipment_id>",
                endpoint="control_shipment",
                methods=["GET"],
            ),
            Rule(
                "/accounts/<key>/shipments/<int:shipment_id>/void",
                endpoint="control_void_label",
                methods=["POST"],
            ),
            Rule("/webhooks/flush", endpoint="control_flush_webhooks", methods=["POST"]),
            *self.realism_control_rules(),
        ]

    def control_accounts(self, request: Request) -> Any:
        if request.method == "POST":
            body = control_body(request)
            if not body.get("key") or not body.get("secret"):
                raise ControlError("key and secret are required")
            account = self.add_account(
                str(body["key"]),
                str(body["secret"]),
                seed=int(body.get("seed", 0)),
                orders=int(body.get("orders", 0)),
                days=int(body.get("days", 45)),
                stores=int(body.get("stores", 5)),
                now=_parse_at(body.get("now")),
                realistic=bool(body.get("realistic", False)),
            )
            with self.lock:
                return json_response(account.meta(), 201)
        with self.lock:
            return {"accounts": [a.meta() for a in self.accounts.values()]}

    def control_account(self, request: Request, key: str) -> Any:
        if request.method == "DELETE":
            self.remove_account(key)
            return {"deleted": key}
        return self.account_meta(key)

    def control_account_meta(self, request: Request, key: str) -> Any:
        return self.account_meta(key)

    def control_expire(self, request: Request, key: str) -> Any:
        expired = bool(control_body(request).get("expired", True))
        self.expire_account(key, expired)
        return self.account_meta(key)

    def control_add_order(self, request: Request, key: str) -> Any:
        body = control_body(request)
        order = self.add_order(
            key,
            store_id=body.get("storeId"),
            status=body.get("orderStatus", "awaiting_shipment"),
            items=body.get("items"),
            shipping_amount=body.get("shippingAmount"),
            amount_paid=body.get("amountPaid"),
            customer_name=body.get("customerName"),
            order_number=body.get("orderNumber"),
            order_date=_parse_at(body.get("orderDate")),
            at=_parse_at(body.get("at")),
            order_total=body.get("orderTotal"),
        )
        return json_response(order, 201)

    def control_order(self, request: Request, key: str, order_id: int) -> Any:
        if request.method == "PATCH":
            body = control_body(request)
            at = _parse_at(body.pop("at", None))
            return self.edit_order(key, order_id, at=at, **body)
        return self.get_order(key, order_id)

    def control_add_label(self, request: Request, key: str, order_id: int) -> Any:
        body = control_body(request)
        label = self.add_label(
            key,
            order_id,
            shipment_cost=body.get("shipmentCost"),
            insurance_cost=body.get("insuranceCost"),
            carrier_code=body.get("carrierCode"),
            service_code=body.get("serviceCode"),
            is_return=bool(body.get("isReturnLabel", False)),
            at=_parse_at(body.get("at")),
            bill_to_party=body.get("billToParty"),
            ship_date=body.get("shipDate"),
        )
        return json_response(label, 201)

    def control_shipment(self, request: Request, key: str, shipment_id: int) -> Any:
        return self.get_shipment(key, shipment_id)

    def control_void_label(self, request: Request, key: str, shipment_id: int) -> Any:
        body = control_body(request)
        return self.void_label(key, shipment_id, at=_parse_at(body.get("at")))

    def control_flush_webhooks(self, request: Request) -> Any:
        return {"flushed": self.flush_webhooks(float(control_body(request).get("timeout", 10)))}
