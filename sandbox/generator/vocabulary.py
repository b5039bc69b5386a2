"""What fake merchants are made of: store kinds, products, names, places, discount codes,
shipping services and tags, all fixed; the seeded RNG only picks among them."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate

from sandbox.shipstation.models import ZERO, Dimensions

CENT = Decimal("0.01")


def _randrange(rng: random.Random, lo: int, hi: int) -> int:
    """``rng.randrange(lo, hi)`` at a tenth of the cost (plenty uniform for fake data)."""
    return lo + int(rng.random() * (hi - lo))


def money(value: Decimal | str | int) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


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


def _millis(moment: datetime) -> datetime:
    # ShipStation stores times with millisecond precision.
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
