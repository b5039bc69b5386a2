"""The dashboard's figures come from the day-by-day running totals (sales/rollup_daily.py)
and equal the Sales tab's totals for the same filters to the cent: a property test over
random filters (periods, custom ranges, store, connection, order and posting status, label,
difference) in several time zones, with orders written, edited, merged and deleted through
every path, before and after compaction; the charts add up to the totals; the top SKUs equal
adding up the order lines."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sales import rollup_daily
from sales.dashboard_charts import dashboard_charts
from sales.filters import OrderFilters, preset_range
from sales.models import FulfillmentFee, Order, OrderLine, PostingStatus
from sales.selectors_tab import order_summary
from tests.sales.factories import make_connection, make_order, make_store
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC)
ZONES = ["America/New_York", "UTC", "Asia/Kolkata", "Pacific/Auckland", "America/Los_Angeles"]
STATUSES = ["shipped", "awaiting_shipment", "cancelled"]
POSTING = [s.value for s in PostingStatus]


def cents(rng: random.Random, top: int) -> Decimal:
    return Decimal(rng.randint(0, top)) / 100


@pytest.fixture
def shop(org_a, org_b):
    """~300 orders in two connections and three stores over the last 100 days (some
    undated), two currencies, every posting status; lines with SKUs; then edits."""
    rng = random.Random(21)
    east, west = make_connection(org_a, "East"), make_connection(org_a, "West")
    stores = [make_store(east, "Shopify"), make_store(east, "Amazon"), make_store(west, "Etsy")]
    orders = []
    for n in range(300):
        store = rng.choice(stores)
        total = cents(rng, 30000)
        order = make_order(
            org_a,
            source_store=store,
            order_date=None if n % 37 == 0 else NOW - timedelta(minutes=rng.randint(0, 144000)),
            status=rng.choice(STATUSES),
            posting_status=rng.choice(POSTING),
            currency="EUR" if n % 7 == 0 else "USD",
            order_total=total,
            shipping_charged=cents(rng, 2000),
            label_cost_total=cents(rng, 1500) if n % 3 else Decimal("0.00"),
            return_label_cost_total=cents(rng, 900) if n % 11 == 0 else Decimal("0.00"),
            label_status="has_label" if n % 3 else "missing",
            reconciliation_difference=Decimal("0.00") if n % 5 else cents(rng, 500),
            lines=[
                {"sku": f"SKU-{rng.randint(1, 12)}", "quantity": str(rng.randint(1, 3)),
                 "unit_price": str(cents(rng, 5000))}
                for _ in range(rng.randint(1, 3))
            ] + ([{"sku": "", "name": "Coupon", "unit_price": "-5.00", "is_discount": True}]
                 if n % 13 == 0 else []),
        )  # fmt: skip
        orders.append(order)
        if n % 9 == 0:  # fulfillment fees (some voided) count in the totals like the Sales tab's
            FulfillmentFee.all_orgs.create(
                organization=org_a, connection=store.connection, external_id=f"ff-{n}",
                order=order, fee=cents(rng, 800), voided=n % 27 == 0,
            )  # fmt: skip
    rollup_daily.daily_rollup_compact()  # half of the writes folded, half pending
    # Edits after compaction: bulk updates, single saves, moves between days and stores,
    # merges, line edits and deletes (each through its own trigger path).
    Order.all_orgs.filter(organization=org_a, pk__in=[o.pk for o in orders[:40]]).update(
        posting_status=PostingStatus.POSTED
    )
    for order in orders[40:60]:
        order.order_date = NOW - timedelta(days=rng.randint(0, 90), minutes=rng.randint(0, 900))
        order.source_store = rng.choice(stores)
        order.connection = order.source_store.connection
        order.order_total += Decimal("1.01")
        order.save()
    Order.all_orgs.filter(pk__in=[o.pk for o in orders[60:70]]).update(
        posting_status=PostingStatus.MERGED
    )
    OrderLine.all_orgs.filter(order__in=orders[70:90]).update(quantity=Decimal("4"))
    OrderLine.all_orgs.filter(order__in=orders[90:95]).delete()
    for order in orders[95:100]:
        OrderLine.all_orgs.filter(order=order).delete()
        order.delete()
    # Another organization's orders on the same days never count.
    other = make_store(make_connection(org_b, "B"))
    for _ in range(20):
        make_order(org_b, source_store=other, order_date=NOW - timedelta(days=1),
                   lines=[{"sku": "SKU-1", "unit_price": "999.00"}])  # fmt: skip
    return {"stores": stores, "connections": [east, west]}


filter_values = st.fixed_dictionaries(
    {
        "preset": st.sampled_from(["today", "7d", "30d", "this_month", "last_month", "custom"]),
        "start": st.integers(min_value=0, max_value=110),
        "length": st.integers(min_value=0, max_value=60),
        "open_end": st.sampled_from(["", "from", "to"]),
        "store": st.integers(min_value=-1, max_value=2),
        "connection": st.integers(min_value=-1, max_value=1),
        "status": st.sampled_from(["", *STATUSES]),
        "posting": st.sampled_from(["", *POSTING]),
        "label": st.sampled_from(["", "has", "missing"]),
        "difference": st.booleans(),
        "zone": st.sampled_from(ZONES),
        "compact": st.booleans(),
    }
)


def build_filters(v, shop, tz) -> OrderFilters:
    today = NOW.astimezone(tz).date()
    first = today - timedelta(days=v["start"])
    last = first + timedelta(days=v["length"])
    start, end = preset_range(
        v["preset"], tz=tz, now=NOW,
        date_from=None if v["open_end"] == "from" else first,
        date_to=None if v["open_end"] == "to" else last,
    )  # fmt: skip
    return OrderFilters(
        date_from=start,
        date_until=end,
        store_id=shop["stores"][v["store"]].pk if v["store"] >= 0 else None,
        connection_id=shop["connections"][v["connection"]].pk if v["connection"] >= 0 else None,
        status=v["status"],
        posting_status=v["posting"],
        label=v["label"],
        difference=v["difference"],
        preset=v["preset"],
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(v=filter_values)
def test_dashboard_totals_equal_the_sales_tab_to_the_cent(org_a, shop, v):
    if org_a.timezone != v["zone"]:
        org_a.timezone = v["zone"]
        org_a.save()  # the days move to the new zone (a trigger recomputes them)
    if v["compact"]:
        rollup_daily.daily_rollup_compact()
    filters = build_filters(v, shop, org_a.tzinfo)
    with org_scope(org_a.pk):
        charts = dashboard_charts(organization=org_a, filters=filters)
        expected = order_summary(organization=org_a, filters=filters).totals
    assert charts.totals == expected  # fulfillment fees included
    # The money charts (drawn in the main currency) add up to that currency's totals.
    main = next((t for t in charts.totals if t.currency == charts.currency), None)
    if main is not None and filters.date_from is not None:
        assert sum(sum(s["data"]) for s in charts.sales_by_store) == main.total_sales
        assert sum(charts.shipping["charged"]) == main.shipping_charged
        assert sum(charts.shipping["labels"]) == main.label_costs
        assert sum(charts.shipping["margin"]) == main.shipping_margin


def test_top_skus_equal_adding_up_the_order_lines(org_a, shop):
    tz = org_a.tzinfo
    start, end = preset_range("30d", tz=tz, now=NOW)
    filters = OrderFilters(date_from=start, date_until=end, store_id=shop["stores"][0].pk)
    expected = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for line in (
        OrderLine.all_orgs.filter(
            organization=org_a,
            order__order_date__gte=start,
            order__order_date__lt=end,
            order__source_store=shop["stores"][0],
            is_discount=False,
            is_adjustment=False,
        )
        .exclude(order__posting_status=PostingStatus.MERGED)
        .select_related("order")
    ):
        key = (line.sku, line.order.currency)
        expected[key][0] += line.quantity
        expected[key][1] += line.quantity * line.unit_price
    top = rollup_daily.top_skus(organization_id=org_a.pk, filters=filters, tz=tz, limit=100)
    assert {(s.sku, s.currency): [s.quantity, s.revenue] for s in top} == dict(expected)
    assert [s.revenue for s in top] == sorted((s.revenue for s in top), reverse=True)
    rollup_daily.daily_rollup_compact()
    again = rollup_daily.top_skus(organization_id=org_a.pk, filters=filters, tz=tz, limit=100)
    assert again == top


def test_the_page_shows_the_sales_tab_totals_and_draws_from_a_static_script(
    client, member_of_a, org_a, shop
):
    client.force_login(member_of_a.user)
    page = client.get(f"/o/{org_a.slug}/?preset=7d").content.decode()
    start, end = preset_range("7d", tz=org_a.tzinfo)
    with org_scope(org_a.pk):
        totals = order_summary(
            organization=org_a, filters=OrderFilters(date_from=start, date_until=end)
        ).totals
    assert totals
    for t in totals:
        row = page[page.index(f'<tr data-currency="{t.currency}">') :]
        row = row[: row.index("</tr>")]
        assert f'data-field="orders">{t.orders}<' in row
        assert f'data-field="total_sales">{t.total_sales}<' in row
        assert f'data-field="label_costs">{t.label_costs}<' in row
    assert 'id="dashboard-charts-data" type="application/json"' in page
    assert "/static/vendor/chartjs-4.6.1/chart.umd.min.js" in page
    assert "/static/js/dashboard.js" in page
    assert "<script>" not in page  # no inline script (the CSP allows none)
