"""Source contracts -> rows: the field mapping, the content hashes and the checks that keep a
single odd record from failing the database statement of its whole page.

Nothing here writes; :mod:`sales.services.upsert` does.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from connections.sources.base import SourceOrder, SourceOrderLine, SourceShipment
from sales.models import Order, OrderLine, OrderSource, ShippingCost

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Decimal(14, 2) and Decimal(14, 4) columns.
MAX_MONEY = Decimal("1e12")
MAX_QUANTITY = Decimal("1e10")
MAX_UNIT_PRICE = Decimal("1e10")
RAW_TEXT_LIMIT = 20_000

# PostgreSQL refuses NUL in text and jsonb, and an unpaired surrogate anywhere. A JSON dump
# (ensure_ascii) shows both as escapes, so one search over the dump we make anyway finds the
# rare record that needs cleaning (emoji, escaped as surrogate pairs, are cleaned harmlessly).
_SUSPECT_ESCAPE = re.compile(r"\\u0000|\\ud[89a-f]")


class RecordInvalid(ValueError):
    """A mapped record that cannot be stored as it is (the reason is for the merchant)."""


def money2(value: Decimal, *, field: str) -> Decimal:
    if not value.is_finite() or abs(value) >= MAX_MONEY:
        raise RecordInvalid(f"{field} is out of range: {value}")
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _dump(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":"))


def _digest(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _clean_text(value: str) -> str:
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def clean(value: Any) -> Any:
    """A JSON-like value PostgreSQL will store (NULs dropped, lone surrogates replaced)."""
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, dict):
        return {_clean_text(str(k)): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def text(value: str | None, limit: int) -> str:
    return _clean_text(value or "")[:limit]


def required_id(value: str | None, *, field: str, limit: int) -> str:
    result = _clean_text((value or "").strip())
    if not result:
        raise RecordInvalid(f"{field} is missing")
    if len(result) > limit:
        raise RecordInvalid(f"{field} is longer than {limit} characters")
    return result


def raw_for_storage(raw: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """(the raw record safe to store, its hash). One JSON dump serves both."""
    dumped = _dump(raw)
    if _SUSPECT_ESCAPE.search(dumped):
        cleaned = clean(dict(raw))
        return cleaned, _digest(_dump(cleaned))
    return dict(raw), _digest(dumped)


def raw_text(raw: Any) -> str:
    try:
        dumped = json.dumps(raw, cls=DjangoJSONEncoder, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        dumped = repr(raw)
    return _clean_text(dumped[:RAW_TEXT_LIMIT])


def _aware(moment: datetime | None, *, field: str) -> datetime | None:
    if moment is None:
        return None
    if timezone.is_naive(moment):
        raise RecordInvalid(f"{field} has no time zone")
    return moment


# ---------------------------------------------------------------------------------------------
# Orders
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class MappedOrder:
    order: Order  # unsaved; pk filled in by the writer
    lines: list[OrderLine]  # unsaved, order not set yet
    external_id: str
    store_external_id: str
    raw_hash: str
    content_hash: str
    lines_hash: str


def _line_row(line: SourceOrderLine, position: int) -> tuple[OrderLine, tuple]:
    quantity = line.quantity
    if not quantity.is_finite() or abs(quantity) >= MAX_QUANTITY:
        raise RecordInvalid(f"line {position}: quantity is out of range: {quantity}")
    unit_price = line.unit_price
    if not unit_price.is_finite() or abs(unit_price) >= MAX_UNIT_PRICE:
        raise RecordInvalid(f"line {position}: unit price is out of range: {unit_price}")
    quantity = quantity.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    unit_price = unit_price.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    tax = money2(line.tax_amount, field=f"line {position} tax")
    shipping = money2(line.shipping_amount, field=f"line {position} shipping")
    row = OrderLine(
        line_key=text(line.line_key, 200),
        position=position,
        sku=text(line.sku, 200),
        name=text(line.name, 500),
        quantity=quantity,
        unit_price=unit_price,
        tax=tax,
        shipping=shipping,
        is_adjustment=line.is_adjustment,
        is_discount=line.is_discount,
    )
    key = (
        row.line_key, row.sku, row.name, str(quantity), str(unit_price), str(tax), str(shipping),
        row.is_adjustment, row.is_discount,
    )  # fmt: skip
    return row, key


def order_amounts(source: SourceOrder) -> dict[str, Decimal]:
    """The order's amounts and its reconciliation (see :mod:`sales.models`)."""
    lines_subtotal = sum(
        (line.extended_price for line in source.lines if not line.is_discount), Decimal(0)
    )
    discount_total = source.discount_total
    expected = lines_subtotal - discount_total + source.shipping_amount + source.tax_amount
    return {
        "lines_subtotal": money2(lines_subtotal, field="lines subtotal"),
        "discount_total": money2(discount_total, field="discounts"),
        "tax_total": money2(source.tax_amount, field="taxAmount"),
        "shipping_charged": money2(source.shipping_amount, field="shippingAmount"),
        "order_total": money2(source.order_total, field="orderTotal"),
        "amount_paid": money2(source.amount_paid, field="amountPaid"),
        "reconciliation_difference": money2(
            source.amount_paid - expected, field="reconciliation difference"
        ),
    }


