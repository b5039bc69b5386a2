"""Source contracts -> rows: the field mapping, the content hashes and the checks that keep a
single odd record from failing the database statement of its whole page.

Nothing here writes; :mod:`sales.services.upsert` does.
"""

from __future__ import annotations

import functools
import hashlib
import json
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from connections.sources.base import RawRecord, SourceOrder, SourceOrderLine, SourceShipment
from sales.models import LabelStatus, Order, ShippingCost
from unify.core.money import line_places, sum_of_lines, to_cents
from unify.core.stored_text import gettext as _

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Decimal(14, 2) and Decimal(14, 4) columns.
MAX_MONEY = Decimal("1e12")
MAX_QUANTITY = Decimal("1e10")
MAX_UNIT_PRICE = Decimal("1e10")
RAW_TEXT_LIMIT = 20_000

# PostgreSQL refuses NUL in text and jsonb, and an unpaired surrogate anywhere. In the JSON
# dump we make anyway (not ASCII-escaped), a NUL shows as the escape ``\u0000`` and a lone
# surrogate as itself: one search finds the rare record that needs cleaning.
_SUSPECT = re.compile("\\\\u0000|[\ud800-\udfff]")


class RecordInvalid(ValueError):
    """A mapped record that cannot be stored as it is (the reason is for the merchant)."""


def money2(value: Decimal, *, field: str) -> Decimal:
    if not value.is_finite() or abs(value) >= MAX_MONEY:
        raise RecordInvalid(
            _("%(field)s is out of range: %(value)s") % {"field": field, "value": str(value)}
        )
    return to_cents(value)


def _dump(value: Any) -> str:
    # Parsed provider JSON holds only JSON types and Decimal; ``str`` writes a Decimal the way
    # DjangoJSONEncoder (the column's encoder) does, without its chain of type checks.
    return json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False)


def _dump_fast(value: Any) -> str:
    """``_dump``'s exact text, by orjson where it can (see ``raw_for_storage_text``)."""
    try:
        return orjson.dumps(value, default=str).decode("utf-8")
    except TypeError:  # a lone surrogate, an integer over 64 bits, a non-text key
        return _dump(value)


