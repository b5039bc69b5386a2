"""Posting settings a merchant changes in a real Chromium, each with its effect on what reaches
the QuickBooks Online stand-in: "Marketplace collects tax" per store, the return-label
account, "post on the first open day" and the chosen Shipping item.

The data is made as a merchant makes it: orders and labels in their ShipStation account (the
stand-in), the store connected as the Connect form does it and imported; the closing date
set in QuickBooks. In the browser the merchant saves the setting on Accounting > Settings,
then selects the order on the Sales tab and clicks Post. The drain then runs in this process
(no worker: the click's drain tasks go to a queue of this test only), and the QuickBooks
stand-in is read over its control API. Everything is on loopback.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from accounting.models import Posting, PostingKind, PostingSettings
from accounting.services.connections import ledger_catalog_refresh
from accounting.services.engine import posting_drain
from connections.models import SourceStore
from sales.models import Order, SyncStatus
from tests.accounting.conftest import connect_ledger
from tests.accounting.differences_support import make_connection, order_paid_without_tax
from tests.browser import signed_in_browser
from tests.sales.support import SS_KEY, run_sync
from tests.worker_process import unique_queue
from unify.tenancy.scoping import org_scope

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D = Decimal
TIMEOUT_MS = 15_000
UNCATEGORIZED_EXPENSE = "94"  # in the QBO stand-in's seed
SHIPPING_EXPENSE = "90"
MERCHANTS_SHIPPING_ITEM = "3"  # "Shipping", on Shipping Income (83)


@pytest.fixture
def merchant(ss_account, org_a, qbo, qbo_settings, settings):
    """A QuickBooks company connected with its accounts mapped (catalog read, as after
    connecting) and the click's drain tasks on a queue of this test only."""
    settings.ACCOUNTING_TASK_QUEUE = unique_queue("settings-browser")
    ledger = connect_ledger(
        org_a, qbo, trigger="manual", reconciliation_enabled=True, label_cost_mode="expense"
    )
    with org_scope(ledger.organization_id):  # as the settings page calls it
        ledger_catalog_refresh(connection=ledger)
    return ledger


def _import(org):
    connection = make_connection(org)
    run = run_sync(org, connection)
    assert run.status == SyncStatus.SUCCEEDED, run.error
    return connection


def _order(org, ss_order) -> Order:
    with org_scope(org.pk):
        return Order.objects.get(external_id=str(ss_order["orderId"]))


def _save_settings(page, base, org, change) -> None:
    """Open Accounting > Settings, let ``change(page)`` set the field, save."""
    from playwright.sync_api import expect

    page.goto(f"{base}/o/{org.slug}/accounting/settings/")
    change(page)
    page.get_by_role("button", name="Save posting settings").click()
    expect(page.get_by_text("Posting settings saved.")).to_be_visible(timeout=TIMEOUT_MS)


def _post_from_sales(page, base, org, order: Order) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/o/{org.slug}/sales/")
    page.check(f'input[name="ids"][value="{order.pk}"]')
    page.get_by_role("button", name="Post", exact=True).click()
    expect(page.get_by_text(re.compile("queued for posting"))).to_be_visible(timeout=TIMEOUT_MS)


def _drain(org, ledger) -> None:
    with org_scope(org.pk):
        posting_drain(ledger_connection_id=ledger.pk)


def _sale(org, qbo, order: Order) -> dict:
    with org_scope(org.pk):
        posting = Posting.objects.get(order=order, kind=PostingKind.SALE)
    assert posting.status == "posted", posting.error
    return qbo.document("salesreceipt", posting.external_id)


def _settings(ledger) -> PostingSettings:
    return PostingSettings.all_orgs.get(ledger_connection=ledger)


def test_unticking_marketplace_collects_tax_for_a_store_books_its_tax_gap(
    live_server, client, owner_of_a, org_a, ss_account, qbo, merchant, chromium_path
):
    """An Amazon order whose buyer paid without the tax Amazon collected: the merchant says
    that store's tax is theirs, so the sale keeps the gap on reconciliation."""
    amazon = order_paid_without_tax(ss_account, "Amazon")
    _import(org_a)
    order = _order(org_a, amazon)
    with org_scope(org_a.pk):
        store = SourceStore.objects.get(pk=order.source_store_id)
    assert store.marketplace_name == "Amazon"

    with signed_in_browser(live_server, client, owner_of_a.user, chromium_path) as (ctx, errors):
        from playwright.sync_api import expect

        page = ctx.new_page()
        stores = page.get_by_role("group", name="Stores whose marketplace collects the tax")

        def untick(page):
            box = stores.get_by_label(f"{store.name} (Amazon)", exact=True)
            expect(box).to_be_checked()  # on by default for a marketplace
            box.uncheck()

        _save_settings(page, live_server.url, org_a, untick)
        expect(stores.get_by_label(f"{store.name} (Amazon)", exact=True)).not_to_be_checked()
        _post_from_sales(page, live_server.url, org_a, order)
        assert errors == []

    assert _settings(merchant).marketplace_tax_by_store[str(store.pk)] is False
    _drain(org_a, merchant)
    receipt = _sale(org_a, qbo, order)
    assert D(str(receipt["TotalAmt"])) == D("30.00")
    descriptions = [str(line.get("Description", "")) for line in receipt["Line"]]
    reconciled = [
        D(str(line["Amount"]))
        for line in receipt["Line"]
        if str(line.get("Description", "")).startswith("Reconciliation")
    ]
    assert reconciled == [D("-2.06")]
    assert not any("Amazon" in text for text in descriptions)


