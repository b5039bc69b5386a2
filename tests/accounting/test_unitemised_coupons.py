"""Issue 17, item 7 (and issue 18 for Xero): a coupon the store did not send as a discount
line shows in ShipStation only as ``orderTotal - amountPaid``; when the order has no discount
line and its difference equals that figure, the difference is posted to the discount account,
not to reconciliation. Daily summaries follow the same rules (and leave marketplace tax out).

ShipStation, QuickBooks Online and Xero stand-ins over HTTP, PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from accounting.models import Posting, PostingKind, PostingState
from sales.models import Order
from tests.accounting.conftest import connect_ledger
from tests.accounting.differences_support import (
    MUG,
    make_connection,
    order_paid_without_tax,
    post_to_qbo,
    post_to_xero,
    store_ids,
    sync_and_post,
    xero_lines,
)
from tests.sales.support import SS_KEY
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

D = Decimal
PLAIN_MUG = {k: v for k, v in MUG.items() if k != "taxAmount"}  # 25.00, no tax


def _coupon_order(ss, *, items=(PLAIN_MUG,), paid="25.00", at=None) -> dict:
    """A Shopify order of 25.00 + 5.00 shipping = 30.00 paid with a 5.00 coupon that
    ShipStation lists as no line: ``orderTotal`` 30.00, ``amountPaid`` 25.00."""
    order = ss.add_order(
        SS_KEY,
        store_id=store_ids(ss)["Shopify"],
        status="shipped",
        items=list(items),
        shipping_amount="5.00",
        amount_paid=paid,
        at=at,
        order_date=at,
    )
    return order


def test_coupon_without_a_discount_line_posts_to_the_discount_account_in_qbo(
    ss_account, org_a, qbo, qbo_settings, owner_client
):
    coupon = _coupon_order(ss_account)
    assert (D(str(coupon["orderTotal"])), D(str(coupon["amountPaid"]))) == (D("30.00"), D("25.00"))
    order, receipt = post_to_qbo(org_a, qbo, coupon)
    assert D(str(receipt["TotalAmt"])) == D("25.00")
    [discount] = [x for x in receipt["Line"] if x.get("DetailType") == "DiscountLineDetail"]
    assert D(str(discount["Amount"])) == D("5.00")
    assert discount["DiscountLineDetail"]["DiscountAccountRef"]["value"] == "86"
    assert discount["Description"] == "Coupon or discount not itemised on the order"
    assert not any("Reconciliation" in str(x.get("Description", "")) for x in receipt["Line"])

    page = owner_client.get(f"/o/{org_a.slug}/sales/{order.pk}/").content.decode()
    assert "The difference of 5.00 equals the order&#x27;s discount in ShipStation" in page


def test_a_difference_besides_an_itemised_discount_stays_on_reconciliation(
    ss_account, org_a, qbo, qbo_settings
):
    # A discount line of 2.00 is itemised; the buyer paid 1.00 less on top: no coupon guess.
    spring = {"name": "SPRING2", "quantity": 1, "unitPrice": "-2.00", "adjustment": True}
    order_json = _coupon_order(ss_account, items=(PLAIN_MUG, spring), paid="27.00")
    assert D(str(order_json["orderTotal"])) == D("28.00")
    _order, receipt = post_to_qbo(org_a, qbo, order_json)
    assert D(str(receipt["TotalAmt"])) == D("27.00")
    [discount] = [x for x in receipt["Line"] if x.get("DetailType") == "DiscountLineDetail"]
    assert D(str(discount["Amount"])) == D("2.00")
    reconciliation = [
        D(str(x["Amount"]))
        for x in receipt["Line"]
        if str(x.get("Description", "")).startswith("Reconciliation")
    ]
    assert reconciliation == [D("-1.00")]


def test_coupon_without_a_discount_line_posts_to_the_discount_account_in_xero(
    ss_account, org_a, xero, xero_settings
):
    coupon = _coupon_order(ss_account)
    invoice = post_to_xero(org_a, xero, coupon)
    assert invoice["Total"] == D("25.00") and invoice["Status"] == "PAID"
    lines = xero_lines(invoice)
    assert [(d, a) for d, a, c in lines if c == "280"] == [
        ("Coupon or discount not itemised on the order", D("-5.00"))
    ]
    assert not [x for x in lines if x[2] == "870"]


def _journal_lines(entry) -> dict[tuple[str, str], Decimal]:
    lines: dict[tuple[str, str], Decimal] = {}
    for line in entry["Line"]:
        detail = line["JournalEntryLineDetail"]
        key = (detail["AccountRef"]["value"], detail["PostingType"])
        lines[key] = lines.get(key, D("0")) + D(str(line["Amount"]))
    return lines


def test_daily_summaries_book_the_coupon_as_discount_and_leave_marketplace_tax_out(
    ss_account, org_a, qbo, qbo_settings
):
    # Summaries are posted for days that are over: orders of two days ago.
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    coupon = _coupon_order(ss_account, at=two_days_ago)
    amazon = order_paid_without_tax(ss_account, "Amazon", at=two_days_ago)
    connection = make_connection(org_a)
    ledger = connect_ledger(
        org_a,
        qbo,
        trigger="after_import",
        label_cost_mode="off",
        document_type="daily_summary",
        reconciliation_enabled=True,
    )
    sync_and_post(org_a, connection, ledger)
    with org_scope(org_a.pk):
        summaries = list(Posting.objects.filter(kind=PostingKind.SUMMARY))
        stores = {
            o.external_id: o.source_store_id
            for o in Order.objects.filter(
                external_id__in=[str(coupon["orderId"]), str(amazon["orderId"])]
            )
        }
    assert {p.status for p in summaries} == {PostingState.POSTED}, [p.error for p in summaries]
    entries = {e["Id"]: e for e in qbo.documents("journalentry")}
    by_store = {p.summary_store_key: _journal_lines(entries[p.external_id]) for p in summaries}
    shopify_day = by_store[str(stores[str(coupon["orderId"])])]
    amazon_day = by_store[str(stores[str(amazon["orderId"])])]
    assert shopify_day[("86", "Debit")] == D("5.00")  # the coupon on Discounts given
    assert shopify_day[("4", "Debit")] == D("25.00")
    assert not any(account == "92" for account, _side in shopify_day)
    assert amazon_day[("4", "Debit")] == D("30.00")
    assert not any(account in ("89", "92") for account, _side in amazon_day)  # no tax owed
