"""The posting engine in-process against the QBO stand-in (the worker tests are separate)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail

from accounting.models import LedgerStatus, Posting, PostingEvent, PostingState
from accounting.services import posting_enqueue_orders, posting_retry_failed
from accounting.services.engine import posting_drain
from sales.models import PostingStatus
from tests.accounting.factories import make_order, make_store_connection
from tests.factories import ShippingCostFactory
from tests.notifications.delivery import deliver_notification_emails
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db


def _drain(ledger) -> int:
    with org_scope(ledger.organization_id):
        return posting_drain(ledger_connection_id=ledger.pk)


def _receipts(qbo, number):
    return [r for r in qbo.documents("salesreceipt") if r.get("DocNumber") == number]


def test_enqueued_orders_post_once_each_with_their_totals(org_a, qbo, qbo_ledger, scope_a):
    orders = [
        make_order(org_a, lines=[("A", "Alpha", 2, "10.00", False)], shipping="4.95", tax="1.20"),
        make_order(org_a, lines=[("B", "Beta", 1, "5.55", False)]),
    ]
    ignored = make_order(org_a, lines=[("C", "Gamma", 1, "3.00", False)], is_ignored=True)
    cancelled = make_order(org_a, lines=[("C", "Gamma", 1, "3.00", False)], is_cancelled=True)
    batch = posting_enqueue_orders(
        organization=org_a, order_ids=[o.pk for o in orders] + [ignored.pk, cancelled.pk]
    )
    assert (batch.total, batch.not_eligible) == (2, 2)
    assert _drain(qbo_ledger) == 2
    again = posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in orders])
    assert again.total == 0
    assert _drain(qbo_ledger) == 0

    for order in orders:
        posting = Posting.objects.get(order=order)
        assert posting.status == PostingState.POSTED
        (receipt,) = _receipts(qbo, posting.document_number)
        assert Decimal(str(receipt["TotalAmt"])) == order.amount_paid
        assert posting.external_id == receipt["Id"]
        assert posting.deep_link.endswith(f"txnId={receipt['Id']}")
        order.refresh_from_db()
        assert order.posting_status == PostingStatus.POSTED
    assert not Posting.objects.filter(order__in=[ignored, cancelled]).exists()
    assert len(qbo.documents("salesreceipt")) == 2


def test_label_costs_post_once_as_expenses(org_a, qbo, qbo_ledger, scope_a):
    store = make_store_connection(org_a)
    order = make_order(org_a, lines=[("A", "Alpha", 1, "10.00", False)], connection=store)
    ShippingCostFactory(organization=org_a, connection=store, order=order, cost=Decimal("6.10"))
    ShippingCostFactory(
        organization=org_a, connection=store, order=order, cost=Decimal("9.99"), voided=True
    )
    posting_enqueue_orders(organization=org_a, order_ids=[order.pk])
    posting_enqueue_orders(organization=org_a, order_ids=[order.pk])
    _drain(qbo_ledger)
    purchases = qbo.documents("purchase")
    assert [Decimal(str(p["TotalAmt"])) for p in purchases] == [Decimal("6.10")]
    assert purchases[0]["AccountRef"]["value"] == "35"


def test_unexplained_difference_fails_with_both_amounts_and_retry_succeeds(
    org_a, qbo, qbo_ledger, scope_a
):
    order = make_order(org_a, lines=[("A", "Alpha", 1, "20.00", False)], paid="18.50")
    posting_enqueue_orders(organization=org_a, order_ids=[order.pk])
    _drain(qbo_ledger)
    posting = Posting.objects.get(order=order)
    assert posting.status == PostingState.FAILED
    assert "18.50" in posting.error and "20.00" in posting.error
    order.refresh_from_db()
    assert order.posting_status == PostingStatus.FAILED
    assert qbo.documents("salesreceipt") == []

    ps = qbo_ledger.posting_settings
    ps.reconciliation_enabled = True
    ps.save()
    batch = posting_retry_failed(organization=org_a)
    assert batch.total == 1
    _drain(qbo_ledger)
    posting.refresh_from_db()
    assert posting.status == PostingState.POSTED
    (receipt,) = qbo.documents("salesreceipt")
    assert Decimal(str(receipt["TotalAmt"])) == Decimal("18.50")
    assert [e.to_status for e in PostingEvent.objects.filter(posting=posting)] == [
        "failed",
        "pending",
        "posted",
    ]


def test_revoked_grant_marks_ledger_for_reconnection_and_tells_owners(
    org_a, owner_of_a, qbo, qbo_ledger, scope_a, django_capture_on_commit_callbacks
):
    order = make_order(org_a, lines=[("A", "Alpha", 1, "20.00", False)])
    qbo.revoke_tokens()
    posting_enqueue_orders(organization=org_a, order_ids=[order.pk])
    with django_capture_on_commit_callbacks(execute=True):
        _drain(qbo_ledger)
    qbo_ledger.refresh_from_db()
    assert qbo_ledger.status == LedgerStatus.NEEDS_REAUTH
    posting = Posting.objects.get(order=order)
    assert posting.status == PostingState.PENDING  # waits for the reconnection
    assert posting.attempts == 0
    deliver_notification_emails()  # the "ledger disconnected" notification's email task
    assert [m.to for m in mail.outbox] == [[owner_of_a.user.email]]
    assert "Reconnect" in mail.outbox[0].body
    assert qbo.documents("salesreceipt") == []


def test_order_changed_after_posting_is_listed_then_updated_by_synctoken(
    org_a, qbo, qbo_ledger, scope_a
):
    from accounting.services.engine import posting_flag_changes, posting_update_changed
    from sales.models import OrderLine

    order = make_order(org_a, lines=[("A", "Alpha", 1, "20.00", False)])
    posting_enqueue_orders(organization=org_a, order_ids=[order.pk])
    _drain(qbo_ledger)
    posting = Posting.objects.get(order=order)
    (before,) = qbo.documents("salesreceipt")
    # The import saw the order change in ShipStation (a second unit) and flagged it.
    OrderLine.objects.filter(order=order).update(quantity=Decimal("2"))
    order.lines_subtotal = order.amount_paid = order.order_total = Decimal("40.00")
    order.changed_after_posting = True
    order.posting_status = PostingStatus.CHANGED
    order.save()

    assert posting_flag_changes(organization=org_a, ledger=qbo_ledger) == 1
    posting.refresh_from_db()
    assert posting.needs_review is True
    batch = posting_update_changed(organization=org_a, posting_ids=[posting.pk])
    assert batch.total == 1
    _drain(qbo_ledger)

    posting.refresh_from_db()
    order.refresh_from_db()
    (after,) = qbo.documents("salesreceipt")
    assert after["Id"] == before["Id"] == posting.external_id
    assert Decimal(str(after["TotalAmt"])) == Decimal("40.00")
    assert int(after["SyncToken"]) == int(before["SyncToken"]) + 1
    assert (posting.status, posting.needs_review, posting.revision) == ("posted", False, 1)
    assert (order.posting_status, order.changed_after_posting) == (PostingStatus.POSTED, False)


def test_schedule_trigger_queues_unposted_orders_once_per_interval(org_a, qbo, qbo_ledger):
    from datetime import timedelta

    from django.utils import timezone

    from accounting.models import PostingSettings
    from accounting.services.engine import posting_run_scheduled

    with org_scope(org_a.pk):
        orders = [make_order(org_a, lines=[("A", "Alpha", 1, "20.00", False)]) for _ in range(3)]
        make_order(org_a, lines=[("A", "Alpha", 1, "20.00", False)], status="awaiting_shipment")
    PostingSettings.all_orgs.filter(ledger_connection=qbo_ledger).update(
        trigger="schedule", schedule_interval_minutes=60
    )
    now = timezone.now()
    assert posting_run_scheduled(now=now) == 3
    assert posting_run_scheduled(now=now + timedelta(minutes=30)) == 0  # not due yet
    with org_scope(org_a.pk):
        assert set(Posting.objects.values_list("order_id", flat=True)) == {o.pk for o in orders}
        _drain(qbo_ledger)
    # Due again, but everything eligible is posted already.
    assert posting_run_scheduled(now=now + timedelta(minutes=61)) == 0
    assert len(qbo.documents("salesreceipt")) == 3


def test_buyers_with_the_same_name_post_to_their_own_customers(org_a, qbo, qbo_ledger, scope_a):
    from accounting.models import LedgerReference

    orders = [
        make_order(org_a, lines=[("A", "Alpha", 1, amount, False)], customer_email=email)
        for amount, email in (("10.00", "jane@a.com"), ("11.00", "jane@b.com"), ("12.00", ""))
    ]
    # Jane from a.com again at the end, after her customer is remembered.
    again = make_order(
        org_a, lines=[("A", "Alpha", 1, "13.00", False)], customer_email="jane@a.com"
    )
    for order in [*orders, again]:
        posting_enqueue_orders(organization=org_a, order_ids=[order.pk])
        _drain(qbo_ledger)

    customers = {c["DisplayName"]: c["Id"] for c in qbo.documents("customer")}
    customer_of = {
        order.pk: _receipts(qbo, Posting.objects.get(order=order).document_number)[0][
            "CustomerRef"
        ]["value"]
        for order in [*orders, again]
    }
    assert customer_of == {
        orders[0].pk: customers["Jane Doe"],
        orders[1].pk: customers["Jane Doe (jane@b.com)"],
        orders[2].pk: customers["Jane Doe"],  # no email: the customer of that name
        again.pk: customers["Jane Doe"],
    }
    refs = LedgerReference.objects.filter(key__startswith="customer:")
    refs = dict(refs.values_list("key", "external_id"))
    assert refs == {
        "customer:email:jane@a.com": customers["Jane Doe"],
        "customer:email:jane@b.com": customers["Jane Doe (jane@b.com)"],
        "customer:name:jane doe": customers["Jane Doe"],
    }


def _change_total(order, quantity: str, total: str) -> None:
    """The import saw the order change in ShipStation and flagged it."""
    from sales.models import OrderLine

    OrderLine.objects.filter(order=order).update(quantity=Decimal(quantity))
    order.lines_subtotal = order.amount_paid = order.order_total = Decimal(total)
    order.changed_after_posting = True
    order.posting_status = PostingStatus.CHANGED
    order.save()


def _repost_changed(org, ledger, posting) -> None:
    from accounting.services.engine import posting_flag_changes, posting_update_changed

    assert posting_flag_changes(organization=org, ledger=ledger) == 1
    assert posting_update_changed(organization=org, posting_ids=[posting.pk]).total == 1
    _drain(ledger)
    posting.refresh_from_db()


def _invoice_and_payments(qbo, posting):
    invoice = qbo.document("invoice", posting.external_id)
    payments = [
        p
        for p in qbo.documents("payment")
        if any(
            link.get("TxnId") == invoice["Id"]
            for line in p.get("Line", [])
            for link in line.get("LinkedTxn", [])
        )
    ]
    return invoice, payments


@pytest.mark.parametrize(
    ("quantity", "new_total"), [("3", "60.00"), ("1", "20.00")], ids=["larger", "smaller"]
)
def test_changed_invoice_reposts_with_its_payment_matching_the_new_total(
    org_a, qbo, qbo_settings, scope_a, quantity, new_total
):
    from tests.accounting.conftest import connect_ledger

    ledger = connect_ledger(org_a, qbo, document_type="invoice_payment")
    order = make_order(org_a, lines=[("A", "Alpha", 2, "20.00", False)])
    posting_enqueue_orders(organization=org_a, order_ids=[order.pk])
    _drain(ledger)
    posting = Posting.objects.get(order=order)
    invoice, (payment,) = _invoice_and_payments(qbo, posting)
    assert posting.secondary_external_id == payment["Id"]
    assert Decimal(str(invoice["Balance"])) == Decimal("0.00")

    _change_total(order, quantity, new_total)
    _repost_changed(org_a, ledger, posting)

    invoice, payments = _invoice_and_payments(qbo, posting)
    (after,) = payments
    assert len(qbo.documents("payment")) == 1
    assert (posting.status, posting.revision) == ("posted", 1)
    assert after["Id"] == payment["Id"] == posting.secondary_external_id
    assert Decimal(str(invoice["TotalAmt"])) == Decimal(new_total)
    assert Decimal(str(after["TotalAmt"])) == Decimal(new_total)
    assert [Decimal(str(line["Amount"])) for line in after["Line"]] == [Decimal(new_total)]
    assert Decimal(str(invoice["Balance"])) == Decimal("0.00")
    assert Decimal(str(after["UnappliedAmt"])) == Decimal("0.00")
    assert posting.answer["TotalMatches"] is True and posting.answer["PaymentId"] == after["Id"]


def test_changed_invoice_whose_payment_was_deleted_gets_a_new_one(
    org_a, qbo, qbo_settings, scope_a
):
    from tests.accounting.conftest import connect_ledger

    ledger = connect_ledger(org_a, qbo, document_type="invoice_payment")
    order = make_order(org_a, lines=[("A", "Alpha", 2, "20.00", False)])
    posting_enqueue_orders(organization=org_a, order_ids=[order.pk])
    _drain(ledger)
    posting = Posting.objects.get(order=order)
    _invoice, (payment,) = _invoice_and_payments(qbo, posting)
    # Someone deleted the payment in QuickBooks.
    qbo.company().delete("Payment", {"Id": payment["Id"], "SyncToken": payment["SyncToken"]})

    _change_total(order, "3", "60.00")
    _repost_changed(org_a, ledger, posting)

    invoice, (new_payment,) = _invoice_and_payments(qbo, posting)
    assert new_payment["Id"] != payment["Id"] and new_payment["Id"] == posting.secondary_external_id
    assert (
        Decimal(str(invoice["TotalAmt"]))
        == Decimal(str(new_payment["TotalAmt"]))
        == Decimal("60.00")
    )
    assert Decimal(str(invoice["Balance"])) == Decimal("0.00")
