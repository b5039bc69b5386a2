"""Xero's books follow the order after posting (the stand-in over HTTP through xero-python):
an order edited after posting updates its invoice (our payment deleted first and applied
again, as Xero edits no paid invoice); an order merged away voids its invoice after deleting
our payment; a voided label deletes its SPEND bank transaction or voids its bill; each
exactly once; a payment someone else applied in Xero stops the change with the reason."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.models import Posting, PostingKind, PostingState
from accounting.services import posting_enqueue_orders
from accounting.services.engine import (
    posting_drain,
    posting_flag_changes,
    posting_update_changed,
)
from sales.models import Order, OrderLine, PostingStatus, ShippingCost
from sandbox.xero import DEFAULT_TENANT_ID as T
from tests.accounting.factories import make_order, make_store_connection
from tests.accounting.xero_support import connect_xero, xero_account
from tests.factories import ShippingCostFactory
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

D = Decimal


def _drain(ledger) -> int:
    with org_scope(ledger.organization_id):
        return posting_drain(ledger_connection_id=ledger.pk)


def _post(org, ledger, order) -> Posting:
    posting_enqueue_orders(organization=org, order_ids=[order.pk])
    _drain(ledger)
    posting = Posting.objects.get(order=order, kind=PostingKind.SALE)
    assert posting.status == PostingState.POSTED, posting.error
    return posting


def _update(org, ledger, posting) -> None:
    """The import flagged it; then "Update selected in the ledger"."""
    posting_flag_changes(organization=org, ledger=ledger)
    posting.refresh_from_db()
    assert posting.needs_review is True
    assert posting_update_changed(organization=org, posting_ids=[posting.pk]).total == 1
    _drain(ledger)
    posting.refresh_from_db()


def _writes(xero, collection: str, method: str = "POST") -> list:
    return [
        r
        for r in xero.requests_log(T)
        if r.method == method and f"/{collection}/" in r.path + "/" and r.path.count("/") > 3
    ]


def _live(xero, collection: str) -> list[dict]:
    return [d for d in xero.documents(collection) if d["Status"] not in ("DELETED", "VOIDED")]


def _edit(order, quantity: str, total: str) -> None:
    """What the import does when ShipStation shows the order changed after posting."""
    OrderLine.objects.filter(order=order).update(quantity=D(quantity))
    order.lines_subtotal = order.amount_paid = order.order_total = D(total)
    order.changed_after_posting = True
    order.posting_status = PostingStatus.CHANGED
    order.save()


def test_order_edited_after_posting_updates_its_paid_invoice_once(
    org_a, xero, xero_ledger, scope_a
):
    order = make_order(org_a, lines=[("MUG", "Mug", 1, "20.00", False)], number="2001")
    posting = _post(org_a, xero_ledger, order)
    [invoice] = xero.documents("Invoices")
    [first_payment] = xero.documents("Payments")
    assert (invoice["Status"], invoice["Total"]) == ("PAID", D("20.00"))

    _edit(order, "2", "40.00")
    _update(org_a, xero_ledger, posting)

    assert (posting.status, posting.needs_review, posting.revision) == ("posted", False, 1)
    [after] = xero.documents("Invoices")
    assert after["InvoiceID"] == invoice["InvoiceID"] == posting.external_id
    assert after["InvoiceNumber"] == "SS-2001"
    assert (after["Status"], after["Total"], after["AmountDue"]) == ("PAID", D("40.00"), D("0"))
    assert [(x["Quantity"], x["LineAmount"]) for x in after["LineItems"]][0] == (D("2"), D("40"))
    payments = {p["PaymentID"]: p for p in xero.documents("Payments")}
    assert payments[first_payment["PaymentID"]]["Status"] == "DELETED"
    [live] = [p for p in payments.values() if p["Status"] != "DELETED"]
    assert live["Amount"] == D("40.00")
    assert posting.secondary_external_id == live["PaymentID"]
    order.refresh_from_db()
    assert (order.posting_status, order.changed_after_posting) == (PostingStatus.POSTED, False)

    # Nothing more: another flag, update and drain send nothing.
    sent = len(xero.requests_log(T))
    assert posting_flag_changes(organization=org_a, ledger=xero_ledger) == 0
    assert posting_update_changed(organization=org_a, posting_ids=[posting.pk]) is None
    assert _drain(xero_ledger) == 0
    assert len(xero.requests_log(T)) == sent
    assert len(_writes(xero, "Payments")) == 1  # the one delete
    assert len(_writes(xero, "Invoices")) == 1  # the one update


def test_update_whose_answer_was_lost_is_not_applied_twice(org_a, xero, xero_ledger, scope_a):
    order = make_order(org_a, lines=[("MUG", "Mug", 1, "20.00", False)], number="2002")
    posting = _post(org_a, xero_ledger, order)
    _edit(order, "3", "60.00")
    # The new payment is made in Xero, its answer is lost on the way back.
    xero.inject_after_commit_faults("server_error", count=1, path_prefix="/api.xro/2.0/Payments")
    _update(org_a, xero_ledger, posting)
    assert posting.status in (PostingState.PENDING, PostingState.FAILED), posting.error
    Posting.objects.filter(pk=posting.pk).update(next_attempt_at=None)
    if posting.status == PostingState.FAILED:
        assert posting_update_changed(organization=org_a, posting_ids=[posting.pk]) is None
    _drain(xero_ledger)
    posting.refresh_from_db()
    assert posting.status == PostingState.POSTED, posting.error
    [invoice] = xero.documents("Invoices")
    assert (invoice["Status"], invoice["Total"]) == ("PAID", D("60.00"))
    [live] = _live(xero, "Payments")
    assert live["Amount"] == D("60.00")
    assert posting.secondary_external_id == live["PaymentID"]


def test_order_merged_after_posting_voids_its_invoice_after_deleting_our_payment(
    org_a, xero, xero_ledger, scope_a
):
    survivor = make_order(org_a, lines=[("A", "Alpha", 1, "25.00", False)], number="2010")
    merged = make_order(org_a, lines=[("B", "Beta", 1, "18.00", False)], number="2011")
    _post(org_a, xero_ledger, survivor)
    posting = _post(org_a, xero_ledger, merged)
    invoice_id, payment_id = posting.external_id, posting.secondary_external_id
    Order.objects.filter(pk=merged.pk).update(merged_into=survivor)

    _update(org_a, xero_ledger, posting)

    assert (posting.status, posting.needs_review) == (PostingState.REMOVED, False), posting.error
    invoices = {i["InvoiceID"]: i for i in xero.documents("Invoices")}
    assert invoices[invoice_id]["Status"] == "VOIDED"
    assert {p["PaymentID"]: p["Status"] for p in xero.documents("Payments")}[payment_id] == (
        "DELETED"
    )
    [kept] = _live(xero, "Invoices")
    assert (kept["InvoiceNumber"], kept["Status"], kept["Total"]) == ("SS-2010", "PAID", D("25"))
    # Once: nothing is sent again.
    sent = len(xero.requests_log(T))
    assert posting_flag_changes(organization=org_a, ledger=xero_ledger) == 0
    assert posting_update_changed(organization=org_a, posting_ids=[posting.pk]) is None
    assert _drain(xero_ledger) == 0
    assert len(xero.requests_log(T)) == sent
    assert len(_writes(xero, "Payments")) == 1
    assert len(_writes(xero, "Invoices")) == 1


def test_a_payment_someone_else_applied_stops_the_void_with_the_reason(
    org_a, xero, xero_ledger, scope_a
):
    order = make_order(org_a, lines=[("A", "Alpha", 1, "30.00", False)], number="2020")
    survivor = make_order(org_a, lines=[("B", "Beta", 1, "5.00", False)], number="2021")
    posting = _post(org_a, xero_ledger, order)
    # The bookkeeper deleted our payment and took the money in again by hand.
    xero.organisation().write(
        "Payments",
        [{"PaymentID": posting.secondary_external_id, "Status": "DELETED"}],
        method="POST",
        summarize=False,
    )
    xero.add_document(
        "Payments",
        {
            "Invoice": {"InvoiceID": posting.external_id},
            "Account": {"AccountID": xero_account("bank", T)},
            "Date": xero.documents("Invoices")[0]["Date"],
            "Amount": "30.00",
            "Reference": "paid by hand",
        },
    )
    Order.objects.filter(pk=order.pk).update(merged_into=survivor)

    _update(org_a, xero_ledger, posting)

    assert (posting.status, posting.needs_review) == (PostingState.POSTED, True)
    assert "payment in Xero that Unify did not make" in posting.error
    [invoice] = xero.documents("Invoices")
    assert invoice["Status"] == "PAID"


def _label(org, ledger, cost: str = "6.10") -> tuple[Posting, ShippingCost]:
    store = make_store_connection(org)
    order = make_order(org, lines=[("A", "Alpha", 1, "10.00", False)], connection=store)
    label = ShippingCostFactory(organization=org, connection=store, order=order, cost=D(cost))
    posting_enqueue_orders(organization=org, order_ids=[order.pk])
    _drain(ledger)
    posting = Posting.objects.get(kind=PostingKind.SHIPPING_COST, shipping_cost=label)
    assert posting.status == PostingState.POSTED, posting.error
    ShippingCost.objects.filter(pk=label.pk).update(voided=True, void_date=timezone.now())
    return posting, label


def test_voided_label_deletes_its_spend_transaction_once(org_a, xero, xero_settings, scope_a):
    ledger = connect_xero(org_a, xero, label_cost_mode="expense")
    posting, _label_cost = _label(org_a, ledger)
    [spend] = xero.documents("BankTransactions")
    assert (spend["Type"], spend["Status"]) == ("SPEND", "AUTHORISED")

    _update(org_a, ledger, posting)

    assert (posting.status, posting.needs_review) == (PostingState.REMOVED, False), posting.error
    [after] = xero.documents("BankTransactions")
    assert (after["BankTransactionID"], after["Status"]) == (spend["BankTransactionID"], "DELETED")
    assert [i["Status"] for i in xero.documents("Invoices")] == ["PAID"]  # the sale stays
    sent = len(xero.requests_log(T))
    assert posting_update_changed(organization=org_a, posting_ids=[posting.pk]) is None
    assert _drain(ledger) == 0
    assert len(xero.requests_log(T)) == sent
    assert len(_writes(xero, "BankTransactions")) == 1


def test_voided_label_voids_its_bill_and_a_lost_answer_counts_as_removed(
    org_a, xero, xero_settings, scope_a
):
    ledger = connect_xero(org_a, xero, label_cost_mode="bill")
    posting, _label_cost = _label(org_a, ledger, "12.40")
    [bill] = [i for i in xero.documents("Invoices") if i["Type"] == "ACCPAY"]
    xero.inject_after_commit_faults("server_error", count=1, path_prefix="/api.xro/2.0/Invoices")

    _update(org_a, ledger, posting)
    assert posting.status == PostingState.PENDING  # voided in Xero, the answer lost
    Posting.objects.filter(pk=posting.pk).update(next_attempt_at=None)
    assert _drain(ledger) == 1
    posting.refresh_from_db()

    assert (posting.status, posting.needs_review) == (PostingState.REMOVED, False), posting.error
    assert "already gone" in posting.error
    bills = {i["InvoiceID"]: i for i in xero.documents("Invoices") if i["Type"] == "ACCPAY"}
    assert bills[bill["InvoiceID"]]["Status"] == "VOIDED"
    assert len(_writes(xero, "Invoices")) == 1


def test_a_summary_whose_orders_changed_updates_its_journal_in_place(
    org_a, xero, xero_settings, scope_a
):
    from datetime import timedelta

    ledger = connect_xero(
        org_a,
        xero,
        document_type="daily_summary",
        label_cost_mode="off",
        reconciliation_enabled=True,
    )
    yesterday = timezone.now() - timedelta(days=1)
    first = make_order(
        org_a, lines=[("A", "Alpha", 1, "20.00", False)], order_date=yesterday,
        payment_date=yesterday,
    )  # fmt: skip
    make_order(
        org_a, lines=[("B", "Beta", 1, "15.00", False)], order_date=yesterday,
        payment_date=yesterday,
    )  # fmt: skip
    posting_enqueue_orders(
        organization=org_a, order_ids=list(Order.objects.values_list("pk", flat=True))
    )
    _drain(ledger)
    [posting] = Posting.objects.filter(kind=PostingKind.SUMMARY)
    assert posting.status == PostingState.POSTED, posting.error
    [journal] = xero.documents("ManualJournals")
    clearing = xero_account("clearing", T)

    def deposit(j) -> Decimal:
        return sum((x["LineAmount"] for x in j["JournalLines"] if x["AccountID"] == clearing), D(0))

    assert deposit(journal) == D("35.00")

    _edit(first, "2", "40.00")
    _update(org_a, ledger, posting)

    assert (posting.status, posting.needs_review, posting.revision) == ("posted", False, 1)
    [after] = xero.documents("ManualJournals")
    assert after["ManualJournalID"] == journal["ManualJournalID"] == posting.external_id
    assert after["Status"] == "POSTED"
    assert deposit(after) == D("55.00")
    assert sum(x["LineAmount"] for x in after["JournalLines"]) == 0
    assert len(_writes(xero, "ManualJournals")) == 1


def test_order_cancelled_after_posting_voids_its_invoice_once(org_a, xero, xero_ledger, scope_a):
    order = make_order(org_a, lines=[("A", "Alpha", 1, "30.00", False)], number="2030")
    posting = _post(org_a, xero_ledger, order)
    invoice_id, payment_id = posting.external_id, posting.secondary_external_id
    # The import saw the order cancelled in ShipStation.
    Order.objects.filter(pk=order.pk).update(
        status="cancelled", is_cancelled=True, changed_after_posting=True
    )

    _update(org_a, xero_ledger, posting)

    assert (posting.status, posting.needs_review) == (PostingState.REMOVED, False), posting.error
    [invoice] = xero.documents("Invoices")
    assert (invoice["InvoiceID"], invoice["Status"]) == (invoice_id, "VOIDED")
    [payment] = xero.documents("Payments")
    assert (payment["PaymentID"], payment["Status"]) == (payment_id, "DELETED")
    sent = len(xero.requests_log(T))
    posting_flag_changes(organization=org_a, ledger=xero_ledger)
    assert posting_update_changed(organization=org_a, posting_ids=[posting.pk]) is None
    assert _drain(xero_ledger) == 0
    assert len(xero.requests_log(T)) == sent
    assert (len(_writes(xero, "Payments")), len(_writes(xero, "Invoices"))) == (1, 1)
