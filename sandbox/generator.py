"""Deterministic merchant data for the ShipStation stand-in, the demo and the benchmarks.

``generate_merchant(seed=..., orders=..., days=..., stores=..., now=...)`` returns a
:class:`~sandbox.shipstation.models.MerchantData`; the same arguments always give the same
data (``now`` defaults to the real clock, so pass it when comparing runs).

What an account looks like
--------------------------
- ``stores`` active stores cycling through Shopify, Amazon, eBay, Etsy, a manual store,
  a second Shopify store (whose order numbers collide with the first: ``orderNumber`` is not
  unique across stores), WooCommerce, ...; plus one inactive Shopify store without orders.
  Marketplace ids are illustrative, not ShipStation's real ones.
- Orders spread over the last ``days`` days before ``now``; ids grow with time. Statuses
  are mostly ``shipped``; recent orders are often ``awaiting_shipment``; a few ``on_hold``
  (with ``holdUntilDate``), ``cancelled``, ``awaiting_payment`` (no ``paymentDate``),
  ``pending_fulfillment`` and ``rejected_fulfillment``.
- 1-6 product lines from a seeded catalogue; some SKUs are null or ``""`` (personalised
  Etsy items); unicode and very long names for products and people; guest buyers without
  email/customer id; ~8% international addresses (with customs items).
- Discount lines: ``lineItemKey "discount"``, ``adjustment true``, quantity 1, negative
  ``unitPrice``, null ``sku`` and null ``taxAmount``.

Money relationships (every amount is a 2-place ``Decimal``)
-----------------------------------------------------------
- line tax = round_half_up(quantity * unitPrice * state rate) on product lines; discount
  lines carry null tax (counted as 0).
- ``order.taxAmount = sum(line.taxAmount)``.
- ``order.shippingAmount`` is what the buyer paid for shipping. Stores that report shipping
  per line (Amazon) put it on the lines' ``shippingAmount`` and the order's
  ``shippingAmount`` is their sum; for the other stores every line says 0.00.
  Never add both.
- ``order.orderTotal = sum(quantity * unitPrice over all lines, discounts included)
  + order.shippingAmount + order.taxAmount``.
- ``order.amountPaid = orderTotal``, except for orders listed in
  ``MerchantData.mismatched`` (order id -> reason), which the control API exposes as
  ``mismatched_order_ids`` / ``mismatch_reasons``:
  ``coupon`` (Shopify: an unitemised coupon, paid less), ``marketplace_tax`` (Amazon, eBay,
  Etsy: the marketplace collected and remitted the tax, paid = total - tax), ``fba``
  (Amazon, fulfilled by Amazon: paid = lines only, no shipping or tax),
  ``awaiting_payment`` (paid 0.00).

Shipping (labels and fulfillments)
----------------------------------
- Shipped orders get one label, sometimes two (split parcels); ~5% have a voided label
  (``voided``, ``voidDate``) followed by a replacement; ~3% later get a return label
  (``isReturnLabel``). A label's cost is ``shipmentCost + insuranceCost``.
- ~11% of shipped orders were marked shipped outside ShipStation: no label, only a
  fulfillment with a ``fulfillmentFee`` (0.00 for the merchant's own, a fee for 3PLs).
  FBA orders likewise have only a fulfillment (provider ``amazon_fba``).
- Order ``shipDate`` is the Pacific date of its first non-voided outbound label;
  ``carrierCode``/``serviceCode`` follow that label.

Dates
-----
``orderDate`` (whole seconds, the marketplace's clock) < ``createDate`` (import into
ShipStation, millisecond precision) <= ``modifyDate`` <= ``now``. ``modifyDate`` equals
``createDate`` until something happens: a label, a cancellation, or one of the ~10% later
edits (notes, tags) that bump it.
"""

from __future__ import annotations

import random
import uuid
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate

from sandbox.framework import paused_gc
from sandbox.shipstation.dates import PACIFIC, pacific_date
from sandbox.shipstation.models import (
    ZERO,
    Address,
    CustomsItem,
    Dimensions,
    Fulfillment,
    InternationalOptions,
    MerchantData,
    Order,
    OrderItem,
    Shipment,
    Store,
    Tag,
)

CENT = Decimal("0.01")

__all__ = ["MerchantGenerator", "generate_merchant"]


def _randrange(rng: random.Random, lo: int, hi: int) -> int:
    """``rng.randrange(lo, hi)`` at a tenth of the cost (plenty uniform for fake data)."""
    return lo + int(rng.random() * (hi - lo))


def money(value: Decimal | str | int) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------------------------------------
# Static vocabularies
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoreKind:
    kind: str
    marketplace_id: int
    marketplace_name: str
    store_name: str
    payment_method: str | None
    source: str
    weight: int  # relative share of orders
    shipping_per_line: bool = False


STORE_KINDS = (
    StoreKind("shopify", 26, "Shopify", "Northwind Goods", "shopify_payments", "web", 35),
    StoreKind("amazon", 2, "Amazon", "Northwind Amazon US", "Other", "Amazon.com", 30, True),
    StoreKind("ebay", 6, "eBay", "northwind_deals (eBay)", "eBay Managed Payments", "ebay", 12),
    StoreKind("etsy", 13, "Etsy", "NorthwindStudio on Etsy", "etsy_payments", "etsy", 12),
    StoreKind("manual", 0, "ShipStation", "Manual Orders", None, "ss_ui", 5),
    StoreKind("shopify", 26, "Shopify", "Northwind Wholesale", "shopify_payments", "web", 6),
    StoreKind("woocommerce", 36, "WooCommerce", "Northwind Outlet", "stripe", "web", 5),
)

