"""Long dashboard periods read the month totals (migration 0021): whole months from
``sales_order_monthly`` / ``sales_sku_monthly`` plus their day rows not folded yet, the days
around them from the day totals, and part-months as their month minus its other days. The
figures equal the Sales tab's to the cent over random periods of up to 14 months, starting and
ending anywhere (month boundaries included), open at either end, in several time zones, with
writes folded into months, pending, and moved between months; the month charts add up to the
totals; the top SKUs equal adding up the order lines at every level (store, connection, all);
the month rows always equal the folded day rows they stand for."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sales import rollup_daily
from sales.dashboard_charts import MAX_DAYS, dashboard_charts
from sales.filters import OrderFilters, preset_range
from sales.models import Order, OrderLine, PostingStatus
from sales.selectors_tab import order_summary
from tests.sales.factories import make_connection, make_order, make_store
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC)
ZONES = ["America/New_York", "UTC", "Asia/Kolkata", "Pacific/Auckland", "America/Los_Angeles"]
POSTING = [s.value for s in PostingStatus]


def cents(rng: random.Random, top: int) -> Decimal:
    return Decimal(rng.randint(0, top)) / 100


def month_edges(months_back: int) -> list[datetime]:
    """Instants a minute either side of the last ``months_back`` first-of-month midnights in
    every zone of ZONES: the orders a wrong zone or a wrong month edge would misplace."""
    edges = []
    for zone in ZONES:
        tz = ZoneInfo(zone)
        first = NOW.astimezone(tz).date().replace(day=1)
        for _ in range(months_back):
            midnight = datetime.combine(first, time.min, tzinfo=tz)
            edges += [midnight - timedelta(minutes=1), midnight, midnight + timedelta(minutes=1)]
            first = (first - timedelta(days=1)).replace(day=1)
    return edges


@pytest.fixture
def year_shop(org_a, org_b):
    """~260 orders over the last 14 months (a third of them at month edges), two connections,
    three stores, two currencies, every posting status, lines with SKUs; compacted into
    months, then edited (moves across months, status changes, merges, deletes) so that
    some months have pending day rows."""
    rng = random.Random(2021)
    east, west = make_connection(org_a, "East"), make_connection(org_a, "West")
    stores = [make_store(east, "Shopify"), make_store(east, "Amazon"), make_store(west, "Etsy")]
    edges = month_edges(14)
    orders = []
    for n in range(260):
        store = rng.choice(stores)
        when = (
            rng.choice(edges)
            if n % 3 == 0
            else NOW - timedelta(minutes=rng.randint(0, 60 * 24 * 425))
        )
        orders.append(
            make_order(
                org_a,
                source_store=store,
                order_date=None if n % 41 == 0 else when,
                status=rng.choice(["shipped", "awaiting_shipment", "cancelled"]),
                posting_status=rng.choice(POSTING),
                currency="EUR" if n % 7 == 0 else "USD",
                order_total=cents(rng, 30000),
                shipping_charged=cents(rng, 2000),
                label_cost_total=cents(rng, 1500) if n % 3 else Decimal("0.00"),
                label_status="has_label" if n % 3 else "missing",
                reconciliation_difference=Decimal("0.00") if n % 5 else cents(rng, 500),
                lines=[
                    {
                        "sku": f"SKU-{rng.randint(1, 9)}",
                        "quantity": str(rng.randint(1, 3)),
                        "unit_price": str(cents(rng, 5000)),
                    }
                    for _ in range(rng.randint(1, 3))
                ],
            )  # fmt: skip
        )
    rollup_daily.daily_rollup_compact()  # everything so far folded into days and months
    Order.all_orgs.filter(pk__in=[o.pk for o in orders[:30]]).update(
        posting_status=PostingStatus.POSTED
    )
    for order in orders[30:50]:  # to another month and store
        order.order_date = NOW - timedelta(days=rng.randint(0, 420), minutes=rng.randint(0, 900))
        order.source_store = rng.choice(stores)
        order.connection = order.source_store.connection
        order.save()
    rollup_daily.daily_rollup_compact()
    Order.all_orgs.filter(pk__in=[o.pk for o in orders[50:60]]).update(
        posting_status=PostingStatus.MERGED
    )
    OrderLine.all_orgs.filter(order__in=orders[60:75]).update(quantity=Decimal("5"))
    for order in orders[75:80]:
        OrderLine.all_orgs.filter(order=order).delete()
        order.delete()
    for order in orders[80:90]:  # pending: moved a month back, not compacted
        if order.order_date is not None:
            order.order_date -= timedelta(days=31)
            order.save()
    other = make_store(make_connection(org_b, "B"))
    for days_back in (1, 40, 200):  # another organization's orders never count
        make_order(org_b, source_store=other, order_date=NOW - timedelta(days=days_back),
                   lines=[{"sku": "SKU-1", "unit_price": "999.00"}])  # fmt: skip
    return {"stores": stores, "connections": [east, west]}


def month_rows_equal_folded_days(organization_id: int) -> None:
    """The invariant of migration 0021, at every level of the SKU months."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT m.*, d.* FROM (
                SELECT month, store_id, connection_id, status, posting_status, has_label,
                       has_difference, currency, sum(orders) o, sum(order_total) t,
                       sum(shipping_charged) s, sum(label_costs) l
                FROM sales_order_monthly WHERE organization_id = %(org)s
                GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(orders) <> 0 OR sum(order_total) <> 0
            ) m FULL JOIN (
                SELECT date_trunc('month', day)::date AS month, store_id, connection_id, status,
                       posting_status, has_label, has_difference, currency, sum(orders) o,
                       sum(order_total) t, sum(shipping_charged) s, sum(label_costs) l
                FROM sales_order_daily WHERE organization_id = %(org)s AND folded
                GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(orders) <> 0 OR sum(order_total) <> 0
            ) d USING (month, store_id, connection_id, status, posting_status, has_label,
                       has_difference, currency)
            WHERE (m.o, m.t, m.s, m.l) IS DISTINCT FROM (d.o, d.t, d.s, d.l)
            """,
            {"org": organization_id},
        )
        assert cursor.fetchall() == []
        levels = (  # (the day rows' store and connection at the level, month rows' filter)
            ("store_id", "connection_id", "store_id <> -1"),
            ("-1", "connection_id", "store_id = -1 AND connection_id <> -1"),
            ("-1", "-1", "store_id = -1 AND connection_id = -1"),
        )
        for store, conn, level in levels:
            cursor.execute(
                f"""
                SELECT * FROM (
                    SELECT month, store_id, connection_id, currency, sku, quantity, revenue
                    FROM sales_sku_monthly WHERE organization_id = %(org)s AND {level}
                      AND (quantity <> 0 OR revenue <> 0)
                ) m FULL JOIN (
                    SELECT date_trunc('month', day)::date AS month, {store} AS store_id,
                           {conn} AS connection_id, currency, sku,
                           sum(quantity) quantity, sum(revenue) revenue
                    FROM sales_sku_daily WHERE organization_id = %(org)s AND folded
                    GROUP BY 1, 2, 3, 4, 5 HAVING sum(quantity) <> 0 OR sum(revenue) <> 0
                ) d USING (month, store_id, connection_id, currency, sku)
                WHERE (m.quantity, m.revenue) IS DISTINCT FROM (d.quantity, d.revenue)
                """,  # noqa: S608 - fixed fragments only
                {"org": organization_id},
            )
            assert cursor.fetchall() == [], level


filter_values = st.fixed_dictionaries(
    {
        "preset": st.sampled_from(["custom", "custom", "custom", "30d", "last_month", ""]),
        "start": st.integers(min_value=0, max_value=430),
        "length": st.integers(min_value=0, max_value=430),
        "month_start": st.booleans(),  # the period starts on the first of a month
        "open_end": st.sampled_from(["", "", "from", "to"]),
        "store": st.integers(min_value=-1, max_value=2),
        "connection": st.integers(min_value=-1, max_value=1),
        "posting": st.sampled_from(["", "", *POSTING]),
        "label": st.sampled_from(["", "has", "missing"]),
        "difference": st.booleans(),
        "zone": st.sampled_from(ZONES),
        "compact": st.booleans(),
    }
)


def build_filters(v, shop, tz) -> OrderFilters:
    today = NOW.astimezone(tz).date()
    first = today - timedelta(days=v["start"])
    if v["month_start"]:
        first = first.replace(day=1)
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
        posting_status=v["posting"],
        label=v["label"],
        difference=v["difference"],
        preset=v["preset"],
    )


def expected_skus(org, filters: OrderFilters) -> dict[tuple[str, str], list[Decimal]]:
    lines = OrderLine.all_orgs.filter(
        organization=org, is_discount=False, is_adjustment=False, order__order_date__isnull=False
    ).exclude(order__posting_status=PostingStatus.MERGED)
    if filters.date_from is not None:
        lines = lines.filter(order__order_date__gte=filters.date_from)
    if filters.date_until is not None:
        lines = lines.filter(order__order_date__lt=filters.date_until)
    if filters.store_id is not None:
        lines = lines.filter(order__source_store_id=filters.store_id)
    if filters.connection_id is not None:
        lines = lines.filter(order__connection_id=filters.connection_id)
    expected = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for line in lines.select_related("order"):
        key = (line.sku, line.order.currency)
        expected[key][0] += line.quantity
        expected[key][1] += line.quantity * line.unit_price
    return {k: v for k, v in expected.items() if v[0] or v[1]}


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(v=filter_values)
def test_long_periods_equal_the_sales_tab_to_the_cent(org_a, year_shop, v):
    if org_a.timezone != v["zone"]:
        org_a.timezone = v["zone"]
        org_a.save()  # days and months move to the new zone (recomputed)
    if v["compact"]:
        rollup_daily.daily_rollup_compact()
    filters = build_filters(v, year_shop, org_a.tzinfo)
    with org_scope(org_a.pk):
        charts = dashboard_charts(organization=org_a, filters=filters)
        expected = order_summary(organization=org_a, filters=filters).totals
        skus = rollup_daily.top_skus(
            organization_id=org_a.pk,
            filters=filters,
            tz=org_a.tzinfo,
            limit=1000,
            complement_before=NOW.astimezone(org_a.tzinfo).date() + timedelta(days=1),
        )
        wanted_skus = expected_skus(org_a, filters)
    assert charts.totals == expected
    main = next((t for t in charts.totals if t.currency == charts.currency), None)
    if main is not None and (filters.date_from or filters.date_until):
        # The bars (days or months) add up to the totals (without any date bound, the
        # totals also count orders that have no order date, which no bar can show).
        assert sum(sum(s["data"]) for s in charts.sales_by_store) == main.total_sales
        assert sum(charts.shipping["charged"]) == main.shipping_charged
        assert sum(charts.shipping["labels"]) == main.label_costs
    first, end = rollup_daily.local_days(filters, org_a.tzinfo)
    if first is not None and end is not None:
        assert charts.by_month == ((end - first).days > MAX_DAYS)
    if charts.by_month:
        assert all(day.day == 1 for day in charts.days)
    assert {(s.sku, s.currency): [s.quantity, s.revenue] for s in skus} == wanted_skus
    month_rows_equal_folded_days(org_a.pk)


def test_a_year_is_drawn_by_month_from_the_month_totals(client, member_of_a, org_a, year_shop):
    """The last 365 days: 13 month bars (the first and last part-months), their sums the
    Sales tab's totals; the page says "per month" and its table lists months."""
    tz = org_a.tzinfo
    today = NOW.astimezone(tz).date()
    date_from = today - timedelta(days=364)
    start, end = preset_range("custom", tz=tz, now=NOW, date_from=date_from, date_to=today)
    filters = OrderFilters(date_from=start, date_until=end)
    with org_scope(org_a.pk):
        charts = dashboard_charts(organization=org_a, filters=filters)
        expected = order_summary(organization=org_a, filters=filters).totals
    assert charts.by_month
    assert charts.days[0] == date_from.replace(day=1)
    assert charts.days[-1] == today.replace(day=1)
    assert len(charts.days) in (12, 13)
    assert charts.totals == expected
    assert charts.as_json()["period"] == "month"
    assert charts.as_json()["days"][0] == date_from.strftime("%Y-%m")

    client.force_login(member_of_a.user)
    page = client.get(
        f"/o/{org_a.slug}/?preset=custom&date_from={date_from}&date_to={today}"
    ).content.decode()
    assert "Sales per month by store" in page
    assert "Posting status of each month" in page
    for t in expected:
        row = page[page.index(f'<tr data-currency="{t.currency}">') :]
        assert f'data-field="total_sales">{t.total_sales}<' in row[: row.index("</tr>")]
    thirty = client.get(f"/o/{org_a.slug}/").content.decode()  # the default: by day
    assert "Sales per day by store" in thirty


