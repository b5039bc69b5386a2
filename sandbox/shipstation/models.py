"""Compact in-memory records of one ShipStation account.

Slotted records with shared catalogue strings, not wire-shaped dicts: 100,000 orders as
nested dicts would take several gigabytes; as these records they take a few hundred MB.
Money is ``Decimal`` (two places), instants are aware UTC ``datetime``; :mod:`.wire` turns
them into ShipStation's JSON.

Derived amounts are computed, never stored, so they cannot drift from the lines:
``Order.tax_amount`` is the sum of the lines' ``tax_amount`` (null lines count as 0) and
``Order.order_total`` is ``sum(quantity * unit_price over all lines, discount lines
included) + shipping_amount + tax_amount`` (for an order without items, its
``unitemised_total`` stands for the lines). Only ``amount_paid`` is free to differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

ZERO = Decimal("0.00")

ORDER_STATUSES = (
    "awaiting_payment",
    "awaiting_shipment",
    "pending_fulfillment",
    "shipped",
    "on_hold",
    "cancelled",
    "rejected_fulfillment",
)

WEBHOOK_EVENTS = (
    "ORDER_NOTIFY",
    "ITEM_ORDER_NOTIFY",
    "SHIP_NOTIFY",
    "ITEM_SHIP_NOTIFY",
    "FULFILLMENT_SHIPPED",
    "FULFILLMENT_REJECTED",
)


@dataclass(slots=True)
class Address:
    name: str | None
    company: str | None = None
    street1: str | None = None
    street2: str | None = None
    street3: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    phone: str | None = None
    residential: bool | None = None
    address_verified: str | None = None


@dataclass(slots=True)
class Dimensions:
    length: Decimal
    width: Decimal
    height: Decimal
    units: str = "inches"


@dataclass(slots=True)
class CustomsItem:
    customs_item_id: int
    description: str
    quantity: int
    value: Decimal
    harmonized_tariff_code: str | None
    country_of_origin: str


@dataclass(slots=True)
class InternationalOptions:
    contents: str | None
    customs_items: tuple[CustomsItem, ...] | None
    non_delivery: str | None


@dataclass(slots=True)
class Store:
    store_id: int
    store_name: str
    marketplace_id: int
    marketplace_name: str
    account_name: str | None
    email: str | None
    integration_url: str | None
    active: bool
    company_name: str
    phone: str
    public_email: str
    website: str
    refresh_date: datetime | None
    last_refresh_attempt: datetime | None
    create_date: datetime
    modify_date: datetime
    auto_refresh: bool
    # How this marketplace reports money; the generator follows it.
    shipping_per_line: bool = False
    currency: str = "USD"


@dataclass(slots=True)
class Tag:
    tag_id: int
    name: str
    color: str


@dataclass(slots=True)
class OrderItem:
    order_item_id: int
    line_item_key: str | None
    sku: str | None
    name: str
    image_url: str | None
    weight_oz: Decimal | None
    quantity: int
    unit_price: Decimal
    tax_amount: Decimal | None
    shipping_amount: Decimal | None
    warehouse_location: str | None
    options: tuple[tuple[str, str], ...]
    product_id: int | None
    fulfillment_sku: str | None
    adjustment: bool
    upc: str | None
    create_date: datetime
    modify_date: datetime

    @property
    def extended(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(slots=True)
class Order:
    order_id: int
    order_number: str
    order_key: str
    store_id: int
    order_date: datetime
    create_date: datetime
    modify_date: datetime
    payment_date: datetime | None
    ship_by_date: datetime | None
    status: str
    customer_id: int | None
    customer_username: str | None
    customer_email: str | None
    bill_to: Address
    ship_to: Address
    items: list[OrderItem]
    amount_paid: Decimal
    shipping_amount: Decimal
    payment_method: str | None
    requested_shipping_service: str | None
    customer_notes: str | None = None
    internal_notes: str | None = None
    gift: bool = False
    gift_message: str | None = None
    carrier_code: str | None = None
    service_code: str | None = None
    package_code: str | None = None
    confirmation: str | None = None
    ship_date: date | None = None
    hold_until_date: datetime | None = None
    weight_oz: Decimal | None = None
    dimensions: Dimensions | None = None
    insure_shipment: bool = False
    insured_value: Decimal = ZERO
    international: InternationalOptions | None = None
    warehouse_id: int | None = None
    source: str | None = None
    custom_field1: str | None = None
    custom_field2: str | None = None
    custom_field3: str | None = None
    tag_ids: tuple[int, ...] | None = None
    user_id: str | None = None
    externally_fulfilled: bool = False
    externally_fulfilled_by: str | None = None
    externally_fulfilled_by_id: int | None = None
    externally_fulfilled_by_name: str | None = None
    # An order that lists no items but has a total (a real recorded response: a shipped
    # order with ``items: []`` and ``orderTotal`` 7.0): the goods' part of that total.
    unitemised_total: Decimal | None = None
    # Merges and splits (``advancedOptions``): the surviving order of a merge lists the
    # orders merged into it; a split's children name their parent.
    merged_or_split: bool = False
    merged_ids: tuple[int, ...] = ()
    parent_id: int | None = None

    @property
    def tax_amount(self) -> Decimal:
        return sum((i.tax_amount for i in self.items if i.tax_amount is not None), ZERO)

    @property
    def lines_total(self) -> Decimal:
        if not self.items and self.unitemised_total is not None:
            return self.unitemised_total
        return sum((i.extended for i in self.items), ZERO)

    @property
    def order_total(self) -> Decimal:
        return self.lines_total + self.shipping_amount + self.tax_amount

    # customerName / itemKeyword are rare filters: computing the text per query is cheaper
    # than keeping it for every order.
    def names_text(self) -> str:
        return f"{self.bill_to.name or ''}\n{self.ship_to.name or ''}".lower()

    def items_text(self) -> str:
        parts: list[str] = []
        for item in self.items:
            parts.extend(p for p in (item.sku, item.name) if p)
            parts.extend(v for _, v in item.options)
        return "\n".join(parts).lower()


@dataclass(slots=True)
class Shipment:
    shipment_id: int
    order_id: int | None  # None: bought without an order (quick ship)
    order_key: str | None
    order_number: str | None
    store_id: int
    user_id: str | None
    customer_email: str | None
    create_date: datetime
    ship_date: date
    shipment_cost: Decimal
    insurance_cost: Decimal
    tracking_number: str
    is_return_label: bool
    batch_number: str | None
    carrier_code: str
    service_code: str
    package_code: str
    confirmation: str | None
    warehouse_id: int | None
    ship_to: Address
    weight_oz: Decimal
    dimensions: Dimensions | None
    insured_value: Decimal
    items: tuple[tuple[OrderItem, int], ...]  # (order line, quantity in this parcel)
    voided: bool = False
    void_date: datetime | None = None
    marketplace_notified: bool = True
    notify_error_message: str | None = None
    # Who the carrier bills: None (the merchant's account), "my_other_account", "recipient",
    # "third_party" (ShipStation's v1 Advanced Options model).
    bill_to_party: str | None = None


@dataclass(slots=True)
class Fulfillment:
    fulfillment_id: int
    order_id: int
    order_number: str
    store_id: int
    user_id: str | None
    customer_email: str | None
    tracking_number: str | None
    create_date: datetime
    ship_date: date
    carrier_code: str | None
    fulfillment_provider_code: str | None
    fulfillment_service_code: str | None
    fulfillment_fee: Decimal
    ship_to: Address
    delivery_date: datetime | None = None
    void_date: datetime | None = None
    void_requested: bool = False
    voided: bool = False
    marketplace_notified: bool = True
    notify_error_message: str | None = None
    # The fulfillment provider of a "seller fulfilled" order (ShipBob, ...); a recorded
    # response has both (agritheory/shipstation-client tests/api_data.py).
    seller_fill_provider_id: int | None = None
    seller_fill_provider_name: str | None = None

    @property
    def ship_stamp(self) -> datetime:
        """``shipDate`` is a full stamp on fulfillments (``2020-06-24T10:32:33.6870000`` in
        the recorded response): the moment it was marked shipped, on its ship day."""
        from sandbox.shipstation.dates import PACIFIC

        local = self.create_date.astimezone(PACIFIC)
        if local.date() == self.ship_date:
            return self.create_date
        return datetime.combine(self.ship_date, local.timetz())


@dataclass(slots=True)
class Webhook:
    webhook_id: int
    target_url: str
    event: str
    store_id: int | None
    friendly_name: str | None


@dataclass
class MerchantData:
    """Everything the generator produces for one account."""

    seller_id: int
    stores: list[Store]
    tags: list[Tag]
    orders: list[Order]
    shipments: list[Shipment]
    fulfillments: list[Fulfillment]
    user_ids: list[str]
    # order id -> why amountPaid differs from orderTotal
    mismatched: dict[int, str] = field(default_factory=dict)
