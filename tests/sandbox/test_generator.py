"""The merchant data generator: deterministic, realistic, and honest about its money."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from sandbox.framework import json_bytes
from sandbox.generator import generate_merchant
from sandbox.shipstation import wire
from tests.sandbox.support import NOW

ZERO = Decimal("0.00")


def snapshot(seed: int, orders: int = 400) -> bytes:
    data, _ = generate_merchant(seed=seed, orders=orders, days=30, now=NOW)
    return json_bytes(
        {
            "stores": [wire.store(s) for s in data.stores],
            "orders": [wire.order(o) for o in data.orders],
            "shipments": [wire.shipment(s, include_items=True) for s in data.shipments],
            "fulfillments": [wire.fulfillment(f) for f in data.fulfillments],
            "mismatched": {str(k): v for k, v in data.mismatched.items()},
        }
    )


def test_same_seed_gives_identical_data():
    assert snapshot(5) == snapshot(5)


def test_different_seed_gives_different_data():
    assert snapshot(5) != snapshot(6)


@pytest.fixture(scope="module")
def data():
    merchant, _ = generate_merchant(seed=3, orders=3000, days=45, stores=5, now=NOW)
    return merchant


def test_orders_spread_over_the_window_with_ordered_dates(data):
    assert len(data.orders) == 3000
    oldest = min(o.order_date for o in data.orders)
    assert (NOW - oldest).days in (43, 44)
    ids = [o.order_id for o in data.orders]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for o in data.orders:
        assert o.order_date < o.create_date <= o.modify_date <= NOW


def test_status_mix_is_mostly_shipped_with_every_other_kind_present(data):
    counts = Counter(o.status for o in data.orders)
    assert counts["shipped"] / len(data.orders) > 0.7
    for status in ("awaiting_shipment", "on_hold", "cancelled", "awaiting_payment"):
        assert counts[status] > 0, status
    assert all(o.hold_until_date for o in data.orders if o.status == "on_hold")
    assert all(o.payment_date is None for o in data.orders if o.status == "awaiting_payment")


def test_stores_cover_several_marketplaces_and_one_inactive(data):
    names = {s.marketplace_name for s in data.stores}
    assert {"Shopify", "Amazon", "eBay", "Etsy", "ShipStation"} <= names
    assert [s.active for s in data.stores].count(False) == 1
    used = Counter(o.store_id for o in data.orders)
    assert len(used) == 5


def test_totals_obey_the_documented_relationships(data):
    for o in data.orders:
        lines = sum((i.unit_price * i.quantity for i in o.items), ZERO)
        tax = sum((i.tax_amount for i in o.items if i.tax_amount is not None), ZERO)
        assert o.tax_amount == tax
        assert o.order_total == lines + o.shipping_amount + tax
        if o.order_id in data.mismatched:
            assert o.amount_paid != o.order_total
        else:
            assert o.amount_paid == o.order_total
        for amount in (o.amount_paid, o.shipping_amount, tax):
            assert amount == amount.quantize(Decimal("0.01"))


def test_shipping_is_either_per_line_or_per_order_never_both(data):
    per_line = {s.store_id for s in data.stores if s.shipping_per_line}
    assert per_line
    for o in data.orders:
        line_shipping = sum((i.shipping_amount or ZERO for i in o.items), ZERO)
        if o.store_id in per_line:
            assert o.shipping_amount == line_shipping
        else:
            assert line_shipping == ZERO


def test_every_kind_of_mismatch_is_flagged_with_its_reason(data):
    reasons = Counter(data.mismatched.values())
    assert set(reasons) == {"coupon", "marketplace_tax", "fba", "awaiting_payment"}
    by_id = {o.order_id: o for o in data.orders}
    for order_id, reason in data.mismatched.items():
        o = by_id[order_id]
        if reason == "marketplace_tax":
            assert o.amount_paid == o.order_total - o.tax_amount
        elif reason == "fba":
            assert o.externally_fulfilled and o.amount_paid == o.lines_total
        elif reason == "awaiting_payment":
            assert o.amount_paid == ZERO
        else:
            assert ZERO < o.order_total - o.amount_paid <= Decimal("5.00")


def test_messy_real_world_content_is_present(data):
    items = [i for o in data.orders for i in o.items]
    discounts = [i for i in items if i.line_item_key == "discount"]
    assert discounts and all(i.adjustment and i.unit_price < 0 for i in discounts)
    assert any(i.sku is None and not i.adjustment for i in items)
    assert any(i.sku == "" for i in items)
    names = [o.ship_to.name or "" for o in data.orders]
    assert any(len(n) > 100 for n in names)
    assert any(any(ord(c) > 0x3000 for c in n) for n in names)
    assert any(o.customer_email is None and o.customer_id is None for o in data.orders)
    assert any(o.ship_to.country != "US" and o.international for o in data.orders)


def test_labels_fulfillments_voids_and_returns(data):
    by_order = Counter(s.order_id for s in data.shipments)
    shipped = [o for o in data.orders if o.status == "shipped"]
    fulfilled = {f.order_id for f in data.fulfillments}
    assert max(by_order.values()) >= 2
    assert any(s.voided and s.void_date and s.void_date > s.create_date for s in data.shipments)
    assert any(s.is_return_label for s in data.shipments)
    assert fulfilled and not fulfilled & set(by_order)
    assert any(f.fulfillment_fee > ZERO for f in data.fulfillments)
    for o in shipped:
        assert o.order_id in by_order or o.order_id in fulfilled
        assert o.ship_date is not None
    for s in data.shipments:
        assert s.shipment_cost > ZERO
        assert s.create_date <= NOW


def test_the_demo_account_is_what_the_readme_says():
    """README (Quick start, Sandbox stand-ins): 6 stores, 5 active with 600 orders over 45
    days (506 labels), and one inactive store without orders."""
    from pathlib import Path

    from sandbox import shipstation

    data, _ = generate_merchant(
        seed=shipstation.DEMO_SEED,
        orders=shipstation.DEMO_ORDERS,
        days=shipstation.DEMO_DAYS,
        stores=shipstation.DEMO_STORES,
        now=NOW,
    )
    active = [s for s in data.stores if s.active]
    [inactive] = [s for s in data.stores if not s.active]
    assert (len(data.stores), len(active), len(data.orders), len(data.shipments)) == (
        6,
        5,
        600,
        506,
    )
    assert inactive.store_name == "Northwind Goods (old shop)"
    assert {o.store_id for o in data.orders} == {s.store_id for s in active}
    readme = Path(__file__).resolve().parents[2].joinpath("README.md").read_text()
    assert "The demo ShipStation account has 6 stores: 5 active ones with 600 orders" in readme
    assert "over the last 45 days (506 labels)" in readme
    assert "600 orders over 45 days in 5 active stores, plus 1 inactive store" in readme
