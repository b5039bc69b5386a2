"""Filters, search and sorting of the order list, through the URL and the rendered page.

A catalog of orders covers every filter value, including the edges (a date just inside and
just outside each preset in the organization's time zone). Each filter alone is checked
against a hand-written list; combinations are checked against a small, independent oracle
of the documented semantics."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from sales.models import LabelStatus, PostingStatus
from tests.sales.factories import make_connection, make_order, make_store
from tests.sales.listing import listed

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


@dataclass
class Row:
    number: str
    order_date: datetime
    store: str
    connection: str
    status: str
    posting: str
    label: bool
    difference: Decimal
    name: str
    email: str
    skus: tuple[str, ...]
    total: Decimal


@pytest.fixture
def catalog(org_a, org_b):
    org_a.timezone = "Europe/Berlin"
    org_a.save()
    today = timezone.now().astimezone(BERLIN).date()
    midnight = datetime.combine(today, time.min, tzinfo=BERLIN)
    first_this_month = datetime.combine(today.replace(day=1), time.min, tzinfo=BERLIN)
    first_last_month = datetime.combine(
        (today.replace(day=1) - timedelta(days=1)).replace(day=1), time.min, tzinfo=BERLIN
    )
    c1, c2 = make_connection(org_a, "Main account"), make_connection(org_a, "Second account")
    s1, s2, s3 = make_store(c1, "Shopify US"), make_store(c1, "Amazon"), make_store(c2, "Etsy")
    stores = {"s1": s1, "s2": s2, "s3": s3}
    specs = [
        # number, when, store, status, posting, label, difference, name, email, skus, total
        ("A-1001", midnight + timedelta(minutes=30), "s1", "shipped", "not_posted", True,
         "0", "Alice Walker", "alice@example.com", ("MUG-RED", "MUG-BLUE"), "40.00"),
        ("A-1002", midnight - timedelta(minutes=30), "s2", "shipped", "posted", True,
         "-2.50", "Bob Stone", "bob@shop.test", ("TEE-L",), "25.00"),
        ("A-1003", midnight - timedelta(days=6) + timedelta(hours=1), "s3", "awaiting_shipment",
         "failed", False, "0", "Carla Alvarez", "carla@example.com", ("MUG-RED",), "99.90"),
        ("A-1004", midnight - timedelta(days=7) + timedelta(hours=1), "s1", "shipped",
         "ignored", False, "1.00", "Dan Walker", "dan.walker@example.org", ("CAP",), "12.00"),
        ("B-2001", midnight - timedelta(days=20), "s2", "cancelled", "changed", True, "0",
         "Eve Adams", "EVE@Example.com", ("TEE-M", "CAP"), "60.00"),
        ("B-2002", first_last_month + timedelta(hours=2), "s3", "shipped", "not_posted", False,
         "0", "Frank Ocean", "frank@example.com", (), "15.00"),
        ("B-2003", first_this_month + timedelta(minutes=5), "s1", "on_hold", "not_posted", True,
         "-0.01", "Gina Walker-Smith", "gina@walker.test", ("mug-green",), "70.00"),
        ("C-3001", midnight - timedelta(days=100), "s2", "shipped", "posted", True, "0",
         "Hal Jordan", "hal@example.com", ("BOOK",), "8.00"),
    ]  # fmt: skip
    rows = []
    for number, when, store_key, status, posting, label, diff, name, email, skus, total in specs:
        store = stores[store_key]
        order = make_order(
            org_a,
            number=number,
            order_date=when,
            source_store=store,
            status=status,
            posting_status=posting,
            is_ignored=posting == PostingStatus.IGNORED,
            label_status=LabelStatus.HAS_LABEL if label else LabelStatus.NO_LABEL,
            label_cost_total=Decimal("4.00") if label else Decimal("0.00"),
            reconciliation_difference=Decimal(diff),
            customer_name=name,
            customer_email=email,
            order_total=Decimal(total),
            lines=[{"sku": sku} for sku in skus],
        )
        rows.append(
            Row(number, when, store_key, "c1" if store.connection == c1 else "c2", status,
                posting, label, Decimal(diff), name, email, skus, order.order_total)
        )  # fmt: skip
    # Organization B has orders that match every search and filter: none may ever show.
    b_conn = make_connection(org_b)
    b_store = make_store(b_conn, "Shopify US")
    for number in ("A-1001", "A-9999", "Walker"):
        make_order(
            org_b, number=number, source_store=b_store, customer_name="Alice Walker",
            customer_email="alice@example.com", order_date=midnight + timedelta(minutes=5),
            lines=[{"sku": "MUG-RED"}],
        )  # fmt: skip
    return {
        "rows": rows,
        "stores": stores,
        "connections": {"c1": c1, "c2": c2},
        "midnight": midnight,
        "first_this_month": first_this_month,
        "first_last_month": first_last_month,
    }


def _newest_first(rows: list[Row]) -> list[str]:
    return [r.number for r in sorted(rows, key=lambda r: r.order_date, reverse=True)]


def test_unfiltered_list_shows_every_order_of_the_organization_newest_first(
    member_client, org_a, catalog
):
    assert listed(member_client, org_a) == _newest_first(catalog["rows"])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"preset": "today"}, ["A-1001"]),
        ({"store": "s1"}, ["A-1001", "B-2003", "A-1004"]),
        ({"connection": "c2"}, ["A-1003", "B-2002"]),
        ({"status": "shipped"}, ["A-1001", "A-1002", "A-1004", "B-2002", "C-3001"]),
        ({"posting": "not_posted"}, ["A-1001", "B-2003", "B-2002"]),
        ({"posting": "ignored"}, ["A-1004"]),
        ({"posting": "changed"}, ["B-2001"]),
        ({"label": "has"}, ["A-1001", "A-1002", "B-2003", "B-2001", "C-3001"]),
        ({"label": "missing"}, ["A-1003", "A-1004", "B-2002"]),
        ({"difference": "on"}, ["A-1002", "B-2003", "A-1004"]),
        ({"q": "A-100"}, ["A-1001", "A-1002", "A-1003", "A-1004"]),
        ({"q": "a-1002"}, ["A-1002"]),
        ({"q": "#B-2001"}, ["B-2001"]),
        ({"q": "walker"}, ["A-1001", "B-2003", "A-1004"]),
        ({"q": "eve@example.com"}, ["B-2001"]),
        ({"q": "bob@"}, ["A-1002"]),
        ({"q": "mug-"}, ["A-1001", "B-2003", "A-1003"]),
        ({"q": "CAP"}, ["B-2001", "A-1004"]),
        ({"q": "nothing-like-this"}, []),
    ],
)
def test_each_filter_alone_returns_exactly_its_orders(
    member_client, org_a, catalog, params, expected
):
    params = dict(params)
    if "store" in params:
        params["store"] = catalog["stores"][params["store"]].pk
    if "connection" in params:
        params["connection"] = catalog["connections"][params["connection"]].pk
    got = listed(member_client, org_a, **params)
    by_date = {r.number: r.order_date for r in catalog["rows"]}
    assert got == sorted(expected, key=lambda n: by_date[n], reverse=True)


def test_date_presets_follow_the_organizations_time_zone(member_client, org_a, catalog):
    rows = catalog["rows"]
    midnight = catalog["midnight"]

    def between(start, end):
        return _newest_first([r for r in rows if start <= r.order_date < end])

    tomorrow = midnight + timedelta(days=1)
    assert listed(member_client, org_a, preset="today") == ["A-1001"]
    # A-1003 is 6 days back (inside "last 7 days"), A-1004 is 7 days back (outside). In the
    # first week of a month, the orders placed early this month are inside too.
    last_7_days = listed(member_client, org_a, preset="7d")
    assert last_7_days == between(midnight - timedelta(days=6), tomorrow)
    assert "A-1003" in last_7_days and "A-1004" not in last_7_days
    assert listed(member_client, org_a, preset="30d") == between(
        midnight - timedelta(days=29), tomorrow
    )
    assert listed(member_client, org_a, preset="this_month") == between(
        catalog["first_this_month"], tomorrow
    )
    assert listed(member_client, org_a, preset="last_month") == between(
        catalog["first_last_month"], catalog["first_this_month"]
    )
    day = (midnight - timedelta(days=6)).date()
    assert listed(
        member_client, org_a, preset="custom", date_from=day.isoformat(), date_to=day.isoformat()
    ) == ["A-1003"]
    # Dates typed without picking "Custom range" still apply.
    assert listed(member_client, org_a, date_from=midnight.date().isoformat()) == ["A-1001"]


def test_unreadable_filter_values_are_dropped_not_fatal(member_client, org_a, catalog):
    response = member_client.get(
        f"/o/{org_a.slug}/sales/?store=abc&status=bogus&preset=yesterday&per=7&sort=up&after=zz"
    )
    assert response.status_code == 200
    assert sorted(listed(member_client, org_a, store="abc", status="bogus")) == sorted(
        r.number for r in catalog["rows"]
    )


def _oracle(rows: list[Row], catalog, params: dict) -> list[Row]:
    midnight = catalog["midnight"]
    ranges = {
        "today": (midnight, midnight + timedelta(days=1)),
        "7d": (midnight - timedelta(days=6), midnight + timedelta(days=1)),
        "30d": (midnight - timedelta(days=29), midnight + timedelta(days=1)),
    }
    out = []
    for r in rows:
        if "preset" in params:
            start, end = ranges[params["preset"]]
            if not start <= r.order_date < end:
                continue
        if "store" in params and r.store != params["store"]:
            continue
        if "connection" in params and r.connection != params["connection"]:
            continue
        if "status" in params and r.status != params["status"]:
            continue
        if "posting" in params and r.posting != params["posting"]:
            continue
        if params.get("label") == "has" and not r.label:
            continue
        if params.get("label") == "missing" and r.label:
            continue
        if "difference" in params and r.difference == 0:
            continue
        if "q" in params:
            q = params["q"].lower()
            hit = (
                r.number.lower().startswith(q.lstrip("#"))
                or r.email.lower().startswith(q)
                or (q in r.name.lower() and "@" not in q)
                or (any(s.lower().startswith(q) for s in r.skus) and "@" not in q)
            )
            if not hit:
                continue
        out.append(r)
    return out


COMBINABLE = {
    "preset": ["7d", "30d"],
    "store": ["s1", "s2"],
    "connection": ["c1"],
    "status": ["shipped"],
    "posting": ["not_posted", "posted"],
    "label": ["has", "missing"],
    "difference": ["on"],
    "q": ["walker", "mug", "a-10"],
}


def _combinations():
    keys = list(COMBINABLE)
    for size in (2, 3):
        for names in itertools.combinations(keys, size):
            for values in itertools.product(*(COMBINABLE[n] for n in names)):
                yield dict(zip(names, values, strict=True))


def test_every_pair_and_triple_of_filters_combines_as_and(member_client, org_a, catalog):
    checked = 0
    for params in _combinations():
        url_params = dict(params)
        if "store" in url_params:
            url_params["store"] = catalog["stores"][url_params["store"]].pk
        if "connection" in url_params:
            url_params["connection"] = catalog["connections"][url_params["connection"]].pk
        expected = _newest_first(_oracle(catalog["rows"], catalog, params))
        assert listed(member_client, org_a, **url_params) == expected, params
        checked += 1
    assert checked > 200


@pytest.mark.parametrize(
    ("sort", "key", "reverse"),
    [
        ("-date", lambda r: r.order_date, True),
        ("date", lambda r: r.order_date, False),
        ("number", lambda r: r.number, False),
        ("-number", lambda r: r.number, True),
        ("-total", lambda r: r.total, True),
        ("total", lambda r: r.total, False),
    ],
)
def test_sorting(member_client, org_a, catalog, sort, key, reverse):
    expected = [r.number for r in sorted(catalog["rows"], key=key, reverse=reverse)]
    assert listed(member_client, org_a, sort=sort) == expected
    # Sorting combines with filters too.
    shipped = [r for r in catalog["rows"] if r.status == "shipped"]
    assert listed(member_client, org_a, sort=sort, status="shipped") == [
        r.number for r in sorted(shipped, key=key, reverse=reverse)
    ]


def test_stores_of_the_same_name_are_told_apart_by_their_connection(member_client, org_a):
    import html
    import re

    east, west = make_connection(org_a, "East warehouse"), make_connection(org_a, "West warehouse")
    amazon_east, amazon_west = make_store(east, "Amazon"), make_store(west, "Amazon")
    make_order(org_a, number="E-1", source_store=amazon_east)
    make_order(org_a, number="W-1", source_store=amazon_west)
    page = html.unescape(member_client.get(f"/o/{org_a.slug}/sales/").content.decode())
    select = re.search(r'<select name="store"[^>]*>(.*?)</select>', page, re.S).group(1)
    options = re.findall(r'<option value="(\d*)"[^>]*>([^<]*)</option>', select)
    assert options == [
        ("", "Any store"),
        (str(amazon_east.pk), "Amazon (Shopify) · East warehouse"),
        (str(amazon_west.pk), "Amazon (Shopify) · West warehouse"),
    ]
    assert listed(member_client, org_a, store=amazon_west.pk) == ["W-1"]