def test_part_months_as_a_month_minus_its_other_days(org_a, year_shop):
    """The last 30 days read as two months minus the first days of the earlier one: the
    same figures as adding up the 30 days, before and after compaction."""
    tz = org_a.tzinfo
    today = NOW.astimezone(tz).date()
    tomorrow = today + timedelta(days=1)
    start, end = preset_range("30d", tz=tz, now=NOW)
    for store in (None, *year_shop["stores"]):
        filters = OrderFilters(
            date_from=start, date_until=end, store_id=store.pk if store else None
        )
        plain = rollup_daily.top_skus(organization_id=org_a.pk, filters=filters, tz=tz, limit=99)
        whole = rollup_daily.top_skus(
            organization_id=org_a.pk, filters=filters, tz=tz, limit=99, complement_before=tomorrow
        )
        assert whole == plain
        by_day = rollup_daily.order_days(organization_id=org_a.pk, filters=filters, tz=tz)
        by_month = rollup_daily.order_days(
            organization_id=org_a.pk,
            filters=filters,
            tz=tz,
            by_month=True,
            complement_before=tomorrow,
        )
        sums: dict[tuple, Decimal] = defaultdict(Decimal)
        for row in by_day:
            sums[row.day.replace(day=1), row.store_id, row.posting_status, row.currency] += (
                row.order_total
            )
        assert {(r.day, r.store_id, r.posting_status, r.currency): r.order_total
                for r in by_month} == dict(sums)  # fmt: skip
    sql, _params = rollup_daily.top_skus_sql(
        organization_id=org_a.pk,
        filters=OrderFilters(date_from=start, date_until=end),
        tz=tz,
        complement_before=tomorrow,
    )
    if today.day < 29:  # the 30 days span two months: both read whole, minus a few days
        assert "sales_sku_monthly" in sql