def map_order(
    source: SourceOrder,
    *,
    organization_id: int,
    connection_id: int | None,
    origin: str = OrderSource.SHIPSTATION,
    source_store_id: int | None,
    store_name: str,
    currency: str,
    synced_at: datetime,
) -> MappedOrder:
    external_id = required_id(source.external_id, field="order id", limit=64)
    number = required_id(source.number, field="order number", limit=100)
    order_key = text(source.order_key, 200)
    if len(_clean_text(source.order_key or "")) > 200:
        raise RecordInvalid("order key is longer than 200 characters")
    status = text(source.status, 40)
    amounts = order_amounts(source)
    lines: list[OrderLine] = []
    line_keys: list[tuple] = []
    for position, line in enumerate(source.lines, start=1):
        row, key = _line_row(line, position)
        lines.append(row)
        line_keys.append(key)
    raw, raw_hash = raw_for_storage(source.raw)
    order_date = _aware(source.order_date, field="order date")
    payment_date = _aware(source.payment_date, field="payment date")
    create_date = _aware(source.create_date, field="create date")
    modify_date = _aware(source.modify_date, field="modify date")
    ship_date: date | None = source.ship_date
    bill_to = clean(dict(source.bill_to))
    ship_to = clean(dict(source.ship_to))
    customer_name = text(source.customer_name, 300)
    customer_email = text(source.customer_email, 254)
    order_currency = text(source.currency or currency, 3) or currency
    lines_hash = _digest(repr(line_keys))
    content_hash = _digest(
        repr(
            (
                number, order_key, status, order_date, payment_date, ship_date, customer_name,
                customer_email, order_currency, sorted(amounts.items()), lines_hash,
                source.externally_fulfilled, source_store_id, _dump(bill_to), _dump(ship_to),
            )
        )
    )  # fmt: skip
    order = Order(
        organization_id=organization_id,
        connection_id=connection_id,
        source=origin,
        source_store_id=source_store_id,
        store_name=text(store_name, 200),
        external_id=external_id,
        order_key=order_key,
        number=number,
        status=status,
        order_date=order_date,
        payment_date=payment_date,
        create_date=create_date,
        modify_date=modify_date,
        ship_date=ship_date,
        customer_name=customer_name,
        customer_email=customer_email,
        bill_to=bill_to,
        ship_to=ship_to,
        currency=order_currency,
        items_count=sum(1 for line in source.lines if not line.is_adjustment),
        is_cancelled=status == "cancelled",
        externally_fulfilled=source.externally_fulfilled,
        raw=raw,
        raw_hash=raw_hash,
        content_hash=content_hash,
        lines_hash=lines_hash,
        last_synced_at=synced_at,
        **amounts,
    )
    store_external_id = "" if source.store_id is None else str(source.store_id)
    return MappedOrder(
        order=order,
        lines=lines,
        external_id=external_id,
        store_external_id=store_external_id,
        raw_hash=raw_hash,
        content_hash=content_hash,
        lines_hash=lines_hash,
    )


# Columns the import owns and rewrites when an order changed. Posting state, the ignore flag,
# label totals and ``changed_after_posting`` are deliberately absent: other code owns them.
ORDER_IMPORT_FIELDS = (
    "source", "source_store", "store_name", "order_key", "number", "status", "order_date",
    "payment_date", "create_date", "modify_date", "ship_date", "customer_name",
    "customer_email", "bill_to", "ship_to", "currency", "lines_subtotal", "discount_total",
    "tax_total", "shipping_charged", "order_total", "amount_paid", "reconciliation_difference",
    "items_count", "is_cancelled", "externally_fulfilled", "raw", "raw_hash", "content_hash",
    "lines_hash", "last_synced_at", "updated_at",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Label costs
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class MappedShipment:
    cost: ShippingCost
    external_id: str
    raw_hash: str


def map_shipment(
    source: SourceShipment, *, organization_id: int, connection_id: int, synced_at: datetime
) -> MappedShipment:
    external_id = required_id(source.external_id, field="shipment id", limit=64)
    raw, raw_hash = raw_for_storage(source.raw)
    cost = ShippingCost(
        organization_id=organization_id,
        connection_id=connection_id,
        external_id=external_id,
        order_external_id=text(source.order_id, 64),
        order_number=text(source.order_number, 100),
        order_key=text(source.order_key, 200),
        store_external_id="" if source.store_id is None else str(source.store_id)[:64],
        ship_date=source.ship_date,
        create_date=_aware(source.create_date, field="create date"),
        carrier=text(source.carrier, 60),
        service=text(source.service, 100),
        tracking_number=text(source.tracking_number, 200),
        cost=money2(source.cost, field="shipmentCost"),
        insurance=money2(source.insurance_cost, field="insuranceCost"),
        voided=source.voided,
        void_date=_aware(source.void_date, field="void date"),
        is_return=source.is_return,
        raw=raw,
        raw_hash=raw_hash,
        last_synced_at=synced_at,
    )
    return MappedShipment(cost=cost, external_id=external_id, raw_hash=raw_hash)


SHIPPING_COST_IMPORT_FIELDS = (
    "order_external_id", "order_number", "order_key", "store_external_id", "ship_date",
    "create_date", "carrier", "service", "tracking_number", "cost", "insurance", "voided",
    "void_date", "is_return", "raw", "raw_hash", "last_synced_at", "updated_at",
)  # fmt: skip
