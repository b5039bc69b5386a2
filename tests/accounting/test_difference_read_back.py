"""Issue 17 "Done when" for items 6 and 7, on both ledgers: after importing a generated
ShipStation account (Shopify, Amazon, eBay and Etsy stores, their marketplaces read from
``/stores``) and posting every shipped order, an independent read-back of the ledger finds
each sale with what the buyer paid, and nothing on the reconciliation account that has a
proper home: unitemised coupons are discounts, marketplace-collected tax is not booked.

The stand-in's own reasons for each order's mismatch are the oracle. ShipStation, QuickBooks
Online and Xero stand-ins over HTTP, PostgreSQL."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from accounting.models import Posting, PostingKind, PostingState
from sales.models import Order
from tests.accounting.conftest import connect_ledger
from tests.accounting.differences_support import (
    make_connection,
    mismatch_reasons,
    reconciliation_expected,
    sync_and_post,
    xero_lines,
)
from tests.accounting.xero_support import connect_xero
from tests.sales.support import SS_KEY, SS_SECRET
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def generated_account(ss_account):
    ss_account.remove_account(SS_KEY)
    ss_account.add_account(SS_KEY, SS_SECRET, seed=43, orders=150, days=20, stores=4)
    return ss_account


def _eligible(org) -> tuple[list[Order], dict[int, Posting]]:
    with org_scope(org.pk):
        orders = [
            o
            for o in Order.objects.select_related("source_store")
            if o.status == "shipped" and not o.is_cancelled
        ]
        postings = {p.order_id: p for p in Posting.objects.filter(kind=PostingKind.SALE)}
    return orders, postings


@pytest.mark.parametrize("ledger_kind", ["qbo", "xero"])
def test_read_back_has_nothing_on_reconciliation_with_a_proper_home(
    request, generated_account, org_a, ledger_kind
):
    reasons = mismatch_reasons(generated_account, SS_KEY)
    connection = make_connection(org_a)
    values = {"trigger": "after_import", "label_cost_mode": "off", "reconciliation_enabled": True}
    if ledger_kind == "qbo":
        request.getfixturevalue("qbo_settings")
        books = request.getfixturevalue("qbo")
        ledger = connect_ledger(org_a, books, **values)
    else:
        request.getfixturevalue("xero_settings")
        books = request.getfixturevalue("xero")
        ledger = connect_xero(org_a, books, **values)
    sync_and_post(org_a, connection, ledger)

    orders, postings = _eligible(org_a)
    seen = Counter()
    for order in orders:
        posting = postings[order.pk]
        assert posting.status == PostingState.POSTED, (order.number, posting.error)
        reason = reasons.get(order.external_id, "")
        seen[reason] += 1
        if ledger_kind == "qbo":
            sale = books.document("salesreceipt", posting.external_id)
            total = D(str(sale["TotalAmt"]))
            described = [(str(x.get("Description", "")), x) for x in sale["Line"]]
            on_reconciliation = [x for d, x in described if d.startswith("Reconciliation")]
            tax_booked = [x for d, x in described if d == "Sales tax"]
            coupons = [x for _d, x in described if x.get("DetailType") == "DiscountLineDetail"]
        else:
            [sale] = [
                i for i in books.documents("Invoices") if i["InvoiceID"] == posting.external_id
            ]
            total = sale["Total"]
            lines = xero_lines(sale)
            on_reconciliation = [x for x in lines if x[2] == "870"]
            tax_booked = [x for x in lines if x[2] == "820"]
            coupons = [x for x in lines if x[2] == "280"]
        assert total == order.amount_paid, order.number
        expected = 1 if reconciliation_expected(order, reason) else 0
        assert len(on_reconciliation) == expected, (order.number, reason)
        if reason == "marketplace_tax":
            assert tax_booked == [], order.number  # the marketplace's, not a liability
        if reason == "coupon" and not order.discount_total:
            assert len(coupons) == 1, order.number
    # The generated account has both kinds of difference among the posted orders.
    assert seen["marketplace_tax"] and seen["coupon"], seen