def test_the_chosen_return_label_account_takes_the_return_label(
    live_server, client, owner_of_a, org_a, ss_account, qbo, merchant, chromium_path
):
    ss_order = ss_account.add_order(SS_KEY, status="awaiting_shipment", items=[
        {"sku": "MUG-1", "name": "Mug", "quantity": 1, "unitPrice": "20.00"},
    ], shipping_amount="5.00")  # fmt: skip
    outbound = ss_account.add_label(
        SS_KEY, ss_order["orderId"], shipment_cost="4.25", insurance_cost="0.00"
    )
    back = ss_account.add_label(
        SS_KEY, ss_order["orderId"], shipment_cost="6.10", insurance_cost="0.90", is_return=True
    )
    _import(org_a)
    order = _order(org_a, ss_order)

    with signed_in_browser(live_server, client, owner_of_a.user, chromium_path) as (ctx, errors):
        from playwright.sync_api import expect

        page = ctx.new_page()

        def choose(page):
            page.get_by_label("Return label expense", exact=True).select_option(
                label="Uncategorized Expense"
            )

        _save_settings(page, live_server.url, org_a, choose)
        expect(page.get_by_label("Return label expense", exact=True)).to_have_value(
            UNCATEGORIZED_EXPENSE
        )
        _post_from_sales(page, live_server.url, org_a, order)
        assert errors == []

    _drain(org_a, merchant)
    with org_scope(org_a.pk):
        postings = {
            p.shipping_cost.external_id: p
            for p in Posting.objects.filter(kind=PostingKind.SHIPPING_COST).select_related(
                "shipping_cost"
            )
        }
    assert {p.status for p in postings.values()} == {"posted"}
    purchases = {d["Id"]: d for d in qbo.documents("purchase")}
    assert len(purchases) == 2

    def lines(label) -> list[tuple[str, Decimal]]:
        purchase = purchases[postings[str(label["shipmentId"])].external_id]
        return [
            (
                line["AccountBasedExpenseLineDetail"]["AccountRef"]["value"],
                D(str(line["Amount"])),
            )
            for line in purchase["Line"]
        ]

    assert lines(back) == [(UNCATEGORIZED_EXPENSE, D("6.10")), (UNCATEGORIZED_EXPENSE, D("0.90"))]
    assert {account for account, _amount in lines(outbound)} == {SHIPPING_EXPENSE}


def test_post_on_the_first_open_day_dates_a_sale_in_closed_books_after_the_closing_date(
    live_server, client, owner_of_a, org_a, ss_account, qbo, merchant, chromium_path
):
    paid_at = datetime.now(UTC).replace(hour=15, minute=0, second=0, microsecond=0) - timedelta(
        days=10
    )
    closing = (paid_at + timedelta(days=4)).date()
    # The merchant closed their books in QuickBooks (Settings > Advanced > Accounting).
    qbo.set_preferences(AccountingInfoPrefs={"BookCloseDate": closing.isoformat()})
    ss_order = ss_account.add_order(SS_KEY, status="shipped", items=[
        {"sku": "MUG-1", "name": "Mug", "quantity": 2, "unitPrice": "10.00"},
    ], shipping_amount="4.00", at=paid_at, order_date=paid_at)  # fmt: skip
    _import(org_a)
    order = _order(org_a, ss_order)

    with signed_in_browser(live_server, client, owner_of_a.user, chromium_path) as (ctx, errors):
        from playwright.sync_api import expect

        page = ctx.new_page()
        label = re.compile("post on the first open day", re.I)

        def tick(page):
            box = page.get_by_label(label)
            expect(box).not_to_be_checked()  # off by default
            box.check()

        _save_settings(page, live_server.url, org_a, tick)
        expect(page.get_by_label(label)).to_be_checked()
        _post_from_sales(page, live_server.url, org_a, order)
        assert errors == []

    assert _settings(merchant).post_on_first_open_day is True
    _drain(org_a, merchant)
    receipt = _sale(org_a, qbo, order)
    assert receipt["TxnDate"] == (closing + timedelta(days=1)).isoformat()
    paid_on = order.payment_date.astimezone(org_a.tzinfo).date()
    assert f"Originally dated {paid_on:%Y-%m-%d}" in receipt["PrivateNote"]
    assert D(str(receipt["TotalAmt"])) == D("24.00")
    assert len(qbo.documents("salesreceipt")) == 1


def test_the_chosen_shipping_item_carries_the_shipping_line(
    live_server, client, owner_of_a, org_a, ss_account, qbo, merchant, chromium_path
):
    ss_order = ss_account.add_order(SS_KEY, status="shipped", items=[
        {"sku": "MUG-1", "name": "Mug", "quantity": 1, "unitPrice": "20.00"},
    ], shipping_amount="5.00")  # fmt: skip
    _import(org_a)
    order = _order(org_a, ss_order)

    with signed_in_browser(live_server, client, owner_of_a.user, chromium_path) as (ctx, errors):
        from playwright.sync_api import expect

        page = ctx.new_page()

        def choose(page):
            page.get_by_label("Shipping item", exact=True).select_option(
                label="Shipping → Shipping Income"
            )

        _save_settings(page, live_server.url, org_a, choose)
        # The page says which account the merchant's item posts to.
        expect(page.get_by_text("to this item's income account, “Shipping Income”")).to_be_visible()
        _post_from_sales(page, live_server.url, org_a, order)
        assert errors == []

    assert _settings(merchant).shipping_item_id == MERCHANTS_SHIPPING_ITEM
    _drain(org_a, merchant)
    receipt = _sale(org_a, qbo, order)
    shipping = [
        (line["SalesItemLineDetail"]["ItemRef"]["value"], D(str(line["Amount"])))
        for line in receipt["Line"]
        if line.get("Description") == "Shipping"
    ]
    assert shipping == [(MERCHANTS_SHIPPING_ITEM, D("5.00"))]
