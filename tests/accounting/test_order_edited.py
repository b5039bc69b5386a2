"""Issue 17, item 2: an order edited in ShipStation after posting (amount paid, shipping,
tax) is listed "changed after posting" and re-posted as a sparse update of the same
QuickBooks document with its SyncToken: sales receipts and invoices with their payment,
raised and lowered. What the merchant added in QuickBooks (a memo) stays.

ShipStation and QuickBooks Online stand-ins over HTTP, PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounting.models import Posting, PostingKind, PostingState
from accounting.services import posting_after_import, posting_enqueue_orders
from accounting.services.engine import posting_drain, posting_flag_changes, posting_update_changed
from sales.models import Order, PostingStatus, SyncStatus
from tests.accounting.conftest import connect_ledger
from tests.accounting.factories import make_order
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


def _merchant_adds_a_memo(qbo, entity: str, record: dict) -> None:
    qbo.company().save(
        entity,
        {
            "Id": record["Id"],
            "SyncToken": record["SyncToken"],
            "sparse": True,
            "CustomerMemo": {"value": "Thank you!"},
        },
    )


@pytest.mark.parametrize("mode", ["sales_receipt", "invoice_payment"])
@pytest.mark.parametrize(
    ("shipping", "paid"), [("9.00", "34.00"), ("1.00", "26.00")], ids=["raised", "lowered"]
)
def test_an_order_edited_after_posting_updates_the_same_document(
    ss_account, org_a, qbo, qbo_settings, mode, shipping, paid
):
    order_json = ss_account.add_order(
        SS_KEY, status="awaiting_shipment", items=[MUG], shipping_amount="5.00"
    )
    ss_account.add_label(SS_KEY, order_json["orderId"], shipment_cost="6.10")
    connection = make_connection(org_a)
    ledger = connect_ledger(
        org_a, qbo, trigger="after_import", label_cost_mode="off", document_type=mode
    )
    _sync_and_post(org_a, connection, ledger)
    entity, api = (
        ("salesreceipt", "SalesReceipt") if mode == "sales_receipt" else ("invoice", "Invoice")
    )
    [before] = qbo.documents(entity)
    assert Decimal(str(before["TotalAmt"])) == Decimal("30.00")
    _merchant_adds_a_memo(qbo, api, before)
    token_before = int(qbo.document(entity, before["Id"])["SyncToken"])

    ss_account.edit_order(SS_KEY, order_json["orderId"], shippingAmount=shipping, amountPaid=paid)
    _sync_and_post(org_a, connection, ledger)
    with org_scope(org_a.pk):
        order = Order.objects.get(external_id=str(order_json["orderId"]))
        posting = Posting.objects.get(order=order, kind=PostingKind.SALE)
    assert order.posting_status == PostingStatus.CHANGED
    assert posting.needs_review and posting.status == PostingState.POSTED

    with org_scope(org_a.pk):
        assert posting_update_changed(organization=org_a, posting_ids=[posting.pk]).total == 1
        posting_drain(ledger_connection_id=ledger.pk)
    posting.refresh_from_db()
    order.refresh_from_db()
    [after] = qbo.documents(entity)
    assert after["Id"] == before["Id"] == posting.external_id
    assert int(after["SyncToken"]) > token_before
    assert Decimal(str(after["TotalAmt"])) == Decimal(paid)
    shipping_lines = [
        Decimal(str(line["Amount"]))
        for line in after["Line"]
        if "Shipping" in str(line.get("Description", ""))
    ]
    assert shipping_lines == [Decimal(shipping)]
    assert after.get("CustomerMemo") == {"value": "Thank you!"}  # sparse: the memo stays
    assert (posting.status, posting.needs_review, posting.revision) == ("posted", False, 1)
    assert (order.posting_status, order.changed_after_posting) == (PostingStatus.POSTED, False)
    if mode == "invoice_payment":
        [payment] = qbo.documents("payment")
        assert Decimal(str(payment["TotalAmt"])) == Decimal(paid)
        assert Decimal(str(after["Balance"])) == Decimal("0.00")
        assert payment["Id"] == posting.secondary_external_id


def test_tax_removed_after_posting_leaves_no_tax_on_the_updated_receipt(
    org_a, qbo, qbo_settings, scope_a
):
    ledger = connect_ledger(org_a, qbo, default_tax_code_id="TAX")
    order = make_order(org_a, lines=[("A", "Alpha", 1, "20.00", False)], tax="1.60")
    posting_enqueue_orders(organization=org_a, order_ids=[order.pk])
    posting_drain(ledger_connection_id=ledger.pk)
    [before] = qbo.documents("salesreceipt")
    assert Decimal(str(before["TotalAmt"])) == Decimal("21.60")

    order.tax_total = Decimal("0.00")
    order.order_total = order.amount_paid = Decimal("20.00")
    order.changed_after_posting = True
    order.posting_status = PostingStatus.CHANGED
    order.save()
    posting = Posting.objects.get(order=order)
    assert posting_flag_changes(organization=org_a, ledger=ledger) == 1
    assert posting_update_changed(organization=org_a, posting_ids=[posting.pk]).total == 1
    posting_drain(ledger_connection_id=ledger.pk)

    [after] = qbo.documents("salesreceipt")
    assert after["Id"] == before["Id"]
    assert Decimal(str(after["TotalAmt"])) == Decimal("20.00")
    assert Decimal(str(after["TxnTaxDetail"]["TotalTax"])) == Decimal("0.00")
