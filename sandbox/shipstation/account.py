"""One ShipStation account (one API key pair): its records, indexes, caches and mutations.

Not thread-safe on its own: the stand-in calls it under its lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sandbox.framework import ControlError
from sandbox.generator import MerchantGenerator, money
from sandbox.indexing import Collection, time_key
from sandbox.shipstation import fastwire
from sandbox.shipstation.dates import PACIFIC
from sandbox.shipstation.models import (
    ORDER_STATUSES,
    ZERO,
    Address,
    Fulfillment,
    MerchantData,
    Order,
    OrderItem,
    Shipment,
    Store,
    Webhook,
)


def _opt_key(moment: datetime | None) -> int | None:
    return None if moment is None else time_key(moment)


def _day_key(day: date) -> int:
    # A ship date is a Pacific calendar day; its key is that day's Pacific midnight, so a
    # filter "shipDateStart=2024-05-02" (also Pacific midnight) compares like for like.
    return time_key(datetime.combine(day, time(), tzinfo=PACIFIC).astimezone(UTC))


ORDER_KEYS = {
    "orderDate": lambda o: time_key(o.order_date),
    "createDate": lambda o: time_key(o.create_date),
    "modifyDate": lambda o: time_key(o.modify_date),
    "paymentDate": lambda o: _opt_key(o.payment_date),
}
SHIPMENT_KEYS = {
    "createDate": lambda s: time_key(s.create_date),
    "shipDate": lambda s: _day_key(s.ship_date),
    "voidDate": lambda s: _opt_key(s.void_date),
}
FULFILLMENT_KEYS = {
    "createDate": lambda f: time_key(f.create_date),
    "shipDate": lambda f: _day_key(f.ship_date),
}


def now_millis() -> datetime:
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class Account:
    def __init__(
        self,
        *,
        key: str,
        secret: str,
        data: MerchantData,
        generator: MerchantGenerator,
        orders_requested: int,
        days: int,
    ) -> None:
        self.key = key
        self.secret = secret
        self.expired = False
        self.generator = generator
        self.seller_id = data.seller_id
        self.days = days
        self.orders_requested = orders_requested
        self.stores: dict[int, Store] = {s.store_id: s for s in data.stores}
        self.tags = list(data.tags)
        self.orders: Collection[Order] = Collection(ORDER_KEYS)
        self.orders.load((o.order_id, o) for o in data.orders)
        self.shipments: Collection[Shipment] = Collection(SHIPMENT_KEYS)
        self.shipments.load((s.shipment_id, s) for s in data.shipments)
        self.fulfillments: Collection[Fulfillment] = Collection(FULFILLMENT_KEYS)
        self.fulfillments.load((f.fulfillment_id, f) for f in data.fulfillments)
        self.shipments_by_order: dict[int, list[int]] = {}
        for s in data.shipments:
            self.shipments_by_order.setdefault(s.order_id, []).append(s.shipment_id)
        self.fulfillments_by_order: dict[int, list[int]] = {}
        for f in data.fulfillments:
            self.fulfillments_by_order.setdefault(f.order_id, []).append(f.fulfillment_id)
        self.mismatched: dict[int, str] = dict(data.mismatched)
        self.order_batches: dict[str, list[int]] = {}
        self.shipment_batches: dict[str, list[int]] = {}
        self.webhooks: dict[int, Webhook] = {}
        # Orders ShipStation fails on: every list page containing one answers 500, and so
        # does ``GET /orders/{id}`` of it (see ``realism.py``).
        self.poisoned: set[int] = set()
        # What ``realistic.apply_realism`` changed (ids per kind), when it ran.
        self.realism: dict[str, list[int]] = {}
        # Serialised records: a page of 500 is then a join of cached bytes. Filled lazily so
        # seeding stays fast; dropped for a record whenever it changes.
        self._order_json: dict[int, bytes] = {}
        self._shipment_json: dict[tuple[int, bool], bytes] = {}
        self._fulfillment_json: dict[int, bytes] = {}

    # -- serialised views -----------------------------------------------------------------------

    def order_bytes(self, order_id: int) -> bytes:
        cached = self._order_json.get(order_id)
        if cached is None:
            cached = fastwire.order(self.orders.records[order_id]).encode()
            self._order_json[order_id] = cached
        return cached

    def shipment_bytes(self, shipment_id: int, include_items: bool) -> bytes:
        cached = self._shipment_json.get((shipment_id, include_items))
        if cached is None:
            record = self.shipments.records[shipment_id]
            cached = fastwire.shipment(record, include_items=include_items).encode()
            self._shipment_json[(shipment_id, include_items)] = cached
        return cached

    def fulfillment_bytes(self, fulfillment_id: int) -> bytes:
        cached = self._fulfillment_json.get(fulfillment_id)
        if cached is None:
            cached = fastwire.fulfillment(self.fulfillments.records[fulfillment_id]).encode()
            self._fulfillment_json[fulfillment_id] = cached
        return cached

    def meta(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "seller_id": self.seller_id,
            "seed": self.generator.seed,
            "generated_now": self.generator.now.isoformat(),
            "days": self.days,
            "expired": self.expired,
            "stores": [
                {
                    "storeId": s.store_id,
                    "storeName": s.store_name,
                    "marketplaceName": s.marketplace_name,
                    "active": s.active,
                }
                for s in self.stores.values()
            ],
            "order_count": len(self.orders),
            "shipment_count": len(self.shipments),
            "fulfillment_count": len(self.fulfillments),
            "mismatched_order_ids": sorted(self.mismatched),
            "mismatch_reasons": {str(k): v for k, v in sorted(self.mismatched.items())},
            "webhook_count": len(self.webhooks),
            "poisoned_order_ids": sorted(self.poisoned),
        }

    # -- mutations ("now") ----------------------------------------------------------------------

    def _order(self, order_id: int) -> Order:
        try:
            return self.orders.records[order_id]
        except KeyError:
            raise ControlError(f"order {order_id} not found in account {self.key}", 404) from None

    def _track_payment(self, order: Order, reason: str) -> None:
        if order.amount_paid == order.order_total:
            self.mismatched.pop(order.order_id, None)
        else:
            self.mismatched.setdefault(order.order_id, reason)

    def add_order(
        self,
        *,
        at: datetime,
        store_id: int | None = None,
        status: str = "awaiting_shipment",
        order_date: datetime | None = None,
        items: list[Mapping[str, Any]] | None = None,
        shipping_amount: Decimal | None = None,
        amount_paid: Decimal | None = None,
        customer_name: str | None = None,
        order_number: str | None = None,
        order_total: Decimal | None = None,
    ) -> Order:
        if status not in ORDER_STATUSES:
            raise ControlError(f"orderStatus must be one of {', '.join(ORDER_STATUSES)}")
        store = None
        if store_id is not None:
            store = self.stores.get(store_id)
            if store is None:
                raise ControlError(f"store {store_id} not in account {self.key}")
        gen = self.generator
        order, _ = gen.new_order(
            order_date=(order_date or at).replace(microsecond=0),
            create_date=at,
            status=status,
            store=store,
            random_mismatch=False,
        )
        if items is not None:
            order.items = [self._item_from_spec(spec, at) for spec in items]
        if shipping_amount is not None:
            order.shipping_amount = money(shipping_amount)
        if order_total is not None:
            if order.items:
                raise ControlError("orderTotal is given only for an order without items")
            order.unitemised_total = money(order_total) - order.shipping_amount
        if customer_name is not None:
            order.ship_to.name = customer_name
            order.bill_to.name = customer_name
        if order_number is not None:
            order.order_number = order_number
        if amount_paid is not None:
            order.amount_paid = money(amount_paid)
        elif status != "awaiting_payment":
            order.amount_paid = order.order_total
        self._track_payment(order, "awaiting_payment" if status == "awaiting_payment" else "edited")
        self.orders.add(order.order_id, order)
        return order

    def _item_from_spec(self, spec: Mapping[str, Any], at: datetime) -> OrderItem:
        gen = self.generator
        gen._next_item_id += 1
        unit_price = money(spec.get("unitPrice", "10.00"))
        adjustment = bool(spec.get("adjustment", unit_price < 0))
        tax = spec.get("taxAmount")
        return OrderItem(
            order_item_id=gen._next_item_id,
            line_item_key=spec.get("lineItemKey", "discount" if adjustment else None),
            sku=spec.get("sku"),
            name=str(spec.get("name") or spec.get("sku") or "Item"),
            image_url=None,
            weight_oz=None if adjustment else Decimal("8"),
            quantity=int(spec.get("quantity", 1)),
            unit_price=unit_price,
            tax_amount=None if tax is None else money(tax),
            shipping_amount=money(spec.get("shippingAmount", ZERO)),
            warehouse_location=None,
            options=(),
            product_id=None,
            fulfillment_sku=None,
            adjustment=adjustment,
            upc=None,
            create_date=at,
            modify_date=at,
        )

    _EDITABLE = {
        "orderStatus",
        "internalNotes",
        "customerNotes",
        "amountPaid",
        "shippingAmount",
        "tagIds",
        "shipTo",
        "billTo",
        "customerEmail",
        "gift",
        "giftMessage",
        "requestedShippingService",
    }
    _ADDRESS_FIELDS = {
        "name": "name",
        "company": "company",
        "street1": "street1",
        "street2": "street2",
        "street3": "street3",
        "city": "city",
        "state": "state",
        "postalCode": "postal_code",
        "country": "country",
        "phone": "phone",
        "residential": "residential",
    }

    def edit_order(self, order_id: int, changes: Mapping[str, Any], *, at: datetime) -> Order:
        unknown = set(changes) - self._EDITABLE
        if unknown:
            raise ControlError(
                f"cannot edit {', '.join(sorted(unknown))}; editable: "
                + ", ".join(sorted(self._EDITABLE))
            )
        order = self._order(order_id)
        before = self.orders.keys_of(order)
        for name, value in changes.items():
            if name == "orderStatus":
                if value not in ORDER_STATUSES:
                    raise ControlError(f"orderStatus must be one of {', '.join(ORDER_STATUSES)}")
                order.status = value
                if value != "awaiting_payment" and order.payment_date is None:
                    order.payment_date = at
            elif name == "amountPaid":
                order.amount_paid = money(value)
            elif name == "shippingAmount":
                order.shipping_amount = money(value)
            elif name == "tagIds":
                order.tag_ids = None if value is None else tuple(int(t) for t in value)
            elif name in ("shipTo", "billTo"):
                current = order.ship_to if name == "shipTo" else order.bill_to
                # Copy: billTo and shipTo may be the same object for web-store orders.
                fields = {a: getattr(current, a) for a in Address.__slots__}  # type: ignore[attr-defined]
                for wire_name, attr in self._ADDRESS_FIELDS.items():
                    if wire_name in value:
                        fields[attr] = value[wire_name]
                replacement = Address(**fields)
                if name == "shipTo":
                    order.ship_to = replacement
                else:
                    order.bill_to = replacement
            else:
                attr = {
                    "internalNotes": "internal_notes",
                    "customerNotes": "customer_notes",
                    "customerEmail": "customer_email",
                    "gift": "gift",
                    "giftMessage": "gift_message",
                    "requestedShippingService": "requested_shipping_service",
                }[name]
                setattr(order, attr, value)
        order.modify_date = at
        self._track_payment(order, "edited")
        self.orders.reindex(order_id, before)
        self._order_json.pop(order_id, None)
        return order

    def add_label(
        self,
        order_id: int,
        *,
        at: datetime,
        shipment_cost: Decimal | None = None,
        insurance_cost: Decimal | None = None,
        carrier_code: str | None = None,
        service_code: str | None = None,
        is_return: bool = False,
        bill_to_party: str | None = None,
        ship_date: date | None = None,
    ) -> Shipment:
        order = self._order(order_id)
        label = self.generator.new_label(
            order,
            at=at,
            is_return=is_return,
            shipment_cost=None if shipment_cost is None else money(shipment_cost),
            insurance_cost=None if insurance_cost is None else money(insurance_cost),
            carrier_code=carrier_code,
            service_code=service_code,
        )
        label.bill_to_party = bill_to_party
        if ship_date is not None:
            label.ship_date = ship_date
        self.shipments.add(label.shipment_id, label)
        self.shipments_by_order.setdefault(order_id, []).append(label.shipment_id)
        before = self.orders.keys_of(order)
        if not is_return:
            order.status = "shipped"
        self.generator.apply_labels_to_order(order, self._labels_of(order_id))
        order.modify_date = at
        self.orders.reindex(order_id, before)
        self._order_json.pop(order_id, None)
        return label

    def add_orderless_label(
        self,
        *,
        at: datetime,
        store_id: int | None = None,
        shipment_cost: Decimal | None = None,
        carrier_code: str | None = None,
        service_code: str | None = None,
        bill_to_party: str | None = None,
        ship_date: date | None = None,
    ) -> Shipment:
        """A label bought without an order (ShipStation's quick ship): ``orderId``,
        ``orderKey`` and ``orderNumber`` are null."""
        if not self.orders.records:
            raise ControlError("the account needs an order to model a quick-ship label on")
        template = next(iter(self.orders.records.values()))
        label = self.generator.new_label(
            template,
            at=at,
            items=(),
            shipment_cost=None if shipment_cost is None else money(shipment_cost),
            insurance_cost=ZERO,
            carrier_code=carrier_code,
            service_code=service_code,
        )
        label.order_id = label.order_key = label.order_number = None
        label.customer_email = None
        label.store_id = store_id if store_id is not None else template.store_id
        label.bill_to_party = bill_to_party
        if ship_date is not None:
            label.ship_date = ship_date
        self.shipments.add(label.shipment_id, label)
        return label

    MERGEABLE = ("awaiting_payment", "awaiting_shipment", "on_hold")

    def merge_orders(self, primary_id: int, secondary_ids: list[int], *, at: datetime) -> Order:
        """Combine open orders as a ShipStation user does: the primary takes the others'
        items, shipping and payment and lists them in ``mergedIds``; the others vanish (not
        in any list, ``GET /orders/{id}`` answers 404)."""
        primary = self._order(primary_id)
        others = [self._order(i) for i in secondary_ids if i != primary_id]
        if not others:
            raise ControlError("name at least one other order to merge")
        for order in (primary, *others):
            if order.status not in self.MERGEABLE:
                raise ControlError(
                    f"order {order.order_id} is {order.status}; only open orders merge"
                )
        before = self.orders.keys_of(primary)
        for other in others:
            primary.items = [*primary.items, *other.items]
            primary.shipping_amount = money(primary.shipping_amount + other.shipping_amount)
            primary.amount_paid = money(primary.amount_paid + other.amount_paid)
            self.orders.discard(other.order_id)
            self._order_json.pop(other.order_id, None)
            self.mismatched.pop(other.order_id, None)
        primary.merged_or_split = True
        primary.merged_ids = (*primary.merged_ids, *(o.order_id for o in others))
        primary.modify_date = at
        self._track_payment(primary, "edited")
        self.orders.reindex(primary_id, before)
        self._order_json.pop(primary_id, None)
        return primary

    def _labels_of(self, order_id: int) -> list[Shipment]:
        return [self.shipments.records[i] for i in self.shipments_by_order.get(order_id, [])]

    def void_label(self, shipment_id: int, *, at: datetime) -> Shipment:
        try:
            label = self.shipments.records[shipment_id]
        except KeyError:
            raise ControlError(
                f"shipment {shipment_id} not found in account {self.key}", 404
            ) from None
        if label.voided:
            raise ControlError(f"shipment {shipment_id} is already voided", 409)
        before_label = self.shipments.keys_of(label)
        label.voided = True
        label.void_date = at
        self.shipments.reindex(shipment_id, before_label)
        self._shipment_json.pop((shipment_id, False), None)
        self._shipment_json.pop((shipment_id, True), None)
        order = self.orders.records.get(label.order_id)
        if order is not None:
            before = self.orders.keys_of(order)
            labels = self._labels_of(order.order_id)
            if not any(not s.voided and not s.is_return_label for s in labels):
                # ShipStation puts an order whose only label was voided back in the queue.
                if order.status == "shipped" and not self.fulfillments_by_order.get(order.order_id):
                    order.status = "awaiting_shipment"
                    order.ship_date = None
            else:
                self.generator.apply_labels_to_order(order, labels)
            order.modify_date = at
            self.orders.reindex(order.order_id, before)
            self._order_json.pop(order.order_id, None)
        return label

    def new_batch(self, kind: str, ids: list[int]) -> str:
        """An order import batch (a GUID, ``importBatch``) or a shipment batch (an integer,
        ``batchId``: real ones look like 144015674)."""
        if kind == "orders":
            batch = str(uuid.uuid4())
            self.order_batches[batch] = list(ids)
        else:
            batch = str(144_000_000 + len(self.shipment_batches) + 1)
            self.shipment_batches[batch] = list(ids)
        return batch
