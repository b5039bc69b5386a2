"""What a merchant sees and makes by hand, for tests that must not share the code's fixtures:
their ShipStation account read through its public API (as they would read it on screen), and
an order file typed the way a shop's export looks (one row per line, order columns left
empty on continuation rows)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal

import requests


@dataclass
class SeenLabel:
    shipment_id: int
    cost: Decimal  # shipmentCost + insuranceCost
    voided: bool
    is_return: bool


@dataclass
class SeenOrder:
    order_id: int
    number: str
    order_key: str
    store_id: int
    store_name: str
    order_date: str
    customer_name: str
    items: list[dict]
    shipping: Decimal
    tax: Decimal
    total: Decimal
    labels: list[SeenLabel] = field(default_factory=list)

    @property
    def label_cost(self) -> Decimal:
        return sum(
            (lb.cost for lb in self.labels if not lb.voided and not lb.is_return), Decimal("0")
        )


def _pages(base_url: str, key: str, secret: str, path: str, name: str, **params) -> list[dict]:
    found, page = [], 1
    while True:
        response = requests.get(
            f"{base_url}{path}",
            params={**params, "page": page, "pageSize": 500},
            auth=(key, secret),
            timeout=10,
        )
        response.raise_for_status()
        body = response.json(parse_float=Decimal)
        found.extend(body[name])
        if page >= body["pages"]:
            return found
        page += 1


def shipstation_account(base_url: str, key: str, secret: str) -> list[SeenOrder]:
    """Every order of the account with its labels, read through the public API."""
    stores = {
        s["storeId"]: s["storeName"]
        for s in requests.get(f"{base_url}/stores", auth=(key, secret), timeout=10).json()
    }
    orders = {}
    for o in _pages(base_url, key, secret, "/orders", "orders"):
        store_id = (o.get("advancedOptions") or {}).get("storeId")
        orders[o["orderId"]] = SeenOrder(
            order_id=o["orderId"],
            number=o["orderNumber"],
            order_key=o.get("orderKey") or "",
            store_id=store_id,
            store_name=stores.get(store_id, ""),
            order_date=o["orderDate"][:19].replace("T", " "),
            customer_name=(o.get("billTo") or {}).get("name") or "",
            items=[i for i in o.get("items") or [] if not i.get("adjustment")],
            shipping=Decimal(str(o.get("shippingAmount") or 0)),
            tax=Decimal(str(o.get("taxAmount") or 0)),
            total=Decimal(str(o.get("orderTotal") or 0)),
        )
    for s in _pages(base_url, key, secret, "/shipments", "shipments", includeShipmentItems="false"):
        order = orders.get(s.get("orderId"))
        if order is not None:
            order.labels.append(
                SeenLabel(
                    shipment_id=s["shipmentId"],
                    cost=Decimal(str(s.get("shipmentCost") or 0))
                    + Decimal(str(s.get("insuranceCost") or 0)),
                    voided=bool(s.get("voided")),
                    is_return=bool(s.get("isReturnLabel")),
                )
            )
    return list(orders.values())


def shop_export_csv(orders: list[SeenOrder], *, with_order_key: bool = False) -> bytes:
    """A shop's order export: header, one row per line; the second and later rows of an order
    carry only the order number and the line (store and date left empty)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    header = ["Order Number", "Order Date", "Store", "Customer Name", "SKU", "Item Name",
              "Quantity", "Unit Price", "Shipping Charged"]  # fmt: skip
    if with_order_key:
        header.append("Order Key")
    writer.writerow(header)
    for order in orders:
        fallback = [{"sku": "MISC", "name": "Item", "quantity": 1, "unitPrice": order.total}]
        for index, item in enumerate(order.items or fallback):
            first = index == 0
            row = [
                order.number,
                order.order_date if first else "",
                order.store_name if first else "",
                order.customer_name if first else "",
                item.get("sku") or "",
                item.get("name") or item.get("sku") or "Item",
                str(item.get("quantity") or 1),
                str(item.get("unitPrice") or "0"),
                str(order.shipping) if first else "",
            ]
            if with_order_key:
                row.append(order.order_key if first else "")
            writer.writerow(row)
    return out.getvalue().encode()