def _digest(text: str) -> str:
    return hashlib.md5(text.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()


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
        raise RecordInvalid(_("%(field)s is missing") % {"field": field})
    if len(result) > limit:
        raise RecordInvalid(
            _("%(field)s is longer than %(limit)s characters") % {"field": field, "limit": limit}
        )
    return result


def raw_for_storage_text(
    raw: Mapping[str, Any],
) -> tuple[Mapping[str, Any], str, str, bool]:
    """(the raw record safe to store, its hash, its JSON text, whether it needed cleaning).
    One JSON dump serves all of them; a ``RawRecord`` without escapes is its own text (the
    record itself is returned: the source-record field stores its text).

    orjson writes the same text as ``_dump`` (compact, UTF-8, a Decimal as its string)
    several times faster, and refuses a lone surrogate; a record with one of those or a NUL
    (which PostgreSQL will not store) takes the slow path and is cleaned."""
    if isinstance(raw, RawRecord) and b"\\u" not in raw.data:
        # The record's own text. Without escapes it has no NUL and no lone surrogate (JSON
        # forbids raw control characters, and the bytes are valid UTF-8).
        return raw, hashlib.md5(raw.data, usedforsecurity=False).hexdigest(), raw.text, False
    try:
        dumped = orjson.dumps(raw if isinstance(raw, dict) else dict(raw), default=str)
    except TypeError:  # orjson.JSONEncodeError: a lone surrogate, an integer over 64 bits
        dumped = None
    if dumped is None or b"\\u0000" in dumped:
        text_dump = _dump(raw)
        if _SUSPECT.search(text_dump):
            cleaned = clean(dict(raw))
            text_dump = _dump(cleaned)
            return cleaned, _digest(text_dump), text_dump, True
        return dict(raw), _digest(text_dump), text_dump, False
    return (
        dict(raw),
        hashlib.md5(dumped, usedforsecurity=False).hexdigest(),
        dumped.decode("utf-8"),
        False,
    )


def raw_text(raw: Any) -> str:
    if isinstance(raw, RawRecord):
        return _clean_text(raw.text[:RAW_TEXT_LIMIT])
    try:
        dumped = json.dumps(raw, cls=DjangoJSONEncoder, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        dumped = repr(raw)
    return _clean_text(dumped[:RAW_TEXT_LIMIT])


def _copy_text_of(moment: date | None) -> str | None:
    """A date or aware timestamp as the text ``COPY`` reads back as the same moment (it
    carries its offset). psycopg formats an aware datetime per row and column, slower than
    any other column; a record's own dates are formatted here where the page is mapped (the
    prefetch thread) instead of in the writing thread, which the database waits for."""
    if isinstance(moment, datetime) and timezone.is_naive(moment):
        raise ValueError("a timestamp for COPY needs its time zone")
    return None if moment is None else moment.isoformat()


# The stamps a whole page shares (written, synced): each formatted once, not once a row.
copy_timestamp = functools.lru_cache(maxsize=16)(_copy_text_of)


def _aware(moment: datetime | None, *, field: str) -> datetime | None:
    if moment is None or moment.tzinfo is UTC:
        return moment
    if timezone.is_naive(moment):
        raise RecordInvalid(_("%(field)s has no time zone") % {"field": field})
    return moment


# ---------------------------------------------------------------------------------------------
# Orders
# ---------------------------------------------------------------------------------------------

# Column order of a mapped order's values (model attribute names = database columns).
ORDER_COLUMNS = (
    "organization_id", "connection_id", "source", "source_store_id", "store_name", "external_id",
    "order_key", "number", "status", "order_date", "payment_date", "create_date", "modify_date",
    "ship_date", "customer_name", "customer_email", "bill_to", "ship_to", "currency",
    "lines_subtotal", "discount_total", "tax_total", "shipping_charged", "order_total",
    "amount_paid", "reconciliation_difference", "items_count", "is_cancelled",
    "externally_fulfilled", "raw", "raw_hash", "content_hash", "lines_hash", "last_synced_at",
    "label_cost_total", "return_label_cost_total", "label_status",
)  # fmt: skip
_order_row = operator.itemgetter(*ORDER_COLUMNS)  # values -> the row's tuple, in C
LINE_COLUMNS = (
    "line_key", "position", "sku", "name", "quantity", "unit_price", "tax", "shipping",
    "is_adjustment", "is_discount",
)  # fmt: skip

# Columns the import owns and rewrites when an order changed. Posting state, the ignore flag
# and ``changed_after_posting`` are deliberately absent: other code owns them.
ORDER_IMPORT_FIELDS = (
    "source", "source_store", "store_name", "order_key", "number", "status", "order_date",
    "payment_date", "create_date", "modify_date", "ship_date", "customer_name",
    "customer_email", "bill_to", "ship_to", "currency", "lines_subtotal", "discount_total",
    "tax_total", "shipping_charged", "order_total", "amount_paid", "reconciliation_difference",
    "items_count", "is_cancelled", "externally_fulfilled", "raw", "raw_hash", "content_hash",
    "lines_hash", "last_synced_at", "label_cost_total", "return_label_cost_total",
    "label_status", "updated_at",
)  # fmt: skip


def label_status_for(*, has_outbound_label: bool, status: str, externally_fulfilled: bool) -> str:
    """Bought a label in the source; or shipped without one (no label cost); or neither."""
    if has_outbound_label:
        return LabelStatus.HAS_LABEL
    if status == "shipped" or externally_fulfilled:
        return LabelStatus.NO_LABEL
    return LabelStatus.NONE


@dataclass(slots=True)
class MappedOrder:
    values: dict[str, Any]  # ORDER_COLUMNS -> value (JSON columns as Python objects)
    # For COPY: JSON columns as JSON text, dates and stamps as text (see _copy_text_of).
    copy_text: dict[str, str | None]
    lines: list[tuple]  # LINE_COLUMNS values
    external_id: str
    store_external_id: str
    raw_hash: str
    content_hash: str
    lines_hash: str
    pk: int | None = None
    merged_ids: tuple[str, ...] = ()  # orders merged into this one in the source
    parent_id: str = ""  # the order this one was split off in the source

    def row(self) -> tuple:
        return _order_row({**self.values, **self.copy_text})

    def model(self) -> Order:
        return Order(pk=self.pk, **self.values)


QUANTITY_PLACES = Decimal("0.0001")


def _line_values(line: SourceOrderLine, position: int, clean_text: bool) -> tuple:
    quantity = line.quantity
    if not quantity.is_finite() or abs(quantity) >= MAX_QUANTITY:
        raise RecordInvalid(
            _("line %(position)s: quantity is out of range: %(value)s")
            % {"position": position, "value": str(quantity)}
        )
    unit_price = line.unit_price
    if not unit_price.is_finite() or abs(unit_price) >= MAX_UNIT_PRICE:
        raise RecordInvalid(
            _("line %(position)s: unit price is out of range: %(value)s")
            % {"position": position, "value": str(unit_price)}
        )
    txt = text if clean_text else _cut
    return (
        txt(line.line_key, 200),
        position,
        txt(line.sku, 200),
        txt(line.name, 500),
        line_places(quantity),
        line_places(unit_price),
        money2(line.tax_amount, field=f"line {position} tax"),
        money2(line.shipping_amount, field=f"line {position} shipping"),
        line.is_adjustment,
        line.is_discount,
    )


def _cut(value: str | None, limit: int) -> str:
    """``text`` for strings already known to be clean (their record's dump had no NUL or
    lone surrogate): no per-string scan."""
    return (value or "")[:limit]


def order_amounts(source: SourceOrder) -> dict[str, Decimal]:
    """The order's amounts and its reconciliation (see :mod:`sales.models`).

    An order that lists no items at all but has a total (sources have shipped orders without
    items) counts as one line worth ``order total - shipping - tax``: its goods were
    sold, only not itemised, and must not show up as a difference."""

    # One rounding rule with the ledger documents (unify.core.money): each line to the cent
    # as stored (four places for quantity and price), then summed.
    def stored(line) -> tuple[Decimal, Decimal]:
        return line_places(line.quantity), line_places(line.unit_price)

    lines_subtotal = sum_of_lines(stored(line) for line in source.lines if not line.is_discount)
    if not source.lines:
        lines_subtotal = max(
            Decimal(0), source.order_total - source.shipping_amount - source.tax_amount
        )
    discount_total = -sum_of_lines(stored(line) for line in source.lines if line.is_discount) + sum(
        (line.discount_amount for line in source.lines), Decimal(0)
    )
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
    origin: str,
    source_store_id: int | None,
    store_name: str,
    currency: str,
    synced_at: datetime,
    raw_is_whole_record: bool = True,
) -> MappedOrder:
    """One order's row values, lines and hashes, or ``RecordInvalid``.

    ``origin``: the source's key (``Order.source``). ``raw_is_whole_record``: every text of
    the order comes from ``raw`` (an API source's record), so a clean dump of ``raw`` proves
    every text clean and the per-string checks are skipped.
    """
    raw, raw_hash, raw_text_json, suspicious = raw_for_storage_text(source.raw)
    clean_text = suspicious or not raw_is_whole_record
    txt = text if clean_text else _cut
    external_id = required_id(source.external_id, field="order id", limit=64)
    number = required_id(source.number, field="order number", limit=100)
    order_key = txt(source.order_key, 201)
    if len(order_key) > 200:
        raise RecordInvalid(_("order key is longer than 200 characters"))
    status = txt(source.status, 40)
    amounts = order_amounts(source)
    lines = [
        _line_values(line, position, clean_text)
        for position, line in enumerate(source.lines, start=1)
    ]
    order_date = _aware(source.order_date, field="order date")
    payment_date = _aware(source.payment_date, field="payment date")
    create_date = _aware(source.create_date, field="create date")
    modify_date = _aware(source.modify_date, field="modify date")
    ship_date: date | None = source.ship_date
    bill_to = clean(dict(source.bill_to)) if clean_text else dict(source.bill_to)
    ship_to = clean(dict(source.ship_to)) if clean_text else dict(source.ship_to)
    bill_to_json, ship_to_json = _dump_fast(bill_to), _dump_fast(ship_to)
    customer_name = txt(source.customer_name, 300)
    customer_email = txt(source.customer_email, 254)
    order_currency = txt(source.currency or currency, 3) or currency
    lines_hash = _digest(repr(lines))
    content_hash = _digest(
        repr(
            (
                number, order_key, status, order_date, payment_date, ship_date, customer_name,
                customer_email, order_currency, tuple(amounts.values()), lines_hash,
                source.externally_fulfilled, source_store_id, bill_to_json, ship_to_json,
            )
        )
    )  # fmt: skip
    values = {
        "organization_id": organization_id,
        "connection_id": connection_id,
        "source": origin,
        "source_store_id": source_store_id,
        "store_name": txt(store_name, 200),
        "external_id": external_id,
        "order_key": order_key,
        "number": number,
        "status": status,
        "order_date": order_date,
        "payment_date": payment_date,
        "create_date": create_date,
        "modify_date": modify_date,
        "ship_date": ship_date,
        "customer_name": customer_name,
        "customer_email": customer_email,
        "bill_to": bill_to,
        "ship_to": ship_to,
        "currency": order_currency,
        **amounts,
        "items_count": sum(1 for line in source.lines if not line.is_adjustment),
        "is_cancelled": status == "cancelled",
        "externally_fulfilled": source.externally_fulfilled,
        "raw": raw,
        "raw_hash": raw_hash,
        "content_hash": content_hash,
        "lines_hash": lines_hash,
        "last_synced_at": synced_at,
        # Set from the order's labels before it is written (see upsert).
        "label_cost_total": ZERO,
        "return_label_cost_total": ZERO,
        "label_status": label_status_for(
            has_outbound_label=False,
            status=status,
            externally_fulfilled=source.externally_fulfilled,
        ),
    }
    return MappedOrder(
        values=values,
        copy_text={
            "bill_to": bill_to_json,
            "ship_to": ship_to_json,
            "raw": raw_text_json,
            "order_date": _copy_text_of(order_date),
            "payment_date": _copy_text_of(payment_date),
            "create_date": _copy_text_of(create_date),
            "modify_date": _copy_text_of(modify_date),
            "ship_date": _copy_text_of(ship_date),
            "last_synced_at": copy_timestamp(synced_at),
        },
        lines=lines,
        external_id=external_id,
        store_external_id="" if source.store_id is None else str(source.store_id),
        raw_hash=raw_hash,
        content_hash=content_hash,
        lines_hash=lines_hash,
        merged_ids=tuple(source.merged_ids),
        parent_id=source.parent_id,
    )


# ---------------------------------------------------------------------------------------------
# Label costs
# ---------------------------------------------------------------------------------------------

COST_COLUMNS = (
    "organization_id", "connection_id", "external_id", "order_id", "order_external_id",
    "order_number",
    "order_key", "store_external_id", "ship_date", "create_date", "carrier", "service",
    "tracking_number", "cost", "insurance", "voided", "void_date", "is_return",
    "bill_to_party", "raw", "raw_hash", "last_synced_at",
)  # fmt: skip

_cost_row = operator.itemgetter(*COST_COLUMNS)

SHIPPING_COST_IMPORT_FIELDS = (
    "order_external_id", "order_number", "order_key", "store_external_id", "ship_date",
    "create_date", "carrier", "service", "tracking_number", "cost", "insurance", "voided",
    "void_date", "is_return", "bill_to_party", "raw", "raw_hash", "last_synced_at",
    "updated_at",
)  # fmt: skip


@dataclass(slots=True)
class MappedShipment:
    values: dict[str, Any]
    copy_text: dict[str, str | None]  # as MappedOrder's
    external_id: str
    raw_hash: str

    def row(self) -> tuple:
        return _cost_row({**self.values, **self.copy_text})

    def model(self) -> ShippingCost:
        return ShippingCost(**self.values)


def map_shipment(
    source: SourceShipment, *, organization_id: int, connection_id: int, synced_at: datetime
) -> MappedShipment:
    raw, raw_hash, raw_json, suspicious = raw_for_storage_text(source.raw)
    txt = text if suspicious else _cut
    external_id = required_id(source.external_id, field="shipment id", limit=64)
    values = {
        "organization_id": organization_id,
        "connection_id": connection_id,
        "external_id": external_id,
        "order_id": None,  # set by the writer when its order is known
        "order_external_id": txt(source.order_id, 64),
        "order_number": txt(source.order_number, 100),
        "order_key": txt(source.order_key, 200),
        "store_external_id": "" if source.store_id is None else str(source.store_id)[:64],
        "ship_date": source.ship_date,
        "create_date": _aware(source.create_date, field="create date"),
        "carrier": txt(source.carrier, 60),
        "service": txt(source.service, 100),
        "tracking_number": txt(source.tracking_number, 200),
        "cost": money2(source.cost, field="shipmentCost"),
        "insurance": money2(source.insurance_cost, field="insuranceCost"),
        "voided": source.voided,
        "void_date": _aware(source.void_date, field="void date"),
        "is_return": source.is_return,
        "bill_to_party": txt(source.bill_to_party, 30),
        "raw": raw,
        "raw_hash": raw_hash,
        "last_synced_at": synced_at,
    }
    copy_text = {
        "raw": raw_json,
        "ship_date": _copy_text_of(values["ship_date"]),
        "create_date": _copy_text_of(values["create_date"]),
        "void_date": _copy_text_of(values["void_date"]),
        "last_synced_at": copy_timestamp(synced_at),
    }
    return MappedShipment(
        values=values, copy_text=copy_text, external_id=external_id, raw_hash=raw_hash
    )
