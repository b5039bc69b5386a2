"""The seeded generator of one merchant account: stores, customers, addresses and orders."""

from __future__ import annotations

import random
import uuid
from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sandbox.generator.shipping import ShippingHistory
from sandbox.generator.vocabulary import (
    _BOX,
    _CJK_NAMES,
    _DISCOUNT_CODES,
    _FIRST,
    _FREE_SHIPPING_FROM,
    _INTL_PLACES,
    _INTL_SHIPPING,
    _LAST,
    _LONG_PERSON_NAME,
    _REQUESTED,
    _SHIPPING_RATES,
    _STATE_RATE,
    _STREETS,
    _TAG_DEFS,
    _THREE_DAYS,
    _US_PLACES,
    CENT,
    STORE_KINDS,
    StoreKind,
    _build_catalogue,
    _millis,
    _randrange,
    _weighted,
    money,
)
from sandbox.shipstation.dates import PACIFIC
from sandbox.shipstation.models import (
    ZERO,
    Address,
    CustomsItem,
    InternationalOptions,
    Order,
    OrderItem,
    Store,
    Tag,
)


class MerchantGenerator(ShippingHistory):
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
