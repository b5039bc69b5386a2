"""ShipStation v1 JSON -> source contracts, and our instants -> ShipStation filter strings.

ShipStation speaks naive US Pacific wall time both ways: responses carry timestamps like
``2024-05-02T13:02:45.1270000`` (7 fractional digits, no offset) and request filters are
``yyyy-mm-dd hh:mm:ss``. We convert with ``America/Los_Angeles`` (DST-aware) to aware UTC.

Wall times that do not name exactly one instant:

- ambiguous (the repeated 01:00-02:00 when DST ends): read as the *first* occurrence (PDT,
  ``fold=0``), the same rule as the sandbox. When we *format* an instant in the second
  occurrence as the end of a filter window, ShipStation would read it an hour early, so end
  bounds are moved past the repeated hour (the window grows, never shrinks; imports overlap
  windows anyway);
- nonexistent (the skipped 02:00-03:00 when DST starts) cannot come from converting a real
  instant; if ShipStation sends one, ``fold=0`` reads it with the pre-gap offset (PST).

Each record is mapped on its own: a record that does not fit becomes a
:class:`~connections.sources.base.SourceRecordError` and the rest of its page is kept.
``null`` entries in lists (ShipStation sends them now and then) are skipped and counted.

Single values (timestamps, money, text) are read in ``values``; callers import from here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from django.core.serializers.json import DjangoJSONEncoder

from connections.sources.base import (
    ZERO,
    Page,
    RawRecord,
    SourceFulfillment,
    SourceOrder,
    SourceOrderLine,
    SourceRecordError,
    SourceShipment,
    SourceStore,
    SourceWebhook,
)
from connections.sources.shipstation.values import (
    FILTER_FORMAT,
    PACIFIC,
    MappingError,
    address,
    format_filter_end,
    format_filter_start,
    money,
    optional_int,
    optional_text,
    pacific_to_utc,
    parse_day,
    parse_timestamp,
    quantity,
    required_text,
    required_timestamp,
    text,
)
from connections.sources.shipstation.wire import read_order, read_shipment
from unify.core.http import parse_json
from unify.core.stored_text import gettext as _
from unify.core.stored_text import message_of

__all__ = [
    "FILTER_FORMAT",
    "MappingError",
    "PACIFIC",
    "address",
    "format_filter_end",
    "format_filter_start",
    "map_fulfillment",
    "map_order",
    "map_order_line",
    "map_page",
    "map_records",
    "map_shipment",
    "map_store",
    "map_webhook",
    "money",
    "optional_int",
    "optional_text",
    "pacific_to_utc",
    "parse_day",
    "parse_timestamp",
    "quantity",
    "raw_text",
    "required_text",
    "required_timestamp",
    "text",
]

RAW_TEXT_LIMIT = 20_000

T = TypeVar("T")


# --- records --------------------------------------------------------------------------------


def map_store(raw: Mapping[str, Any]) -> SourceStore:
    store_id = optional_int(raw.get("storeId"), field="storeId")
    if store_id is None:
        raise MappingError(_("storeId is missing"))
    return SourceStore(
        external_id=store_id,
        name=text(raw.get("storeName")) or f"Store {store_id}",
        marketplace_id=optional_int(raw.get("marketplaceId"), field="marketplaceId"),
        marketplace_name=text(raw.get("marketplaceName")),
        active=bool(raw.get("active", True)),
        refresh_date=parse_timestamp(raw.get("refreshDate")),
        raw=dict(raw),
    )


def _kept(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """The record kept on its contract: a ``RawRecord`` as it is (its text is what is
    stored), anything else copied."""
    return raw if isinstance(raw, RawRecord) else dict(raw)


def map_order_line(raw: Any) -> SourceOrderLine:
    if not isinstance(raw, dict):
        raise MappingError(_("an item is not an object"))
    return SourceOrderLine(
        external_id=text(raw.get("orderItemId")),
        line_key=optional_text(raw.get("lineItemKey")),
        sku=optional_text(raw.get("sku")),
        name=text(raw.get("name")),
        quantity=quantity(raw.get("quantity")),
        unit_price=money(raw.get("unitPrice"), field="unitPrice"),
        tax_amount=money(raw.get("taxAmount"), field="taxAmount"),
        shipping_amount=money(raw.get("shippingAmount"), field="shippingAmount"),
        is_adjustment=bool(raw.get("adjustment") or False),
        product_id=optional_text(raw.get("productId")),
    )


def _wire_money(value: Decimal | None) -> Decimal:
    if value is None:
        return ZERO
    if not value.is_finite():
        raise _NotUsual
    return value


class _NotUsual(Exception):
    """A record the typed reader leaves to the dict-based mapper."""


def _wire_text(value: str) -> str:
    if not value.strip():
        raise _NotUsual
    return value


def _map_wire_order(record: RawRecord) -> SourceOrder | None:
    """``map_order`` for an order in the usual shape, read by typed fields (see ``wire``);
    ``None`` for anything else, which ``map_order`` then reads the long way."""
    wire = read_order(record)
    if wire is None:
        return None
    try:
        bill_to = _wire_address(wire.billTo)
        ship_to = _wire_address(wire.shipTo)
        lines = []
        for item in wire.items or ():
            if item is None:
                continue
            if item.quantity is None or not item.quantity.is_finite():
                raise _NotUsual
            lines.append(
                SourceOrderLine(
                    external_id="" if item.orderItemId is None else str(item.orderItemId),
                    line_key=item.lineItemKey,
                    sku=item.sku,
                    name=item.name or "",
                    quantity=item.quantity,
                    unit_price=_wire_money(item.unitPrice),
                    tax_amount=_wire_money(item.taxAmount),
                    shipping_amount=_wire_money(item.shippingAmount),
                    is_adjustment=bool(item.adjustment),
                    product_id=None if item.productId is None else str(item.productId),
                )
            )
        order_date = parse_timestamp(wire.orderDate)
        create_date = parse_timestamp(wire.createDate)
        modify_date = parse_timestamp(wire.modifyDate)
        payment_date = parse_timestamp(wire.paymentDate)
        ship_date = parse_day(wire.shipDate)
        advanced = wire.advancedOptions
        return SourceOrder(
            external_id=str(wire.orderId),
            order_key=wire.orderKey or "",
            number=_wire_text(wire.orderNumber),
            status=_wire_text(wire.orderStatus),
            order_date=order_date,
            create_date=create_date,
            modify_date=modify_date,
            payment_date=payment_date,
            ship_date=ship_date,
            customer_name=text(bill_to.get("name")) or text(ship_to.get("name")),
            customer_email=wire.customerEmail or "",
            bill_to=bill_to,
            ship_to=ship_to,
            store_id=None if advanced is None else advanced.storeId,
            lines=tuple(lines),
            tax_amount=_wire_money(wire.taxAmount),
            shipping_amount=_wire_money(wire.shippingAmount),
            order_total=_wire_money(wire.orderTotal),
            amount_paid=_wire_money(wire.amountPaid),
            externally_fulfilled=bool(wire.externallyFulfilled),
            payment_method=wire.paymentMethod or "",
            merged_ids=()
            if advanced is None
            else tuple(str(i) for i in advanced.mergedIds or () if i is not None),
            parent_id=""
            if advanced is None or advanced.parentId is None
            else str(advanced.parentId),
            raw=record,
        )
    except (_NotUsual, MappingError, ValueError, TypeError, ArithmeticError):
        return None


def _wire_address(raw: Any) -> dict[str, Any]:
    value = parse_json(bytes(raw))
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _NotUsual
    return value


def map_order(raw: Mapping[str, Any]) -> SourceOrder:
    if isinstance(raw, RawRecord):
        order = _map_wire_order(raw)
        if order is not None:
            return order
    items = raw.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise MappingError(_("items is not a list"))
    lines = tuple(map_order_line(item) for item in items if item is not None)
    bill_to = address(raw.get("billTo"), field="billTo")
    ship_to = address(raw.get("shipTo"), field="shipTo")
    advanced = raw.get("advancedOptions") or {}
    if not isinstance(advanced, dict):
        raise MappingError(_("advancedOptions is not an object"))
    status = required_text(raw, "orderStatus")
    return SourceOrder(
        external_id=required_text(raw, "orderId"),
        order_key=text(raw.get("orderKey")),
        number=required_text(raw, "orderNumber"),
        status=status,
        order_date=required_timestamp(raw, "orderDate"),
        create_date=required_timestamp(raw, "createDate"),
        modify_date=required_timestamp(raw, "modifyDate"),
        payment_date=parse_timestamp(raw.get("paymentDate")),
        ship_date=parse_day(raw.get("shipDate")),
        customer_name=text(bill_to.get("name")) or text(ship_to.get("name")),
        customer_email=text(raw.get("customerEmail")),
        bill_to=bill_to,
        ship_to=ship_to,
        store_id=optional_int(advanced.get("storeId"), field="advancedOptions.storeId"),
        lines=lines,
        tax_amount=money(raw.get("taxAmount"), field="taxAmount"),
        shipping_amount=money(raw.get("shippingAmount"), field="shippingAmount"),
        order_total=money(raw.get("orderTotal"), field="orderTotal"),
        amount_paid=money(raw.get("amountPaid"), field="amountPaid"),
        externally_fulfilled=bool(raw.get("externallyFulfilled") or False),
        payment_method=text(raw.get("paymentMethod")),
        merged_ids=_merged_ids(advanced.get("mergedIds")),
        parent_id=text(None if advanced.get("parentId") is None else str(advanced.get("parentId"))),
        raw=_kept(raw),
    )


def _merged_ids(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise MappingError(_("advancedOptions.mergedIds is not a list"))
    return tuple(str(v) for v in value if v is not None and str(v).strip())


def _map_wire_shipment(record: RawRecord) -> SourceShipment | None:
    """``map_shipment`` for a label in the usual shape, read by typed fields (see ``wire``);
    ``None`` for anything else, which ``map_shipment`` then reads the long way."""
    wire = read_shipment(record)
    if wire is None:
        return None
    try:
        advanced = wire.advancedOptions
        return SourceShipment(
            external_id=str(wire.shipmentId),
            order_id=None if wire.orderId is None else str(wire.orderId),
            order_key=wire.orderKey,
            order_number=wire.orderNumber,
            store_id=None if advanced is None else advanced.storeId,
            create_date=parse_timestamp(wire.createDate),
            ship_date=parse_day(wire.shipDate),
            carrier=wire.carrierCode or "",
            service=wire.serviceCode or "",
            tracking_number=wire.trackingNumber or "",
            cost=_wire_money(wire.shipmentCost),
            insurance_cost=_wire_money(wire.insuranceCost),
            voided=bool(wire.voided),
            void_date=parse_timestamp(wire.voidDate),
            is_return=bool(wire.isReturnLabel),
            bill_to_party=(advanced.billToParty or "") if advanced is not None else "",
            raw=record,
        )
    except (_NotUsual, MappingError, ValueError, TypeError, ArithmeticError):
        return None


def map_shipment(raw: Mapping[str, Any]) -> SourceShipment:
    if isinstance(raw, RawRecord):
        shipment = _map_wire_shipment(raw)
        if shipment is not None:
            return shipment
    advanced = raw.get("advancedOptions") or {}
    if not isinstance(advanced, dict):
        raise MappingError(_("advancedOptions is not an object"))
    return SourceShipment(
        external_id=required_text(raw, "shipmentId"),
        order_id=optional_text(raw.get("orderId")),
        order_key=optional_text(raw.get("orderKey")),
        order_number=optional_text(raw.get("orderNumber")),
        store_id=optional_int(advanced.get("storeId"), field="advancedOptions.storeId"),
        create_date=required_timestamp(raw, "createDate"),
        ship_date=parse_day(raw.get("shipDate")),
        carrier=text(raw.get("carrierCode")),
        service=text(raw.get("serviceCode")),
        tracking_number=text(raw.get("trackingNumber")),
        cost=money(raw.get("shipmentCost"), field="shipmentCost"),
        insurance_cost=money(raw.get("insuranceCost"), field="insuranceCost"),
        voided=bool(raw.get("voided") or False),
        void_date=parse_timestamp(raw.get("voidDate")),
        is_return=bool(raw.get("isReturnLabel") or False),
        bill_to_party=text(advanced.get("billToParty")),
        raw=_kept(raw),
    )


def map_fulfillment(raw: Mapping[str, Any]) -> SourceFulfillment:
    return SourceFulfillment(
        external_id=required_text(raw, "fulfillmentId"),
        order_id=optional_text(raw.get("orderId")),
        order_number=optional_text(raw.get("orderNumber")),
        create_date=required_timestamp(raw, "createDate"),
        ship_date=parse_day(raw.get("shipDate")),
        carrier=text(raw.get("carrierCode") or raw.get("fulfillmentProviderCode")),
        tracking_number=text(raw.get("trackingNumber")),
        fulfillment_fee=money(raw.get("fulfillmentFee"), field="fulfillmentFee"),
        voided=bool(raw.get("voided") or False),
        void_date=parse_timestamp(raw.get("voidDate")),
        provider=text(raw.get("sellerFillProviderName") or raw.get("fulfillmentProviderCode")),
        raw=dict(raw),
    )


def map_webhook(raw: Mapping[str, Any]) -> SourceWebhook:
    # GET /webhooks answers in PascalCase, unlike the rest of v1.
    webhook_id = raw.get("WebHookID", raw.get("webHookId", raw.get("id")))
    if webhook_id is None:
        raise MappingError(_("WebHookID is missing"))
    return SourceWebhook(
        external_id=str(webhook_id),
        event=text(raw.get("HookType", raw.get("event"))),
        target_url=text(raw.get("Url", raw.get("target_url"))),
        name=text(raw.get("Name", raw.get("friendly_name"))),
        store_id=optional_int(raw.get("StoreID", raw.get("store_id")), field="StoreID"),
        active=bool(raw.get("Active", True)),
    )


# --- pages ----------------------------------------------------------------------------------

_REF_KEYS = {
    "order": ("orderId", "orderNumber", "orderKey"),
    "shipment": ("shipmentId", "trackingNumber", "orderNumber"),
    "fulfillment": ("fulfillmentId", "orderNumber"),
    "store": ("storeId", "storeName"),
}


def raw_text(raw: Any) -> str:
    if isinstance(raw, RawRecord):
        return raw.text[:RAW_TEXT_LIMIT]
    try:
        dumped = json.dumps(raw, cls=DjangoJSONEncoder, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        dumped = repr(raw)
    return dumped[:RAW_TEXT_LIMIT]


def _external_ref(kind: str, raw: Any) -> str:
    if isinstance(raw, dict | RawRecord):
        for key in _REF_KEYS.get(kind, ()):
            value = raw.get(key)
            if value not in (None, ""):
                return str(value)[:100]
    return ""


def map_records(
    kind: str, entries: list[Any], mapper: Callable[[Mapping[str, Any]], T]
) -> tuple[tuple[T, ...], tuple[SourceRecordError, ...], int]:
    """Map each entry on its own: (good records, errors, null entries skipped)."""
    items: list[T] = []
    errors: list[SourceRecordError] = []
    nulls = 0
    for raw in entries:
        if raw is None:
            nulls += 1
            continue
        if not isinstance(raw, dict | RawRecord):
            errors.append(
                SourceRecordError(
                    kind, "", _("%(kind)s is not an object") % {"kind": kind}, raw_text(raw)
                )
            )
            continue
        try:
            items.append(mapper(raw))
        except (MappingError, ValueError, TypeError, ArithmeticError) as exc:
            errors.append(
                SourceRecordError(kind, _external_ref(kind, raw), message_of(exc), raw_text(raw))
            )
    return tuple(items), tuple(errors), nulls


def map_page(
    kind: str,
    envelope: Any,
    *,
    list_key: str,
    page: int,
    mapper: Callable[[Mapping[str, Any]], T],
    keep: Callable[[T], bool] | None = None,
) -> Page[T]:
    """A list envelope (``{"orders": [...], "total", "page", "pages"}``) -> a Page.

    A broken envelope is not one bad record: it raises ``MappingError`` for the caller to
    turn into a response error.
    """
    if not isinstance(envelope, dict):
        raise MappingError(_("%(list_key)s answer is not an object") % {"list_key": list_key})
    entries = envelope.get(list_key)
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise MappingError(_("%(list_key)s is not a list") % {"list_key": list_key})
    try:
        total = int(envelope.get("total") or 0)
        pages = int(envelope.get("pages") or 0)
    except (TypeError, ValueError):
        raise MappingError(
            _("%(list_key)s answer has no usable page counters") % {"list_key": list_key}
        ) from None
    items, errors, nulls = map_records(kind, entries, mapper)
    if keep is not None:
        items = tuple(item for item in items if keep(item))
    return Page(
        items=items, page=page, pages=pages, total=total, errors=errors, skipped_nulls=nulls
    )
