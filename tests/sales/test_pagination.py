"""Keyset pagination: walking the pages forward (and back) visits every order exactly once, in
the sort order, even when many orders share a date or a total, and some have no date."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sales.filters import OrderFilters
from sales.models import Order
from sales.selectors_tab import cursor_decode, cursor_encode, order_page
from tests.sales.factories import BASE_DATE, bulk_orders, make_connection, make_store
from tests.sales.listing import list_url, next_link, numbers_in, prev_link, walk

pytestmark = pytest.mark.django_db

SORT_KEYS = {
    "-date": ("order_date", True),
    "date": ("order_date", False),
    "number": ("number", False),
    "-number": ("number", True),
    "-total": ("order_total", True),
    "total": ("order_total", False),
}


def expected_order(org, sort: str) -> list[str]:
    """The documented order: the sort value, then id, in the same direction; orders without
    a date first when newest-first and last when oldest-first."""
    field, descending = SORT_KEYS[sort]
    rows = list(Order.all_orgs.filter(organization=org).values_list(field, "id", "number"))
    with_value = [r for r in rows if r[0] is not None]
    without = [r for r in rows if r[0] is None]
    with_value.sort(key=lambda r: (r[0], r[1]), reverse=descending)
    without.sort(key=lambda r: r[1], reverse=descending)
    ordered = (without + with_value) if descending else (with_value + without)
    return [r[2] for r in ordered]


def _ties(i: int):
    # Five distinct dates for 157 orders, every eighth without a date; three totals.
    return None if i % 8 == 0 else BASE_DATE - timedelta(days=i % 5)


@pytest.mark.parametrize("sort", list(SORT_KEYS))
@pytest.mark.parametrize("per", [25, 50])
def test_walking_all_pages_visits_each_order_once_in_order(member_client, org_a, sort, per):
    bulk_orders(
        org_a,
        157,
        order_date=_ties,
        order_total=lambda i: Decimal(("10.00", "20.00", "20.00")[i % 3]),
        number=lambda i: f"T{i % 7:03d}-{i:04d}" if i % 2 else f"T{i % 7:03d}",
    )
    expected = expected_order(org_a, sort)
    seen = walk(member_client, list_url(org_a, sort=sort, per=per))
    assert seen == expected


def test_previous_links_walk_back_to_the_first_page(member_client, org_a):
    bulk_orders(org_a, 103, order_date=_ties)
    expected = expected_order(org_a, "-date")
    url = list_url(org_a, per=25)
    pages = []
    while url:
        response = member_client.get(url)
        pages.append(numbers_in(response.content))
        last = response
        url = next_link(response.content)
    assert [n for page in pages for n in page] == expected
    back = []
    url = prev_link(last.content)
    while url:
        response = member_client.get(url)
        back.append(numbers_in(response.content))
        url = prev_link(response.content)
    assert back == pages[-2::-1]


def test_orders_arriving_between_pages_neither_shift_nor_repeat_the_next_page(member_client, org_a):
    bulk_orders(org_a, 60, order_date=lambda i: BASE_DATE - timedelta(minutes=i))
    first = member_client.get(list_url(org_a, per=25))
    first_numbers = numbers_in(first.content)
    # A new order at the top (newest) and one in the middle arrive while reading page 1.
    bulk_orders(org_a, 1, order_date=BASE_DATE + timedelta(days=1), number="NEW-TOP")
    second = member_client.get(next_link(first.content))
    second_numbers = numbers_in(second.content)
    assert not set(first_numbers) & set(second_numbers)
    assert "NEW-TOP" not in second_numbers
    assert second_numbers == expected_order(org_a, "-date")[26:51]


def test_a_tampered_or_foreign_cursor_starts_at_the_first_page(member_client, org_a, org_b):
    bulk_orders(org_a, 30)
    first = numbers_in(member_client.get(list_url(org_a, per=25)).content)
    order = Order.all_orgs.filter(organization=org_a).order_by("id").first()
    foreign = cursor_encode(organization_id=org_b.pk, sort="-date", order=order)
    assert cursor_decode(foreign, organization_id=org_a.pk, sort="-date") is None
    for token in (foreign, "not-a-cursor", foreign[:-3] + "abc"):
        assert numbers_in(member_client.get(list_url(org_a, per=25, after=token)).content) == first
    # A cursor of another sort order is not applied to this one either.
    own = cursor_encode(organization_id=org_a.pk, sort="number", order=order)
    assert numbers_in(member_client.get(list_url(org_a, per=25, after=own)).content) == first


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    dates=st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=0, max_size=120),
    per=st.sampled_from([25, 50]),
    sort=st.sampled_from(list(SORT_KEYS)),
)
def test_keyset_pages_never_skip_or_repeat_property(scope_a, dates, per, sort):
    """Any mix of shared dates, missing dates and shared totals: the selector's pages,
    followed by cursor, are exactly the sorted list cut into pieces."""
    org_a = scope_a
    Order.all_orgs.filter(organization=org_a).delete()
    bulk_orders(
        org_a,
        len(dates),
        order_date=lambda i: None if dates[i] is None else BASE_DATE - timedelta(days=dates[i]),
        order_total=lambda i: Decimal(dates[i] or 0) + Decimal("5.00"),
        number=lambda i: f"P{(dates[i] or 0)}",
    )
    expected_ids = _expected_ids(org_a, sort)
    seen: list[int] = []
    after = ""
    for _ in range(100):
        page = order_page(
            organization=org_a, filters=OrderFilters(), sort=sort, page_size=per, after=after
        )
        seen.extend(o.pk for o in page.orders)
        if not page.has_next:
            break
        after = page.next_cursor
    assert seen == expected_ids


def _expected_ids(org, sort: str) -> list[int]:
    field, descending = SORT_KEYS[sort]
    rows = list(Order.all_orgs.filter(organization=org).values_list(field, "id"))
    with_value = sorted((r for r in rows if r[0] is not None), reverse=descending)
    without = sorted((r for r in rows if r[0] is None), key=lambda r: r[1], reverse=descending)
    ordered = (without + with_value) if descending else (with_value + without)
    return [r[1] for r in ordered]


# --- a constant number of queries ----------------------------------------------------------


def _count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("params", [{}, {"q": "customer"}, {"preset": "30d", "label": "has"}])
def test_the_list_runs_the_same_number_of_queries_for_10_and_100_orders(
    member_client, org_a, org_b, params
):
    store = make_store(make_connection(org_a))
    now = timezone.now()
    rows = {
        "source_store": store,
        "order_date": lambda i: now - timedelta(minutes=i),
        "label_status": "has_label",
        "posting_status": lambda i: "posted" if i % 2 else "not_posted",
    }
    bulk_orders(org_a, 10, **rows)
    bulk_orders(org_b, 20, **{**rows, "source_store": None})
    url = list_url(org_a, per=100, **params)
    summary_url = f"/o/{org_a.slug}/sales/summary/?{urlencode(params)}"
    member_client.get(url)  # the first request of a session also writes the session
    few = _count_queries(member_client, url)
    few_summary = _count_queries(member_client, summary_url)
    bulk_orders(org_a, 90, **rows)
    many = _count_queries(member_client, url)
    many_summary = _count_queries(member_client, summary_url)
    assert few == many
    assert few_summary == many_summary
    # Session, user, membership, memberships menu; stores, connections, bulk actions, ledger
    # check, the page, its ledger links: nothing grows with the page.
    assert many <= 12
    assert len(numbers_in(member_client.get(url).content)) == 100


def _selected_page_size(content: bytes) -> list[str]:
    import re

    select = re.search(r'<select name="per"[^>]*>(.*?)</select>', content.decode(), re.S)
    assert select is not None
    return re.findall(r'<option value="(\d+)"[^>]*selected', select.group(1))


def test_the_page_size_shown_is_the_one_listed(member_client, org_a):
    bulk_orders(org_a, 60)
    # No choice in the URL: 50 orders, and the select says 50 (it used to say 25).
    response = member_client.get(list_url(org_a))
    assert len(numbers_in(response.content)) == 50
    assert _selected_page_size(response.content) == ["50"]
    assert b"50 orders on this page" in response.content
    response = member_client.get(list_url(org_a, per=25))
    assert len(numbers_in(response.content)) == 25
    assert _selected_page_size(response.content) == ["25"]
    # The pager's links keep the URL as the merchant left it (no page size added to it).
    assert "per=" not in (next_link(member_client.get(list_url(org_a)).content) or "")
