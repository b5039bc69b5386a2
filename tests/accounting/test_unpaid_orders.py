"""Issue 17, item 11: an order shipped with ``amountPaid`` 0 is an open invoice (a
receivable, no payment) in invoice + payment mode, and is held with a clear reason in
sales-receipt mode instead of posting a 0.00 receipt. When the payment shows up later, the
invoice gets its payment through the update, the held receipt posts on retry.

ShipStation and QuickBooks Online stand-ins over HTTP, PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounting.models import Posting, PostingKind, PostingState
from accounting.services import posting_after_import, posting_retry_failed
from accounting.services.engine import posting_drain, posting_update_changed
from sales.models import Order, PostingStatus, SyncStatus
from tests.accounting.conftest import connect_ledger
from tests.sales.support import SS_KEY, make_connection, run_sync
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

MUG = {"sku": "MUG-1", "name": "Mug", "quantity": 2, "unitPrice": "12.50"}


def _sync_and_post(org, connection, ledger):
    run = run_sync(org, connection)
    assert run.status == SyncStatus.SUCCEEDED
    with org_scope(org.pk):
        posting_after_import(org.pk, connection.pk, run.pk)
        posting_drain(ledger_connection_id=ledger.pk)


def _unpaid_shipped_order(ss):
    order = ss.add_order(
        SS_KEY, status="awaiting_shipment", items=[MUG], shipping_amount="5.00", amount_paid="0"
    )
    ss.add_label(SS_KEY, order["orderId"], shipment_cost="6.10")
    return order


def _sale(org, order_json) -> tuple[Order, Posting]:
    with org_scope(org.pk):
        order = Order.objects.get(external_id=str(order_json["orderId"]))
        return order, Posting.objects.get(order=order, kind=PostingKind.SALE)


def test_unpaid_order_posts_an_open_invoice_without_payment_then_is_paid(
    ss_account, org_a, qbo, qbo_settings
):
    order_json = _unpaid_shipped_order(ss_account)
    connection = make_connection(org_a)
    ledger = connect_ledger(
        org_a, qbo, trigger="after_import", label_cost_mode="off",
        document_type="invoice_payment",
    )  # fmt: skip
    _sync_and_post(org_a, connection, ledger)
    order, posting = _sale(org_a, order_json)
    assert order.amount_paid == Decimal("0.00")
    assert posting.status == PostingState.POSTED, posting.error
    [invoice] = qbo.documents("invoice")
    assert Decimal(str(invoice["TotalAmt"])) == Decimal("30.00")
    assert Decimal(str(invoice["Balance"])) == Decimal("30.00")  # open: a receivable
    assert qbo.documents("payment") == []
    assert not any("Reconciliation" in str(line.get("Description")) for line in invoice["Line"])

    # Paid later: the update adds the payment to the same invoice.
    ss_account.edit_order(SS_KEY, order_json["orderId"], amountPaid="30.00")
    _sync_and_post(org_a, connection, ledger)
    with org_scope(org_a.pk):
        assert posting_update_changed(organization=org_a, posting_ids=[posting.pk]).total == 1
        posting_drain(ledger_connection_id=ledger.pk)
    [invoice] = qbo.documents("invoice")
    [payment] = qbo.documents("payment")
    assert Decimal(str(payment["TotalAmt"])) == Decimal("30.00")
    assert Decimal(str(invoice["Balance"])) == Decimal("0.00")


def test_unpaid_order_is_held_in_sales_receipt_mode_with_the_reason(
    ss_account, org_a, qbo, qbo_settings
):
    order_json = _unpaid_shipped_order(ss_account)
    connection = make_connection(org_a)
    ledger = connect_ledger(org_a, qbo, trigger="after_import", label_cost_mode="off")
    _sync_and_post(org_a, connection, ledger)
    order, posting = _sale(org_a, order_json)
    assert posting.status == PostingState.FAILED
    assert "is not paid (amount paid 0.00 of 30.00)" in posting.error
    assert order.posting_status == PostingStatus.FAILED
    assert qbo.documents("salesreceipt") == []

    ss_account.edit_order(SS_KEY, order_json["orderId"], amountPaid="30.00")
    _sync_and_post(org_a, connection, ledger)
    with org_scope(org_a.pk):
        posting_retry_failed(organization=org_a, posting_ids=[posting.pk])
        posting_drain(ledger_connection_id=ledger.pk)
    [receipt] = qbo.documents("salesreceipt")
    assert Decimal(str(receipt["TotalAmt"])) == Decimal("30.00")
