"""The order page, the counts-and-totals partial, the empty states and the htmx behaviour of
the list."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from sales.models import LabelStatus, PostingStatus, SyncRun
from tests.sales.factories import (
    add_label,
    bulk_orders,
    make_connection,
    make_order,
    make_store,
)
from tests.sales.listing import list_url

pytestmark = pytest.mark.django_db


def detail_url(org, order) -> str:
    return reverse("sales:detail", kwargs={"org_slug": org.slug, "order_id": order.pk})


def summary_url(org, **params) -> str:
    from urllib.parse import urlencode

    url = reverse("sales:summary", kwargs={"org_slug": org.slug})
    return f"{url}?{urlencode(params)}" if params else url


def text_of(content: bytes) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", content.decode()))


# --- order page ------------------------------------------------------------------------------


@pytest.fixture
def full_order(org_a):
    org_a.timezone = "America/Los_Angeles"
    org_a.save()
    connection = make_connection(org_a, "Main ShipStation")
    store = make_store(connection, "Etsy", external_id=3301)
    order = make_order(
        org_a,
        number="E-5001",
        source_store=store,
        external_id="98765",
        order_key="etsy-abc",
        order_date=datetime(2025, 1, 15, 7, 30, tzinfo=UTC),  # 23:30 the day before in LA
        customer_name="Rosa Diaz",
        customer_email="rosa@example.com",
        bill_to={"name": "Rosa Diaz", "street1": "1 Main St", "city": "Austin", "state": "TX",
                 "postalCode": "73301", "country": "US"},
        ship_to={"name": "Rosa Diaz", "company": "Nine-Nine", "street1": "99 Precinct Rd",
                 "city": "Brooklyn", "state": "NY", "postalCode": "11201", "country": "US"},
        lines_subtotal=Decimal("60.00"),
        discount_total=Decimal("5.00"),
        shipping_charged=Decimal("6.00"),
        tax_total=Decimal("4.40"),
        order_total=Decimal("65.40"),
        amount_paid=Decimal("61.00"),
        reconciliation_difference=Decimal("-4.40"),
        raw={"orderId": 98765, "orderNumber": "E-5001", "internalNotes": "<script>x</script>"},
        lines=[
            {"sku": "MUG-1", "name": "Mug", "quantity": "2", "unit_price": "20.00", "tax": "2.20"},
            {"sku": "TEE-9", "name": "Tee", "quantity": "1", "unit_price": "20.00", "tax": "2.20"},
            {"sku": "", "name": "Coupon SAVE5", "quantity": "1", "unit_price": "-5.00",
             "is_discount": True, "is_adjustment": True},
        ],
    )  # fmt: skip
    add_label(order, cost="7.15", carrier="ups", service="ups_ground", tracking_number="1Z999")
    add_label(order, cost="3.00", carrier="usps", voided=True, tracking_number="VOID1")
    return order


def test_order_page_shows_everything_in_the_organizations_time_zone(
    member_client, org_a, full_order
):
    response = member_client.get(detail_url(org_a, full_order))
    assert response.status_code == 200
    text = text_of(response.content)
    assert "Order E-5001" in text
    assert "Jan 14, 2025, 23:30 PST" in text  # 07:30 UTC is 23:30 the day before in LA
    assert "Rosa Diaz" in text and "rosa@example.com" in text
    assert "Nine-Nine 99 Precinct Rd Brooklyn, NY 11201 US" in text
    assert "Austin, TX 73301" in text
    for piece in ("MUG-1 Mug 2 20.00 2.20 40.00", "TEE-9 Tee 1 20.00 2.20 20.00",
                  "Coupon SAVE5 Discount 1 -5.00 0.00 -5.00"):  # fmt: skip
        assert piece in text
    # lines 60 - discounts 5 + shipping 6 + tax 4.40 = 65.40 expected; paid 61.00
    assert "= Expected payment 65.40" in text
    assert "Amount paid 61.00" in text
    assert "Difference -4.40 USD" in text
    assert "The difference equals the tax" in text
    assert "ups ups_ground 1Z999" in text and "7.15" in text
    assert "VOID1" in text and "Voided" in text
    assert "ShipStation order id 98765" in text
    assert "ShipStation store id 3301" in text
    assert "Main ShipStation" in text
    content = response.content.decode()
    # The raw record is collapsible, escaped, and needs no script.
    assert '<details class="card mt-3"><summary' in content
    assert "&lt;script&gt;x&lt;/script&gt;" in content
    assert "<script>x</script>" not in content
    # The accounting app's posting history is on the page (its own heading and empty state).
    assert f'id="posting-history-{full_order.pk}"' in content
    assert "Not posted yet." in text


def test_balanced_order_says_so(member_client, org_a):
    order = make_order(org_a, lines=[{"sku": "A", "unit_price": "45.00"}])
    text = text_of(member_client.get(detail_url(org_a, order)).content)
    assert "Difference 0.00 USD" in text
    assert "add up exactly to what was paid" in text


def test_order_of_another_organization_is_404(member_client, org_a, org_b):
    theirs = make_order(org_b)
    assert member_client.get(detail_url(org_a, theirs)).status_code == 404
    assert member_client.post(detail_url(org_a, theirs)).status_code == 404


# --- counts and totals -----------------------------------------------------------------------


def test_summary_counts_each_posting_status_and_totals_the_filtered_orders(
    member_client, org_a, org_b
):
    store = make_store(make_connection(org_a))
    spec = [
        ("not_posted", "10.00", "2.00", "1.50", "USD", store),
        ("not_posted", "20.00", "3.00", "4.00", "USD", None),
        ("posted", "30.50", "5.00", "2.25", "USD", store),
        ("failed", "7.00", "1.00", "0.00", "USD", store),
        ("posted", "100.00", "9.00", "3.00", "CAD", store),
        # Merged into another order in ShipStation: listed on its tab, not in the totals.
        ("merged", "50.00", "4.00", "0.00", "USD", store),
    ]
    for posting, total, shipping, label, currency, st in spec:
        make_order(
            org_a,
            posting_status=posting,
            order_total=Decimal(total),
            shipping_charged=Decimal(shipping),
            label_cost_total=Decimal(label),
            label_status=LabelStatus.HAS_LABEL,
            currency=currency,
            source_store=st,
        )
    bulk_orders(org_b, 7)

    page = member_client.get(summary_url(org_a), headers={"HX-Request": "true"})
    content = page.content.decode()
    counts = dict(re.findall(r'id="tab-count-(\w+)" hx-swap-oob="true">(\d+)<', content))
    assert counts == {
        "all": "6", "not_posted": "2", "posted": "2", "failed": "1", "ignored": "0", "changed": "0",
        "merged": "1",
    }  # fmt: skip
    totals = re.findall(r'data-total="(\w+)">([^<]+)<', content)
    assert totals == [
        ("orders", "4"), ("sales", "67.50 USD"), ("shipping", "11.00 USD"),
        ("labels", "7.75 USD"), ("margin", "3.25 USD"),
        ("orders", "1"), ("sales", "100.00 CAD"), ("shipping", "9.00 CAD"),
        ("labels", "3.00 CAD"), ("margin", "6.00 CAD"),
    ]  # fmt: skip

    # A posting-status tab totals its own orders; the tab counts still cover every status.
    filtered = member_client.get(
        summary_url(org_a, posting="posted", store=store.pk), headers={"HX-Request": "true"}
    ).content.decode()
    counts = dict(re.findall(r'id="tab-count-(\w+)" hx-swap-oob="true">(\d+)<', filtered))
    assert (counts["all"], counts["posted"], counts["not_posted"]) == ("5", "2", "1")
    assert re.findall(r'data-total="(\w+)">([^<]+)<', filtered)[:5] == [
        ("orders", "1"), ("sales", "100.00 CAD"), ("shipping", "9.00 CAD"),
        ("labels", "3.00 CAD"), ("margin", "6.00 CAD"),
    ]  # fmt: skip
    assert 'id="filtered-count" hx-swap-oob="true">2 orders<' in filtered

    # Without htmx (no JavaScript) the same figures come as a page of their own.
    plain = member_client.get(summary_url(org_a))
    assert b"<html" in plain.content and b"Back to the orders" in plain.content


# --- empty states and htmx -----------------------------------------------------------------


def test_empty_state_without_a_store_offers_add_store(member_client, org_a):
    text = text_of(member_client.get(list_url(org_a)).content)
    assert "No store connected yet" in text and "Add Store" in text


def test_empty_state_with_a_store_offers_sync_now_or_says_the_import_runs(member_client, org_a):
    connection = make_connection(org_a, "Main")
    response = member_client.get(list_url(org_a))
    assert b"No orders yet" in response.content
    sync_url = reverse(
        "sales:sync_now", kwargs={"org_slug": org_a.slug, "connection_id": connection.pk}
    )
    assert f'action="{sync_url}"'.encode() in response.content
    now = datetime.now(UTC)
    SyncRun.all_orgs.create(
        organization=org_a, connection=connection, kind="initial", status="running",
        window_start=now, window_end=now,
    )  # fmt: skip
    assert b"Your orders are being imported" in member_client.get(list_url(org_a)).content


def test_no_match_is_not_the_empty_state(member_client, org_a):
    make_order(org_a, number="Z-1")
    text = text_of(member_client.get(list_url(org_a, q="nope")).content)
    assert "No orders match these filters" in text
    assert "No store connected" not in text


def test_htmx_gets_only_the_results_and_the_page_works_without_it(member_client, org_a):
    make_order(org_a, number="H-1", posting_status=PostingStatus.FAILED)
    partial = member_client.get(list_url(org_a, posting="failed"), headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert b"<html" not in partial.content
    assert partial.content.lstrip().startswith(b'<div id="sales-results"')
    assert b'id="filter-posting" name="posting" value="failed" hx-swap-oob="true"' in (
        partial.content
    )
    assert "HX-Request" in partial["Vary"]
    full = member_client.get(list_url(org_a, posting="failed"))
    assert b"<html" in full.content and b'id="sales-filters"' in full.content
    # Every htmx link is also a plain link to the same URL.
    for href, hx in re.findall(rb'href="([^"]+)"\s+hx-get="([^"]+)"', full.content):
        assert href == hx
    # A history restore asks for the whole page.
    restore = member_client.get(
        list_url(org_a), headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert b"<html" in restore.content


def test_list_cells_are_escaped(member_client, org_a):
    store = make_store(make_connection(org_a), 'Shop "Quotes" & <b>')
    make_order(
        org_a,
        number="<script>n</script>",
        customer_name="<img src=x onerror=alert(1)>",
        source_store=store,
        store_name='Shop "Quotes" & <b>',
    )
    content = member_client.get(list_url(org_a)).content.decode()
    assert "<img src=x" not in content and "<script>n</script>" not in content
    assert "&lt;img src=x onerror=alert(1)&gt;" in content
    assert "&lt;script&gt;n&lt;/script&gt;" in content
    assert "Shop &quot;Quotes&quot; &amp; &lt;b&gt;" in content


def test_an_order_from_an_order_file_says_so_instead_of_shipstation(member_client, org_a):
    from sales.models import OrderSource

    order = make_order(
        org_a,
        number="1042",
        external_id="1042",
        source=OrderSource.ORDER_FILE,
        store_name="My Shopify",
        raw={"order_number": "1042", "rows": [2, 3]},
    )
    text = text_of(member_client.get(detail_url(org_a, order)).content)
    assert "From order file" in text
    assert "Shop order number 1042" in text
    assert "Store in the file My Shopify" in text
    assert "Order total in the order file" in text
    assert "Source record (the order file's rows)" in text
    for shipstation_only in (
        "Created in ShipStation", "ShipStation order id", "ShipStation store id",
        "Modified in ShipStation", "Order total in ShipStation", "ShipStation JSON",
        "Re-import from ShipStation",
    ):  # fmt: skip
        assert shipstation_only not in text, shipstation_only


def test_without_a_ledger_the_prompt_names_only_ledgers_that_can_be_connected(member_client, org_a):
    from accounting.ledgers.registry import ledger_cards
    from sales.services.review import ledgers_available

    order = make_order(org_a, number="N-1", source_store=make_store(make_connection(org_a)))
    for url in (list_url(org_a), detail_url(org_a, order)):
        text = text_of(member_client.get(url).content)
        assert "Posting is off: no ledger is connected yet." in text
        available = ledgers_available()
        assert "QuickBooks Online" in available
        if len(available) == 1:
            assert f"Connect {available[0]} on the Accounting tab" in text, url
        elif len(available) == 2:
            assert f"Connect {available[0]} or {available[1]} on the Accounting tab" in text
        for card in ledger_cards():
            if not card["available"]:  # still "coming soon": never offered
                assert str(card["name"]) not in text, url