# (code, title, base price, weight oz, sized apparel)
_APPAREL_SIZES = ("S", "M", "L", "XL")
_COLOURS = (("BLK", "Black"), ("WHT", "White"), ("NVY", "Navy"))
_PRODUCT_LINES = (
    ("TSHIRT", "T-Shirt", "19.99", "6", True), ("HOODIE", "Hoodie", "44.00", "18", True),
    ("CAP", "Cap", "24.99", "4", False), ("MUG", "Ceramic Mug 12 oz", "14.50", "14", False),
    ("POSTER", "Art Print A3", "24.00", "5", False),
    ("STICKER", "Sticker Pack", "6.00", "1", False),
    ("CANDLE", "Soy Candle", "18.00", "12", False),
    ("NOTEBOOK", "Dotted Notebook", "12.00", "9", False),
    ("TOTE", "Canvas Tote", "22.00", "7", False),
)  # fmt: skip
_UNICODE_PRODUCTS = (
    ("CAFE-MUG", "Café Mug – „Guten Morgen“ ☕", "16.00", "14"),
    ("TENUGUI-01", "手ぬぐい Tenugui towel (藍)", "21.50", "3"),
    ("CARTE-ETE", "Carte postale « Été à Montréal »", "3.50", "1"),
    ("ZOE-PRINT", "Zoë's Ångström Poster — Ægir edition", "29.00", "5"),
)  # fmt: skip
_LONG_PRODUCT_NAME = (
    "Limited Edition Hand-Printed Organic Cotton Heavyweight Oversized Crewneck Sweatshirt "
    "with Embroidered Sleeve Detail, Reinforced Seams and Recycled Packaging - Forest Green / "
    "Extra Extra Large (Pre-order, ships within 3 weeks)"
)

_FIRST = (
    ("Jane", "jane"), ("John", "john"), ("María", "maria"), ("José", "jose"), ("Zoë", "zoe"),
    ("Łukasz", "lukasz"), ("Søren", "soren"), ("Amélie", "amelie"), ("Chloé", "chloe"),
    ("Liam", "liam"), ("Olivia", "olivia"), ("Noah", "noah"), ("Emma", "emma"), ("Ava", "ava"),
    ("Mia", "mia"), ("Lucas", "lucas"), ("Ethan", "ethan"), ("Sofia", "sofia"), ("Ægir", "aegir"),
    ("Björk", "bjork"), ("Dmitri", "dmitri"), ("Aiko", "aiko"), ("Priya", "priya"),
    ("Mateo", "mateo"), ("Grace", "grace"), ("Henry", "henry"),
)  # fmt: skip
_LAST = (
    ("Doe", "doe"), ("Smith", "smith"), ("García", "garcia"), ("Müller", "muller"),
    ("O'Brien", "obrien"), ("Nguyen", "nguyen"), ("Kowalski", "kowalski"),
    ("Ångström", "angstrom"), ("Þórsson", "thorsson"), ("Johnson", "johnson"),
    ("Williams", "williams"), ("Brown", "brown"), ("Martin", "martin"), ("Lee", "lee"),
    ("Dubois", "dubois"), ("Rossi", "rossi"), ("Yamada", "yamada"), ("Patel", "patel"),
    ("Silva", "silva"), ("Taylor", "taylor"),
)  # fmt: skip
_CJK_NAMES = ("山田 太郎", "佐藤 花子", "김민준", "王小明")
_LONG_PERSON_NAME = (
    "Maximiliane Alexandra Friederike Charlotte von Hohenzollern-Sigmaringen-Weißenfels "
    "zu Brandenburg und Schwarzburg-Rudolstadt"
)

_STREETS = ("Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Elm St", "Pine Rd", "Lakeview Blvd")
_US_PLACES = (
    ("Austin", "TX", "78701"), ("Seattle", "WA", "98101"), ("Portland", "OR", "97205"),
    ("Denver", "CO", "80202"), ("Brooklyn", "NY", "11201"), ("Chicago", "IL", "60601"),
    ("Miami", "FL", "33101"), ("Boston", "MA", "02108"), ("San Diego", "CA", "92101"),
    ("Phoenix", "AZ", "85004"), ("Nashville", "TN", "37203"), ("Columbus", "OH", "43215"),
    ("Wilmington", "DE", "19801"), ("Anchorage", "AK", "99501"), ("Honolulu", "HI", "96813"),
)  # fmt: skip
_STATE_TAX = {
    "TX": "0.0825", "WA": "0.101", "OR": "0", "CO": "0.0881", "NY": "0.08875", "IL": "0.1025",
    "FL": "0.07", "MA": "0.0625", "CA": "0.0775", "AZ": "0.086", "TN": "0.0925", "OH": "0.08",
    "DE": "0", "AK": "0", "HI": "0.04712",
}  # fmt: skip
_STATE_RATE = {k: Decimal(v) for k, v in _STATE_TAX.items()}
_INTL_PLACES = (
    ("Toronto", "ON", "M5V 2T6", "CA", "+1 416"), ("London", None, "SW1A 1AA", "GB", "+44 20"),
    ("Köln", None, "50667", "DE", "+49 221"), ("Lyon", None, "69002", "FR", "+33 4"),
    ("東京都渋谷区", "Tokyo", "150-0002", "JP", "+81 3"), ("Sydney", "NSW", "2000", "AU", "+61 2"),
    ("Ciudad de México", "CDMX", "06700", "MX", "+52 55"),
)  # fmt: skip
_DISCOUNT_CODES = (("SPRING10", "0.10"), ("WELCOME5", None), ("VIP15", "0.15"), ("SAVE20", "0.20"))

