"""What the Sales tab says about an order and about background actions: order statuses in
words (not ShipStation's codes), "Posting…" while an order's posting is on its way, the
counts of a bulk action in orders and in the action's own terms, and one finished banner
at a time."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sales.models import BulkActionStatus, OrderBulkAction, PostingStatus
from sales.services.review import order_bulk_action_execute, order_bulk_action_start
from tests.accounting.factories import mapped_settings
from tests.factories import LedgerConnectionFactory
from tests.sales.factories import add_label, make_connection, make_order, make_store
from tests.sales.listing import list_url
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db


def detail_url(org, order) -> str:
    return reverse("sales:detail", kwargs={"org_slug": org.slug, "order_id": order.pk})


def row_of(content: bytes, order) -> str:
    match = re.search(rf'<tr data-order-id="{order.pk}">(.*?)</tr>', content.decode(), re.S)
    assert match is not None
    return match.group(1)


def posting_badge(html: str) -> str:
    match = re.search(r'data-testid="posting-status">([^<]*)<', html)
    assert match is not None
    return match.group(1)


def test_order_statuses_read_as_words_in_the_list_and_on_the_order_page(member_client, org_a):
    store = make_store(make_connection(org_a))
    waiting = make_order(org_a, number="W-1", source_store=store, status="awaiting_shipment")
    unknown = make_order(org_a, number="U-1", source_store=store, status="on_backorder")

    page = member_client.get(list_url(org_a)).content
    assert '<td class="small">Awaiting shipment</td>' in row_of(page, waiting)
    assert '<td class="small">On backorder</td>' in row_of(page, unknown)
    assert ">awaiting_shipment<" not in page.decode()

    order_page = member_client.get(detail_url(org_a, waiting)).content.decode()
    assert 'data-testid="order-status">Awaiting shipment</span>' in order_page
    assert "awaiting_shipment" not in order_page.replace('"awaiting_shipment"', "")


def test_an_order_whose_posting_is_on_its_way_says_posting_not_not_posted(member_client, org_a):
    mapped_settings(LedgerConnectionFactory(organization=org_a))
    store = make_store(make_connection(org_a))
    order = make_order(
        org_a, number="P-1", source_store=store, lines=[{"sku": "A", "unit_price": "45.00"}]
    )
    other = make_order(
        org_a, number="P-2", source_store=store, lines=[{"sku": "B", "unit_price": "45.00"}]
    )
    assert posting_badge(row_of(member_client.get(list_url(org_a)).content, order)) == (
        "Not posted"
    )

    # Post clicked on the order page: the posting is queued; no worker has sent it yet.
    response = member_client.post(
        reverse("sales:action", kwargs={"org_slug": org_a.slug}),
        {"action": "post", "ids": order.pk, "order": order.pk},
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.posting_status == PostingStatus.NOT_POSTED

    page = member_client.get(list_url(org_a)).content
    assert posting_badge(row_of(page, order)) == "Posting…"
    assert posting_badge(row_of(page, other)) == "Not posted"
    order_page = member_client.get(detail_url(org_a, order)).content.decode()
    assert posting_badge(order_page) == "Posting…"
    assert "Post to ledger" not in order_page  # queued already: nothing to click again


def test_post_all_filtered_counts_orders_queued_not_documents(
    member_client, member_of_a, org_a, org_b
):
    mapped_settings(LedgerConnectionFactory(organization=org_a))
    store = make_store(make_connection(org_a))
    orders = [
        make_order(
            org_a, number=f"A-{i}", source_store=store, lines=[{"sku": "A", "unit_price": "45.00"}]
        )
        for i in range(5)
    ]
    for order in orders:  # each order brings two label costs: 15 documents for 5 orders
        add_label(order, cost="4.10")
        add_label(order, cost="2.00")
    make_order(org_a, number="I-1", source_store=store, posting_status=PostingStatus.IGNORED)
    make_order(org_a, number="I-2", source_store=store, posting_status=PostingStatus.IGNORED)
    make_order(org_b, number="B-1")
    from sales.filters import OrderFilters

    with org_scope(org_a.pk):
        action = order_bulk_action_start(
            organization=org_a, kind="post", actor=member_of_a.user, filters=OrderFilters()
        )
        order_bulk_action_execute(organization_id=org_a.pk, action_id=action.pk)
    action.refresh_from_db()
    assert (action.status, action.total, action.done, action.changed) == ("succeeded", 7, 7, 5)

    banner = member_client.get(
        reverse("sales:bulk_action", kwargs={"org_slug": org_a.slug, "action_id": action.pk})
    ).content.decode()
    counts = re.search(r'data-testid="bulk-action-counts">(.*?)</div>', banner, re.S).group(1)
    assert " ".join(counts.split()).startswith(
        "7 orders checked: 5 queued for posting. 2 could not be posted (already posted, "
        "ignored, cancelled or outside the posting settings)."
    )


def test_ignore_banner_says_how_many_were_ignored_and_why_the_others_were_not(
    member_client, member_of_a, org_a
):
    store = make_store(make_connection(org_a))
    for i in range(3):
        make_order(org_a, number=f"N-{i}", source_store=store)
    make_order(org_a, number="P-1", source_store=store, posting_status=PostingStatus.POSTED)
    from sales.filters import OrderFilters

    with org_scope(org_a.pk):
        action = order_bulk_action_start(
            organization=org_a, kind="ignore", actor=member_of_a.user, filters=OrderFilters()
        )
        order_bulk_action_execute(organization_id=org_a.pk, action_id=action.pk)
    banner = member_client.get(
        reverse("sales:bulk_action", kwargs={"org_slug": org_a.slug, "action_id": action.pk})
    ).content.decode()
    assert (
        "4 of 4 orders checked: 3 ignored. 1 was posted or already ignored and was left as it is."
        in " ".join(banner.split())
    )


def test_finished_banners_give_way_to_the_latest_and_can_be_closed(member_client, org_a):
    now = timezone.now()

    def action(status: str, minutes_ago: int) -> OrderBulkAction:
        return OrderBulkAction.all_orgs.create(
            organization=org_a,
            kind="ignore",
            status=status,
            total=4,
            done=4 if status != BulkActionStatus.RUNNING else 1,
            changed=2,
            finished_at=None
            if status == BulkActionStatus.RUNNING
            else now - timedelta(minutes=minutes_ago),
        )

    older = action(BulkActionStatus.SUCCEEDED, 9)
    old = action(BulkActionStatus.SUCCEEDED, 6)
    latest = action(BulkActionStatus.FAILED, 3)
    running = action(BulkActionStatus.RUNNING, 0)
    page = member_client.get(list_url(org_a)).content.decode()
    banners = dict(re.findall(r'id="bulk-action-(\d+)" class="([^"]*)"', page))
    # The running one, then only the latest finished one (older finished ones give way).
    assert list(banners) == [str(running.pk), str(latest.pk)]
    assert str(older.pk) not in banners and str(old.pk) not in banners
    # A finished banner can be closed; a running one cannot (it still reports progress).
    assert "alert-dismissible" in banners[str(latest.pk)]
    assert "alert-dismissible" not in banners[str(running.pk)]
    assert page.count('data-bs-dismiss="alert" aria-label="Close"></button>\n</div>') >= 1
