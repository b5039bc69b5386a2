"""Orders merged in ShipStation after they were imported (issue 16, item 1): the merged-away
order vanishes from ShipStation, the surviving one carries its lines and amounts. Each sale
ends counted once, to the cent, on the Sales tab and in the ledger, whether or not the
merged-away order had been posted. Stand-in over HTTP, PostgreSQL, the QBO stand-in."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounting.models import Posting, PostingKind, PostingState
from accounting.services import posting_after_import
from accounting.services.engine import posting_drain, posting_update_changed
from sales.filters import OrderFilters
from sales.models import Order, PostingStatus, SyncStatus
from sales.selectors_tab import order_summary
from tests.accounting.conftest import connect_ledger
from tests.sales.support import SS_KEY, make_connection, run_sync
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

MUG = {"sku": "MUG-1", "name": "Mug", "quantity": 1, "unitPrice": "20.00"}
CAPS = {"sku": "CAP-1", "name": "Cap", "quantity": 2, "unitPrice": "7.50"}


def _two_open_orders(ss):
    first = ss.add_order(SS_KEY, status="awaiting_shipment", items=[MUG], shipping_amount="5.00")
    second = ss.add_order(SS_KEY, status="awaiting_shipment", items=[CAPS], shipping_amount="3.00")
    return first, second


def _orders(org) -> dict[str, Order]:
    with org_scope(org.pk):
        return {o.external_id: o for o in Order.objects.all()}


def _summary(org):
    with org_scope(org.pk):
        return order_summary(organization=org, filters=OrderFilters())


def test_a_merge_before_posting_counts_the_sale_once_and_posts_it_once(
    ss_account, org_a, qbo, qbo_settings
):
    first, second = _two_open_orders(ss_account)
    connection = make_connection(org_a)
    assert run_sync(org_a, connection).status == SyncStatus.SUCCEEDED
    assert _summary(org_a).totals[0].total_sales == Decimal("43.00")  # 25.00 + 18.00

    ss_account.merge_orders(SS_KEY, first["orderId"], [second["orderId"]])
    ss_account.add_label(SS_KEY, first["orderId"], shipment_cost="6.00", insurance_cost="0")
    run = run_sync(org_a, connection)

    orders = _orders(org_a)
    survivor, merged = orders[str(first["orderId"])], orders[str(second["orderId"])]
    assert merged.merged_into_id == survivor.pk
    assert merged.posting_status == PostingStatus.MERGED
    assert (survivor.order_total, survivor.amount_paid) == (Decimal("43.00"), Decimal("43.00"))
    assert survivor.reconciliation_difference == Decimal("0.00")
    summary = _summary(org_a)
    assert [(t.orders, t.total_sales, t.shipping_charged) for t in summary.totals] == [
        (1, Decimal("43.00"), Decimal("8.00"))
    ]
    assert summary.counts[PostingStatus.MERGED] == 1

    ledger = connect_ledger(org_a, qbo, trigger="after_import", label_cost_mode="off")
    with org_scope(org_a.pk):
        posting_after_import(org_a.pk, connection.pk, run.pk)
        posting_drain(ledger_connection_id=ledger.pk)
        postings = list(Posting.objects.filter(kind=PostingKind.SALE))
    assert [(p.order_id, p.status) for p in postings] == [(survivor.pk, PostingState.POSTED)]
    [receipt] = qbo.documents("salesreceipt")
    assert Decimal(str(receipt["TotalAmt"])) == Decimal("43.00")


def test_a_merge_after_posting_takes_the_merged_sale_out_of_the_ledger(
    ss_account, org_a, qbo, qbo_settings
):
    first, second = _two_open_orders(ss_account)
    connection = make_connection(org_a)
    ledger = connect_ledger(
        org_a, qbo, trigger="after_import", label_cost_mode="off",
        eligible_statuses=["awaiting_shipment", "shipped"],
    )  # fmt: skip
    run = run_sync(org_a, connection)
    with org_scope(org_a.pk):
        posting_after_import(org_a.pk, connection.pk, run.pk)
        posting_drain(ledger_connection_id=ledger.pk)
    receipts = {Decimal(str(r["TotalAmt"])) for r in qbo.documents("salesreceipt")}
    assert receipts == {Decimal("25.00"), Decimal("18.00")}

    ss_account.merge_orders(SS_KEY, first["orderId"], [second["orderId"]])
    run = run_sync(org_a, connection)
    with org_scope(org_a.pk):
        posting_after_import(org_a.pk, connection.pk, run.pk)
        flagged = {
            p.order_id: p for p in Posting.objects.filter(kind=PostingKind.SALE, needs_review=True)
        }
    orders = _orders(org_a)
    survivor, merged = orders[str(first["orderId"])], orders[str(second["orderId"])]
    assert set(flagged) == {survivor.pk, merged.pk}
    assert "merged into another order" in flagged[merged.pk].error
    assert merged.merged_into_id == survivor.pk

    with org_scope(org_a.pk):
        posting_update_changed(organization=org_a, posting_ids=[p.pk for p in flagged.values()])
        posting_drain(ledger_connection_id=ledger.pk)
        after = {p.order_id: p for p in Posting.objects.filter(kind=PostingKind.SALE)}
        merged.refresh_from_db()
    assert after[merged.pk].status == PostingState.REMOVED, after[merged.pk].error
    assert after[survivor.pk].status == PostingState.POSTED, after[survivor.pk].error
    assert merged.posting_status == PostingStatus.MERGED
    # The ledger ends with the sale once, to the cent.
    [receipt] = qbo.documents("salesreceipt")
    assert Decimal(str(receipt["TotalAmt"])) == Decimal("43.00")
    assert [(t.orders, t.total_sales) for t in _summary(org_a).totals] == [(1, Decimal("43.00"))]