# (carrier, service, package, base cost, cost per lb)
_DOMESTIC_SERVICES = (
    ("stamps_com", "usps_first_class_mail", "package", "4.45", "0.60"),
    ("stamps_com", "usps_priority_mail", "package", "7.95", "1.10"),
    ("stamps_com", "usps_ground_advantage", "package", "5.25", "0.80"),
    ("ups_walleted", "ups_ground", "package", "9.40", "1.35"),
    ("fedex", "fedex_home_delivery", "package", "10.15", "1.40"),
    ("fedex", "fedex_2day", "fedex_pak", "18.90", "2.10"),
)  # fmt: skip
_INTL_SERVICES = (
    ("stamps_com", "usps_priority_mail_international", "package", "38.50", "4.00"),
    ("dhl_express_worldwide", "express_worldwide", "package", "42.10", "5.25"),
)  # fmt: skip
_REQUESTED = ("Standard Shipping", "Free Shipping", "Expedited", "Priority Mail", None)
_TAG_DEFS = (
    ("VIP", "#FFD700"), ("Gift", "#FF69B4"), ("Wholesale", "#1E90FF"), ("Fragile", "#FF4500"),
)  # fmt: skip


# Shared, never mutated: built once instead of once per order.
_INTL_SHIPPING = Decimal("24.00")
_FREE_SHIPPING_FROM = Decimal("75")
_SHIPPING_RATES = (ZERO, Decimal("4.99"), Decimal("7.99"), Decimal("12.50"))
_THREE_DAYS = timedelta(days=3)
_BOX = Dimensions(Decimal(10), Decimal(8), Decimal(4))


def _weighted(options: list[tuple[object, int]]) -> tuple[list[object], list[int]]:
    values = [v for v, _ in options]
    cumulative = list(accumulate(w for _, w in options))
    return values, cumulative


@dataclass(frozen=True, slots=True)
class Product:
    sku: str | None
    name: str
    unit_price: Decimal
    weight_oz: Decimal
    product_id: int | None
    upc: str | None
    warehouse_location: str | None
    image_url: str | None
    options: tuple[tuple[str, str], ...]


def _build_catalogue(rng: random.Random) -> list[Product]:
    products: list[Product] = []
    product_id = 7_100_000 + _randrange(rng, 0, 10_000)

    def add(sku: str | None, name: str, price: Decimal, weight: str, options=()) -> None:
        nonlocal product_id
        product_id += _randrange(rng, 1, 9)
        products.append(
            Product(
                sku=sku,
                name=name,
                unit_price=price,
                weight_oz=Decimal(weight),
                product_id=product_id if sku else None,
                upc=f"{_randrange(rng, 10**11, 10**12)}" if sku and rng.random() < 0.6 else None,
                warehouse_location=f"A{_randrange(rng, 1, 20)}-{_randrange(rng, 1, 9)}"
                if sku
                else None,
                image_url=f"https://cdn.example.com/img/{sku.lower()}.jpg" if sku else None,
                options=tuple(options),
            )
        )

    for code, title, base, weight, sized in _PRODUCT_LINES:
        price = money(Decimal(base) + Decimal(_randrange(rng, -100, 300)) / 100)
        for colour_code, colour in _COLOURS:
            sizes = _APPAREL_SIZES if sized else ("",)
            for size in sizes:
                sku = f"{code}-{colour_code}" + (f"-{size}" if size else "")
                name = f"{title} {colour}" + (f" {size}" if size else "")
                opts = [("Color", colour)] + ([("Size", size)] if size else [])
                add(sku, name, price, weight, opts)
    for sku, name, price, weight in _UNICODE_PRODUCTS:
        add(sku, name, Decimal(price), weight)
    add("SWEAT-LTD-FGRN-XXL", _LONG_PRODUCT_NAME, Decimal("89.00"), "26")
    # Personalised items: marketplaces send them without SKU (null or empty string).
    add(None, "Custom engraved cutting board", Decimal("48.00"), "30", [("Engraving", "Ω & ♥")])
    add("", "Personalised name necklace", Decimal("36.00"), "2", [("Name", "Zoë")])
    return products


# ---------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------


