"""Account endpoints of the ShipStation v1 stand-in beside the lists (issue 16): one store,
carriers, warehouses and orders by tag, with the shapes of ShipStation's docs.

Sources (``docs/reference/provider-facts.md``):

- ``GET /stores/{storeId}``: one store object, the shape of List Stores' entries (docs,
  "Get Store"); store timestamps are trimmed to milliseconds without trailing zeros
  (``"2017-03-01T13:57:49.033"``, agritheory/shipstation-client ``tests/api_data.py``).
- ``GET /carriers``: a bare array of ``{name, code, accountNumber, requiresFundedAccount,
  balance, nickname, shippingProviderId, primary}`` (docs, "List Carriers").
- ``GET /warehouses``: a bare array of ``{warehouseId, warehouseName, originAddress,
  returnAddress, createDate, isDefault}`` with 7-digit stamps (docs, "List Warehouses";
  agritheory ``tests/api_data.py``).
- ``GET /orders/listbytag``: ``orderStatus`` and ``tagId`` are both required (kjaenicke/
  shipstation-node ``src/types/resources/orders.ts``); the answer is the orders page
  envelope.
- Assumed, not documented: an unknown store answers 404 with the usual ``{"Message": ...}``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.framework import JsonPayload, RequestContext, json_bytes
from sandbox.shipstation import wire
from sandbox.shipstation.dates import format_timestamp
from sandbox.shipstation.models import ORDER_STATUSES

CARRIERS = (
    ("Stamps.com", "stamps_com", True, Decimal("152.37"), True),
    ("UPS by ShipStation", "ups_walleted", True, Decimal("0.00"), False),
    ("FedEx", "fedex", False, Decimal("0.00"), False),
    ("DHL Express by ShipStation", "dhl_express_worldwide", True, Decimal("0.00"), False),
)


def trimmed_timestamp(moment: Any) -> str | None:
    """A store's stamp as ShipStation writes it: milliseconds, trailing zeros dropped."""
    if moment is None:
        return None
    text = format_timestamp(moment)[:23].rstrip("0")
    return text[:-1] if text.endswith(".") else text


def store_body(store: Any) -> dict[str, Any]:
    body = wire.store(store)
    for name, attr in (
        ("refreshDate", "refresh_date"),
        ("lastRefreshAttempt", "last_refresh_attempt"),
        ("createDate", "create_date"),
        ("modifyDate", "modify_date"),
    ):
        body[name] = trimmed_timestamp(getattr(store, attr))
    return body


def _address(name: str) -> dict[str, Any]:
    return {
        "name": name, "company": "Unify Demo Goods", "street1": "2400 Nueces St",
        "street2": None, "street3": None, "city": "Austin", "state": "TX",
        "postalCode": "78705", "country": "US", "phone": "512-555-0100",
        "residential": False, "addressVerified": None,
    }  # fmt: skip


class CatalogMixin:
    """``/stores/{id}``, ``/carriers``, ``/warehouses`` and ``/orders/listbytag``."""

    def catalog_api_rules(self) -> list[Rule]:
        return [
            Rule("/stores/<int:store_id>", endpoint="api_store_get", methods=["GET"]),
            Rule("/carriers", endpoint="api_carriers", methods=["GET"]),
            Rule("/warehouses", endpoint="api_warehouses", methods=["GET"]),
            Rule("/orders/listbytag", endpoint="api_orders_by_tag", methods=["GET"]),
        ]

    def api_store_get(self, request: Request, ctx: RequestContext, store_id: int) -> Any:
        with self.lock:
            store = self._account(ctx).stores.get(store_id)
            if store is None:
                return self.error_response(404, f"Store not found: {store_id}")
            return JsonPayload(store_body(store))

    def api_carriers(self, request: Request, ctx: RequestContext) -> Any:
        with self.lock:
            account = self._account(ctx)
            base = account.generator.seller_id * 7
        return JsonPayload(
            [
                {
                    "name": name,
                    "code": code,
                    "accountNumber": f"{base + i:08d}" if own else None,
                    "requiresFundedAccount": funded,
                    "balance": balance,
                    "nickname": None,
                    "shippingProviderId": 100_000 + base % 10_000 * 10 + i,
                    "primary": own,
                }
                for i, (name, code, funded, balance, own) in enumerate(CARRIERS)
            ]
        )

    def api_warehouses(self, request: Request, ctx: RequestContext) -> Any:
        with self.lock:
            account = self._account(ctx)
            gen = account.generator
            created = min(s.create_date for s in account.stores.values())
            warehouse_id = gen.warehouse_id
        return JsonPayload(
            [
                {
                    "warehouseId": warehouse_id,
                    "warehouseName": "Main warehouse",
                    "originAddress": _address("Shipping dept."),
                    "returnAddress": _address("Returns dept."),
                    "createDate": format_timestamp(created),
                    "isDefault": True,
                }
            ]
        )

    def api_orders_by_tag(self, request: Request, ctx: RequestContext) -> Any:
        params = {k.lower(): v for k, v in request.args.items()}
        status, tag = params.get("orderstatus"), params.get("tagid")
        problems = {}
        if status is None or status not in ORDER_STATUSES:
            problems["orderStatus"] = [f"orderStatus must be one of {', '.join(ORDER_STATUSES)}."]
        if tag is None or not tag.strip().lstrip("-").isdigit():
            problems["tagId"] = ["The tagId field is required."]
        if problems:
            body = {"Message": "The request is invalid.", "ModelState": problems}
            return Response(json_bytes(body), status=400, content_type="application/json")
        try:
            page = max(1, int(params.get("page", "1")))
            page_size = min(500, max(1, int(params.get("pagesize", "100"))))
        except ValueError:
            page, page_size = 1, 100
        tag_id = int(tag)
        with self.lock:
            account = self._account(ctx)
            matching = [
                o
                for o in sorted(account.orders.records.values(), key=lambda o: o.order_id)
                if o.status == status and o.tag_ids and tag_id in o.tag_ids
            ]
            chunk = matching[(page - 1) * page_size : page * page_size]
            orders = b",".join(account.order_bytes(o.order_id) for o in chunk)
        pages = -(-len(matching) // page_size)
        body = b'{"orders":[%s],"total":%d,"page":%d,"pages":%d}' % (
            orders, len(matching), page, pages,
        )  # fmt: skip
        return Response(body, status=200, content_type="application/json; charset=utf-8")
