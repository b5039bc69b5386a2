"""Reading ShipStation list pages fast, without changing what they mean.

A list page (``{"orders": [...], "total", "page", "pages"}``) is split into its records
without parsing them: each record stays the JSON text ShipStation sent
(:class:`~connections.sources.base.RawRecord`), stored as it is and parsed only when needed.
An order or a label in the usual shape is then read straight into typed fields (msgspec: only the
fields the import uses, money as exact ``Decimal``) instead of a dict of everything.

The dict-based mapper in :mod:`~connections.sources.shipstation.mapping` stays the
reference: any record this reader does not find in the usual shape (a number where a text
is expected, a blank id, a date it cannot read, ...) is handed to it, which maps it the same
way or gives the reason it cannot. Both must agree on every record this reader accepts
(tests compare them on generated records).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from connections.sources.base import RawRecord
from unify.core.http import parse_json

_members = msgspec.json.Decoder(dict[str, msgspec.Raw])
_items = msgspec.json.Decoder(list[msgspec.Raw])


def read_list_page(body: bytes | str, list_key: str) -> Any:
    """The page's envelope with its records as :class:`RawRecord` (a JSON object each;
    ``null`` stays ``None`` and any other value is parsed, for the mapper to refuse).
    A body msgspec cannot split (``NaN`` literals, a lone surrogate, not JSON) is parsed
    whole by :func:`parse_json`, which reads it or raises its ``ValueError``."""
    data = body.encode() if isinstance(body, str) else body
    try:
        members = _members.decode(data)
        envelope: dict[str, Any] = {}
        for key, raw in members.items():
            if key == list_key and _starts_with(raw, b"["):
                envelope[key] = [_record(item) for item in _items.decode(raw)]
            else:
                envelope[key] = parse_json(bytes(raw))
        return envelope
    except msgspec.DecodeError:
        return parse_json(data)


def _starts_with(raw: msgspec.Raw, prefix: bytes) -> bool:
    view = memoryview(raw)
    return view.nbytes > 0 and view[0] == prefix[0]


def _record(item: msgspec.Raw) -> Any:
    if _starts_with(item, b"{"):
        return RawRecord(bytes(item))
    return parse_json(bytes(item))


# --- orders in the usual shape ---------------------------------------------------------------


class WireItem(msgspec.Struct, kw_only=True):
    orderItemId: int | None = None
    lineItemKey: str | None = None
    sku: str | None = None
    name: str | None = None
    quantity: Decimal | None = None
    unitPrice: Decimal | None = None
    taxAmount: Decimal | None = None
    shippingAmount: Decimal | None = None
    adjustment: bool | None = None
    productId: int | None = None


class WireAdvancedOptions(msgspec.Struct, kw_only=True):
    storeId: int | None = None
    billToParty: str | None = None
    mergedIds: list[int] | None = None
    parentId: int | None = None


class WireOrder(msgspec.Struct, kw_only=True):
    orderId: int
    orderNumber: str
    orderKey: str | None = None
    orderStatus: str
    orderDate: str
    createDate: str
    modifyDate: str
    paymentDate: str | None = None
    shipDate: str | None = None
    customerEmail: str | None = None
    billTo: msgspec.Raw = msgspec.Raw(b"null")
    shipTo: msgspec.Raw = msgspec.Raw(b"null")
    items: list[WireItem | None] | None = None
    taxAmount: Decimal | None = None
    shippingAmount: Decimal | None = None
    orderTotal: Decimal | None = None
    amountPaid: Decimal | None = None
    externallyFulfilled: bool | None = None
    paymentMethod: str | None = None
    advancedOptions: WireAdvancedOptions | None = None


_order = msgspec.json.Decoder(WireOrder)


def _read(decoder: msgspec.json.Decoder, record: RawRecord) -> Any:
    try:
        return decoder.decode(record.data)
    except msgspec.DecodeError:
        return None


def read_order(record: RawRecord) -> WireOrder | None:
    """The order's fields, or ``None`` when it is not in the usual shape."""
    return _read(_order, record)


# --- labels in the usual shape ---------------------------------------------------------------


class WireShipment(msgspec.Struct, kw_only=True):
    shipmentId: int
    orderId: int | None = None
    orderKey: str | None = None
    orderNumber: str | None = None
    createDate: str
    shipDate: str | None = None
    carrierCode: str | None = None
    serviceCode: str | None = None
    trackingNumber: str | None = None
    shipmentCost: Decimal | None = None
    insuranceCost: Decimal | None = None
    voided: bool | None = None
    voidDate: str | None = None
    isReturnLabel: bool | None = None
    advancedOptions: WireAdvancedOptions | None = None


_shipment = msgspec.json.Decoder(WireShipment)


def read_shipment(record: RawRecord) -> WireShipment | None:
    """The label's fields, or ``None`` when it is not in the usual shape."""
    return _read(_shipment, record)