class MerchantGenerator:
    """Owns the seeded RNG and id counters of one account; also makes records "now".

    The stand-in keeps the generator of each account so orders and labels added later
    (incremental sync tests) come from the same vocabulary and id sequences.
    """

    def __init__(self, *, seed: int, stores: int = 5, now: datetime | None = None) -> None:
        if stores < 1:
            raise ValueError("an account needs at least one store")
        self.seed = seed
        self.now = _millis((now or datetime.now(UTC)).astimezone(UTC))
        self.rng = random.Random(seed)
        rng = self.rng
        self.seller_id = 300_000 + _randrange(rng, 0, 600_000)
        self.catalogue = _build_catalogue(rng)
        self.user_ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(3)]
        self.warehouse_id = 50_000 + _randrange(rng, 0, 10_000)
        self.tags = [Tag(100 + i, name, color) for i, (name, color) in enumerate(_TAG_DEFS)]
        self.stores, self._store_kinds = self._build_stores(stores)
        self._kind_by_store = {
            s.store_id: k for s, k in zip(self.stores, self._store_kinds, strict=True)
        }
        active = [(i, self._store_kinds[i].weight) for i, s in enumerate(self.stores) if s.active]
        self._store_choices, self._store_cumulative = _weighted(active)  # type: ignore[assignment]
        self._order_numbers = {s.store_id: 1000 for s in self.stores}
        self._next_order_id = 120_000_000 + _randrange(rng, 0, 1_000_000)
        self._next_item_id = 250_000_000 + _randrange(rng, 0, 1_000_000)
        self._next_shipment_id = 80_000_000 + _randrange(rng, 0, 1_000_000)
        self._next_fulfillment_id = 9_000_000 + _randrange(rng, 0, 100_000)
        self._next_customer_id = 40_000_000 + _randrange(rng, 0, 1_000_000)
        self._next_batch = 10_000 + _randrange(rng, 0, 1_000)

    # -- stores ---------------------------------------------------------------------------------

    def _build_stores(self, count: int) -> tuple[list[Store], list[StoreKind]]:
        rng = self.rng
        stores: list[Store] = []
        kinds: list[StoreKind] = []
        store_id = 20_000 + _randrange(rng, 0, 5_000)
        created = self.now - timedelta(days=400)
        for i in range(count + 1):
            inactive = i == count
            kind = STORE_KINDS[0] if inactive else STORE_KINDS[i % len(STORE_KINDS)]
            name = kind.store_name if i < len(STORE_KINDS) else f"{kind.store_name} {i + 1}"
            if inactive:
                name = "Northwind Goods (old shop)"
            store_id += _randrange(rng, 1, 40)
            refreshed = None if inactive else self.now - timedelta(minutes=_randrange(rng, 5, 240))
            stores.append(
                Store(
                    store_id=store_id,
                    store_name=name,
                    marketplace_id=kind.marketplace_id,
                    marketplace_name=kind.marketplace_name,
                    account_name=None if kind.kind == "manual" else f"northwind-{kind.kind}",
                    email=None,
                    integration_url=None
                    if kind.kind in ("manual", "amazon")
                    else f"https://{kind.kind}.example.com/northwind",
                    active=not inactive,
                    company_name="Northwind Goods LLC",
                    phone="512-555-0100",
                    public_email="hello@northwind.example",
                    website="https://northwind.example",
                    refresh_date=refreshed,
                    last_refresh_attempt=refreshed,
                    create_date=created + timedelta(days=i * 11),
                    modify_date=created + timedelta(days=i * 11 + 3),
                    auto_refresh=not inactive and kind.kind != "manual",
                    shipping_per_line=kind.shipping_per_line,
                )
            )
            kinds.append(kind)
        return stores, kinds

    def kind_of(self, store_id: int) -> StoreKind:
        return self._kind_by_store[store_id]

    def pick_store(self) -> Store:
        r = self.rng.random() * self._store_cumulative[-1]
        index = self._store_choices[bisect_right(self._store_cumulative, r)]
        return self.stores[index]  # type: ignore[index]

    # -- people and places ----------------------------------------------------------------------

    def _person(self) -> tuple[str, str | None]:
        """A display name and an ASCII e-mail slug (None for names with no obvious one)."""
        rng = self.rng
        r = rng.random()
        if r < 0.006:
            return _LONG_PERSON_NAME, "max.hohenzollern"
        if r < 0.02:
            return _CJK_NAMES[int(rng.random() * len(_CJK_NAMES))], None
        first, first_slug = _FIRST[int(rng.random() * len(_FIRST))]
        last, last_slug = _LAST[int(rng.random() * len(_LAST))]
        return f"{first} {last}", f"{first_slug}.{last_slug}"

    def _address(self, name: str, international: bool) -> Address:
        rng = self.rng
        street = f"{_randrange(rng, 1, 9999)} {_STREETS[int(rng.random() * len(_STREETS))]}"
        company = "Acme Corp" if rng.random() < 0.05 else None
        street2 = f"Apt {_randrange(rng, 1, 400)}" if rng.random() < 0.15 else None
        if international:
            city, state, postal, country, prefix = _INTL_PLACES[
                int(rng.random() * len(_INTL_PLACES))
            ]
            phone = f"{prefix} {_randrange(rng, 1000, 9999)} {_randrange(rng, 1000, 9999)}"
            return Address(
                name,
                company,
                street,
                street2,
                None,
                city,
                state,
                postal,
                country,
                phone,
                None,
                "Address not yet validated",
            )
        city, state, postal = _US_PLACES[int(rng.random() * len(_US_PLACES))]
        phone = (
            f"{_randrange(rng, 201, 989)}-555-{_randrange(rng, 1000, 9999)}"
            if rng.random() < 0.7
            else None
        )
        return Address(
            name,
            company,
            street,
            street2,
            None,
            city,
            state,
            postal,
            "US",
            phone,
            company is None,
            "Address validated successfully",
        )

    # -- orders ---------------------------------------------------------------------------------

    def _order_number(self, store: Store, kind: StoreKind) -> tuple[str, str]:
        rng = self.rng
        self._order_numbers[store.store_id] += 1
        n = self._order_numbers[store.store_id]
        if kind.kind == "amazon":
            a, b = _randrange(rng, 10**6, 10**7), _randrange(rng, 10**6, 10**7)
            number = f"1{_randrange(rng, 10, 99)}-{a}-{b}"
            return number, number
        if kind.kind == "ebay":
            a, b = _randrange(rng, 10**4, 10**5), _randrange(rng, 10**4, 10**5)
            number = f"{_randrange(rng, 10, 99)}-{a}-{b}"
            return number, f"{_randrange(rng, 10**11, 10**12)}-{_randrange(rng, 10**12, 10**13)}"
        if kind.kind == "etsy":
            number = str(3_000_000_000 + n * 7 + _randrange(rng, 0, 7))
            return number, number
        if kind.kind == "manual":
            return f"M-{n}", uuid.UUID(int=rng.getrandbits(128), version=4).hex
        return str(n), f"{5_500_000_000_000 + n * 1_000 + _randrange(rng, 0, 1_000)}"

    def _status(self, age_days: float) -> str:
        r = self.rng.random()
        if age_days < 1.5:
            table = (
                (0.50, "awaiting_shipment"),
                (0.85, "shipped"),
                (0.90, "on_hold"),
                (0.96, "awaiting_payment"),
                (1.0, "cancelled"),
            )
        else:
            table = (
                (0.86, "shipped"),
                (0.89, "awaiting_shipment"),
                (0.92, "on_hold"),
                (0.96, "cancelled"),
                (0.98, "awaiting_payment"),
                (0.99, "pending_fulfillment"),
                (1.0, "rejected_fulfillment"),
            )
        for bound, status in table:
            if r < bound:
                return status
        return "shipped"

    def _lines(
        self, store: Store, kind: StoreKind, rate: Decimal, created: datetime
    ) -> list[OrderItem]:
        rng = self.rng
        catalogue = self.catalogue
        r = rng.random()
        count = (
            1
            if r < 0.45
            else 2
            if r < 0.70
            else 3
            if r < 0.84
            else 4
            if r < 0.92
            else 5
            if r < 0.97
            else 6
        )
        items: list[OrderItem] = []
        for _ in range(count):
            if kind.kind == "etsy" and rng.random() < 0.15:
                product = catalogue[-2 if rng.random() < 0.5 else -1]
            else:
                product = catalogue[int(rng.random() * (len(catalogue) - 2))]
            q = rng.random()
            quantity = 1 if q < 0.72 else 2 if q < 0.92 else _randrange(rng, 3, 6)
            extended = product.unit_price * quantity
            tax = (extended * rate).quantize(CENT, rounding=ROUND_HALF_UP)
            if kind.shipping_per_line:
                line_shipping = ZERO if rng.random() < 0.5 else money(Decimal("3.99") * quantity)
            else:
                line_shipping = ZERO
            self._next_item_id += 1
            items.append(
                OrderItem(
                    order_item_id=self._next_item_id,
                    line_item_key=f"{self._next_item_id * 3 + 17}"
                    if kind.kind != "manual"
                    else None,
                    sku=product.sku,
                    name=product.name,
                    image_url=product.image_url,
                    weight_oz=product.weight_oz,
                    quantity=quantity,
                    unit_price=product.unit_price,
                    tax_amount=tax,
                    shipping_amount=line_shipping,
                    warehouse_location=product.warehouse_location,
                    options=product.options,
                    product_id=product.product_id,
                    fulfillment_sku=None,
                    adjustment=False,
                    upc=product.upc,
                    create_date=created,
                    modify_date=created,
                )
            )
        return items

    def _discount_line(self, items: list[OrderItem], created: datetime) -> OrderItem:
        rng = self.rng
        code, pct = _DISCOUNT_CODES[int(rng.random() * len(_DISCOUNT_CODES))]
        subtotal = sum((i.extended for i in items), ZERO)
        amount = money(subtotal * Decimal(pct)) if pct else min(Decimal("5.00"), subtotal)
        self._next_item_id += 1
        return OrderItem(
            order_item_id=self._next_item_id,
            line_item_key="discount",
            sku=None,
            name=code,
            image_url=None,
            weight_oz=None,
            quantity=1,
            unit_price=-amount,
            tax_amount=None,
            shipping_amount=None,
            warehouse_location=None,
            options=(),
            product_id=None,
            fulfillment_sku=None,
            adjustment=True,
            upc=None,
            create_date=created,
            modify_date=created,
        )

    def new_order(
        self,
        *,
        order_date: datetime,
        create_date: datetime,
        status: str,
        store: Store | None = None,
        random_mismatch: bool = True,
    ) -> tuple[Order, str | None]:
        """One order (no labels yet) and, if amountPaid deliberately differs, the reason.

        ``random_mismatch`` False (orders added through the control API): amountPaid is the
        order total, or 0.00 while awaiting payment; the caller decides anything else.
        """
        rng = self.rng
        store = store or self.pick_store()
        kind = self.kind_of(store.store_id)
        number, key = self._order_number(store, kind)
        name, slug = self._person()
        international = rng.random() < 0.08
        ship_to = self._address(name, international)
        marketplace_billing = kind.kind in ("amazon", "ebay")
        # Marketplaces hide the buyer's billing address; ShipStation then has only a name.
        bill_to = Address(name) if marketplace_billing else ship_to
        guest = kind.kind in ("manual", "shopify", "woocommerce") and rng.random() < 0.12
        if guest:
            customer_id = username = email = None
        else:
            self._next_customer_id += _randrange(rng, 1, 50)
            customer_id = self._next_customer_id
            local = slug or f"buyer{customer_id}"
            if kind.kind == "amazon":
                email = f"{rng.getrandbits(40):010x}@marketplace.amazon.com"
            else:
                email = f"{local}{_randrange(rng, 1, 99)}@example.com"
            username = (
                email
                if kind.kind != "ebay"
                else f"{local.replace('.', '_')}{_randrange(rng, 0, 100)}"
            )
        rate = ZERO if international else _STATE_RATE.get(ship_to.state or "", ZERO)
        items = self._lines(store, kind, rate, create_date)
        if kind.kind in ("shopify", "etsy", "manual", "woocommerce") and rng.random() < 0.12:
            items.append(self._discount_line(items, create_date))
        lines_total = sum((i.extended for i in items), ZERO)
        if kind.shipping_per_line:
            shipping = sum((i.shipping_amount or ZERO for i in items), ZERO)
        elif international:
            shipping = _INTL_SHIPPING
        elif lines_total >= _FREE_SHIPPING_FROM:
            shipping = ZERO
        else:
            shipping = _SHIPPING_RATES[int(rng.random() * len(_SHIPPING_RATES))]
        self._next_order_id += _randrange(rng, 1, 4)
        weight = sum((i.weight_oz * i.quantity for i in items if i.weight_oz), ZERO)
        order = Order(
            order_id=self._next_order_id,
            order_number=number,
            order_key=key,
            store_id=store.store_id,
            order_date=order_date,
            create_date=create_date,
            modify_date=create_date,
            payment_date=None if status == "awaiting_payment" else order_date,
            ship_by_date=order_date + _THREE_DAYS if kind.kind in ("amazon", "ebay") else None,
            status=status,
            customer_id=customer_id,
            customer_username=username,
            customer_email=email,
            bill_to=bill_to,
            ship_to=ship_to,
            items=items,
            amount_paid=ZERO,
            shipping_amount=shipping,
            payment_method=kind.payment_method,
            requested_shipping_service=_REQUESTED[int(rng.random() * len(_REQUESTED))],
            customer_notes="Please leave at the back door 🚪" if rng.random() < 0.03 else None,
            gift=(gift := rng.random() < 0.04),
            gift_message="Happy birthday! Alles Gute 🎂" if gift else None,
            weight_oz=weight,
            dimensions=_BOX if rng.random() < 0.3 else None,
            warehouse_id=self.warehouse_id,
            source=kind.source,
            custom_field1="Gift wrap" if gift else None,
            tag_ids=(self.tags[0].tag_id,) if rng.random() < 0.05 else None,
        )
        if international:
            order.international = InternationalOptions(
                contents="merchandise",
                customs_items=tuple(
                    CustomsItem(
                        customs_item_id=order.order_id * 10 + n,
                        description=(i.name or "Merchandise")[:50],
                        quantity=i.quantity,
                        value=i.unit_price,
                        harmonized_tariff_code="6109.10" if i.sku and "SHIRT" in i.sku else None,
                        country_of_origin="US",
                    )
                    for n, i in enumerate(x for x in items if not x.adjustment)
                ),
                non_delivery="return_to_sender",
            )
        if status == "on_hold":
            order.hold_until_date = (
                (self.now + timedelta(days=_randrange(rng, 1, 10)))
                .astimezone(PACIFIC)
                .replace(hour=0, minute=0, second=0, microsecond=0)
                .astimezone(UTC)
            )
        if not random_mismatch:
            order.amount_paid = ZERO if status == "awaiting_payment" else order.order_total
            return order, None
        return order, self._settle_payment(order, kind)

    def _settle_payment(self, order: Order, kind: StoreKind) -> str | None:
        rng = self.rng
        total = order.order_total
        if order.status == "awaiting_payment":
            order.amount_paid = ZERO
            return "awaiting_payment"
        r = rng.random()
        if kind.kind == "amazon" and order.status == "shipped" and r < 0.04:
            order.externally_fulfilled = True
            order.externally_fulfilled_by = "Amazon"
            order.externally_fulfilled_by_id = 1
            order.externally_fulfilled_by_name = "Fulfillment by Amazon"
            order.amount_paid = order.lines_total
            # Without shipping or tax charged, FBA pays exactly the total: nothing to flag.
            return "fba" if order.amount_paid != total else None
        if kind.kind in ("amazon", "ebay", "etsy") and r < 0.10 and order.tax_amount > ZERO:
            order.amount_paid = total - order.tax_amount
            return "marketplace_tax"
        if kind.kind == "shopify" and r < 0.03:
            coupon = min(Decimal("5.00"), money(order.lines_total / 4))
            if coupon > ZERO:
                order.amount_paid = total - coupon
                return "coupon"
        order.amount_paid = total
        return None

    # -- labels and fulfillments ----------------------------------------------------------------

    def new_label(
        self,
        order: Order,
        *,
        at: datetime,
        items: tuple[tuple[OrderItem, int], ...] | None = None,
        is_return: bool = False,
        shipment_cost: Decimal | None = None,
        insurance_cost: Decimal | None = None,
        carrier_code: str | None = None,
        service_code: str | None = None,
    ) -> Shipment:
        rng = self.rng
        if items is None:
            items = tuple((i, i.quantity) for i in order.items if not i.adjustment)
        weight = sum((i.weight_oz * q for i, q in items if i.weight_oz), ZERO) or Decimal("8")
        international = (order.ship_to.country or "US") != "US"
        services = _INTL_SERVICES if international else _DOMESTIC_SERVICES
        carrier, service, package, base, per_lb = services[int(rng.random() * len(services))]
        if carrier_code is not None:
            carrier = carrier_code
        if service_code is not None:
            service = service_code
        if shipment_cost is None:
            pounds = (weight / 16).to_integral_value()
            shipment_cost = money(Decimal(base) + Decimal(per_lb) * pounds)
        insured = (
            insurance_cost
            if insurance_cost is not None
            else (
                money(Decimal("1.05") + Decimal(_randrange(rng, 0, 250)) / 100)
                if rng.random() < 0.05
                else ZERO
            )
        )
        self._next_shipment_id += _randrange(rng, 1, 5)
        sid = self._next_shipment_id
        if carrier.startswith("ups"):
            tracking = f"1Z{rng.getrandbits(40):010X}{sid % 10**6:06d}"
        elif carrier == "fedex":
            tracking = f"{7700 + sid % 100:04d}{sid % 10**8:08d}"
        elif carrier.startswith("dhl"):
            tracking = f"{sid % 10**10:010d}"
        else:
            tracking = f"9400{_randrange(rng, 10**9, 10**10)}{sid:09d}"[:22]
        batch = None
        if rng.random() < 0.3:
            self._next_batch += 1
            batch = str(self._next_batch)
        ship_to = order.ship_to
        if is_return:
            # A return label travels from the buyer back to the merchant's warehouse.
            ship_to = Address(
                "Northwind Returns",
                "Northwind Goods LLC",
                "500 Warehouse Way",
                None,
                None,
                "Austin",
                "TX",
                "78744",
                "US",
                "512-555-0100",
                False,
                "Address validated successfully",
            )
        return Shipment(
            shipment_id=sid,
            order_id=order.order_id,
            order_key=order.order_key,
            order_number=order.order_number,
            store_id=order.store_id,
            user_id=self.user_ids[int(rng.random() * len(self.user_ids))],
            customer_email=order.customer_email,
            create_date=at,
            ship_date=pacific_date(at),
            shipment_cost=shipment_cost,
            insurance_cost=insured,
            tracking_number=tracking,
            is_return_label=is_return,
            batch_number=batch,
            carrier_code=carrier,
            service_code=service,
            package_code=package,
            confirmation="delivery" if rng.random() < 0.2 else None,
            warehouse_id=self.warehouse_id,
            ship_to=ship_to,
            weight_oz=weight,
            dimensions=order.dimensions,
            insured_value=order.lines_total if insured > ZERO else ZERO,
            items=items,
            marketplace_notified=not is_return,
        )

    def new_fulfillment(self, order: Order, *, at: datetime, fba: bool = False) -> Fulfillment:
        rng = self.rng
        self._next_fulfillment_id += _randrange(rng, 1, 4)
        if fba:
            provider, service, carrier = "amazon_fba", "standard", "amazon"
            fee = money(Decimal("3.22") + Decimal(_randrange(rng, 0, 300)) / 100)
        elif rng.random() < 0.3:
            provider, service, carrier = "shipbob", "shipbob_standard", "usps"
            fee = money(Decimal("2.00") + Decimal(_randrange(rng, 0, 250)) / 100)
        else:
            provider = service = None
            carrier = "usps" if rng.random() < 0.6 else "other"
            fee = ZERO
        tracking = f"92{_randrange(rng, 10**19, 10**20)}" if rng.random() < 0.8 else None
        return Fulfillment(
            fulfillment_id=self._next_fulfillment_id,
            order_id=order.order_id,
            order_number=order.order_number,
            store_id=order.store_id,
            user_id=None if fba else self.user_ids[0],
            customer_email=order.customer_email,
            tracking_number=tracking,
            create_date=at,
            ship_date=pacific_date(at),
            carrier_code=carrier,
            fulfillment_provider_code=provider,
            fulfillment_service_code=service,
            fulfillment_fee=fee,
            ship_to=order.ship_to,
            seller_fill_provider_id=None if provider != "shipbob" else 4012,
            seller_fill_provider_name=None if provider != "shipbob" else "ShipBob",
            delivery_date=at + timedelta(days=3) if at + timedelta(days=3) < self.now else None,
        )

    def ship_order_history(
        self, order: Order, now: datetime
    ) -> tuple[list[Shipment], list[Fulfillment]]:
        """Labels (or fulfillments) of an order generated as shipped, with their dates."""
        rng = self.rng
        latest = now - timedelta(seconds=30)
        if order.externally_fulfilled:
            at = min(order.create_date + timedelta(hours=rng.uniform(2, 30)), latest)
            fulfillment = self.new_fulfillment(order, at=max(at, order.create_date), fba=True)
            order.ship_date = fulfillment.ship_date
            order.modify_date = max(order.modify_date, fulfillment.create_date)
            return [], [fulfillment]
        if rng.random() < 0.11:
            at = min(order.create_date + timedelta(hours=rng.uniform(1, 48)), latest)
            fulfillment = self.new_fulfillment(order, at=max(at, order.create_date))
            order.ship_date = fulfillment.ship_date
            order.carrier_code = fulfillment.carrier_code
            order.modify_date = max(order.modify_date, fulfillment.create_date)
            return [], [fulfillment]

        def when(after: datetime, lo_hours: float, hi_hours: float) -> datetime:
            moment = after + timedelta(hours=rng.uniform(lo_hours, hi_hours))
            return _millis(max(after, min(moment, latest)))

        labels: list[Shipment] = []
        at = when(order.create_date, 0.5, 72)
        r = rng.random()
        physical = [i for i in order.items if not i.adjustment]
        if r < 0.05:
            voided = self.new_label(order, at=at)
            voided.voided = True
            voided.void_date = when(at, 0.2, 5)
            labels.append(voided)
            labels.append(self.new_label(order, at=when(voided.void_date, 0.05, 2)))
        elif r < 0.11 and (len(physical) > 1 or physical[0].quantity > 1):
            if len(physical) > 1:
                cut = max(1, len(physical) // 2)
                first = tuple((i, i.quantity) for i in physical[:cut])
                second = tuple((i, i.quantity) for i in physical[cut:])
            else:
                line = physical[0]
                first, second = ((line, 1),), ((line, line.quantity - 1),)
            labels.append(self.new_label(order, at=at, items=first))
            labels.append(self.new_label(order, at=when(at, 0, 30), items=second))
        else:
            labels.append(self.new_label(order, at=at))
        if rng.random() < 0.03:
            back = order.create_date + timedelta(days=rng.uniform(3, 20))
            if back < latest:
                labels.append(self.new_label(order, at=_millis(back), is_return=True))
        self.apply_labels_to_order(order, labels)
        return labels, []

    @staticmethod
    def apply_labels_to_order(order: Order, labels: list[Shipment]) -> None:
        outbound = [s for s in labels if not s.voided and not s.is_return_label]
        if outbound:
            first = min(outbound, key=lambda s: s.create_date)
            order.ship_date = first.ship_date
            order.carrier_code = first.carrier_code
            order.service_code = first.service_code
            order.package_code = first.package_code
            order.confirmation = first.confirmation
            order.user_id = first.user_id
            if first.insurance_cost > ZERO:
                order.insure_shipment = True
                order.insured_value = first.insured_value
        moments = [s.create_date for s in labels] + [s.void_date for s in labels if s.void_date]
        order.modify_date = max([order.modify_date, *moments])


def _millis(moment: datetime) -> datetime:
    # ShipStation stores times with millisecond precision.
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def generate_merchant(
    *,
    seed: int,
    orders: int,
    days: int = 45,
    stores: int = 5,
    now: datetime | None = None,
) -> tuple[MerchantData, MerchantGenerator]:
    """Generate one account's data; also return the generator for later additions."""
    with paused_gc():
        return _generate(seed=seed, orders=orders, days=days, stores=stores, now=now)


def _generate(
    *, seed: int, orders: int, days: int, stores: int, now: datetime | None
) -> tuple[MerchantData, MerchantGenerator]:
    gen = MerchantGenerator(seed=seed, stores=stores, now=now)
    rng = gen.rng
    now = gen.now
    span = max(days * 86_400, 3_600)
    # Oldest first so ids grow with time; at least 40 min old so every later date fits.
    offsets = sorted((rng.uniform(2_400, span) for _ in range(orders)), reverse=True)
    data = MerchantData(
        seller_id=gen.seller_id,
        stores=gen.stores,
        tags=gen.tags,
        orders=[],
        shipments=[],
        fulfillments=[],
        user_ids=gen.user_ids,
    )
    for offset in offsets:
        order_date = (now - timedelta(seconds=offset)).replace(microsecond=0)
        create_date = _millis(order_date + timedelta(seconds=rng.uniform(60, 1_800)))
        status = gen._status(offset / 86_400)
        order, reason = gen.new_order(order_date=order_date, create_date=create_date, status=status)
        if reason:
            data.mismatched[order.order_id] = reason
        if status == "shipped":
            labels, fulfillments = gen.ship_order_history(order, now)
            data.shipments.extend(labels)
            data.fulfillments.extend(fulfillments)
        elif status == "cancelled":
            cancelled = order.create_date + timedelta(hours=rng.uniform(0.1, 20))
            order.modify_date = _millis(min(cancelled, now - timedelta(seconds=30)))
        if rng.random() < 0.10:
            # A later edit (notes, tags): modifyDate moves, nothing else a sync needs changes.
            later = order.modify_date + (now - order.modify_date) * rng.random()
            order.modify_date = _millis(later)
            order.internal_notes = "Customer asked about delivery window"
        data.orders.append(order)
    return data, gen