def test_a_new_time_zone_recomputes_the_months(org_a, year_shop):
    """An order a minute after midnight of the first, New York time, is in the previous
    month in Los Angeles: the month rows follow the zone."""
    org_a.timezone = "America/New_York"
    org_a.save()
    tz = ZoneInfo("America/New_York")
    first = NOW.astimezone(tz).date().replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    make_order(
        org_a,
        source_store=year_shop["stores"][0],
        order_date=datetime.combine(previous, time.min, tzinfo=tz) + timedelta(minutes=1),
        order_total=Decimal("123.45"),
        lines=[{"sku": "EDGE", "unit_price": "100.00"}],
    )
    rollup_daily.daily_rollup_compact()

    def month_total(month: date, sku: str = "EDGE") -> Decimal:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COALESCE(sum(revenue), 0) FROM sales_sku_monthly WHERE "
                "organization_id = %s AND month = %s AND sku = %s AND store_id = -1 "
                "AND connection_id = -1",
                [org_a.pk, month, sku],
            )
            return cursor.fetchone()[0]

    earlier = (previous - timedelta(days=1)).replace(day=1)
    assert month_total(previous) == Decimal("100.00")
    assert month_total(earlier) == 0
    org_a.timezone = "America/Los_Angeles"
    org_a.save()
    assert month_total(previous) == 0
    assert month_total(earlier) == Decimal("100.00")
    month_rows_equal_folded_days(org_a.pk)
