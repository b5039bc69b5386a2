"""Issue 17, item 1: an order posted and then cancelled in ShipStation (or put back in the
queue because its only label was voided, when only shipped orders post) does not stay in
QuickBooks as a sale. It is listed "changed after posting" with the reason; "Update selected
in the ledger" deletes the sales receipt (or the invoice after its payment) exactly once; the
order posts afresh if it becomes eligible again, and a skipped posting reopens.

ShipStation and QuickBooks Online stand-ins over HTTP, PostgreSQL; the last test runs the
import and the removal in a real Celery worker."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from accounting.models import Posting, PostingKind, PostingState
from accounting.services import posting_after_import, posting_enqueue_orders
from accounting.services.engine import posting_drain, posting_update_changed
from sales.models import Order, PostingStatus, SyncKind, SyncStatus
from sales.services import sync_request
from tests.accounting.conftest import connect_ledger, qbo_env
from tests.sales.support import SS_KEY, make_connection, run_sync
from tests.worker_process import unique_queue
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

MUG = {"sku": "MUG-1", "name": "Mug", "quantity": 2, "unitPrice": "12.50"}


def _sync_and_post(org, connection, ledger):
    run = run_sync(org, connection)
    assert run.status == SyncStatus.SUCCEEDED
    with org_scope(org.pk):
        posting_after_import(org.pk, connection.pk, run.pk)
        posting_drain(ledger_connection_id=ledger.pk)


def _sale(org, external_id) -> tuple[Order, Posting | None]:
    with org_scope(org.pk):
        order = Order.objects.get(external_id=str(external_id))
        posting = Posting.objects.filter(order=order, kind=PostingKind.SALE).first()
    return order, posting


def _update_flagged(org, ledger) -> int:
    with org_scope(org.pk):
        flagged = list(
            Posting.objects.filter(needs_review=True, kind=PostingKind.SALE).values_list(
                "pk", flat=True
            )
        )
        batch = posting_update_changed(organization=org, posting_ids=flagged)
        posting_drain(ledger_connection_id=ledger.pk)
    return batch.total if batch else 0


def _deletes(qbo, entity: str) -> int:
    """Successful deletions of ``entity`` QuickBooks received."""
    return sum(
        1
        for r in qbo.requests_log(qbo.realm_id)
        if r.method == "POST"
        and r.path.lower().endswith(f"/{entity.lower()}")
        and "operation=delete" in r.query
        and r.status == 200
    )


@pytest.mark.parametrize("mode", ["sales_receipt", "invoice_payment"])
def test_an_order_cancelled_after_posting_leaves_the_ledger_once(
    ss_account, org_a, qbo, qbo_settings, mode
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
    entity = "salesreceipt" if mode == "sales_receipt" else "invoice"
    [sale] = qbo.documents(entity)
    assert Decimal(str(sale["TotalAmt"])) == Decimal("30.00")
    if mode == "invoice_payment":
        [payment] = qbo.documents("payment")
        assert Decimal(str(payment["TotalAmt"])) == Decimal("30.00")

    ss_account.edit_order(SS_KEY, order_json["orderId"], orderStatus="cancelled")
    _sync_and_post(org_a, connection, ledger)
    order, posting = _sale(org_a, order_json["orderId"])
    # Listed with the reason; nothing removed before the merchant asks.
    assert posting.status == PostingState.POSTED and posting.needs_review
    assert "cancelled in ShipStation after it was posted" in posting.error
    assert order.posting_status == PostingStatus.CHANGED
    assert len(qbo.documents(entity)) == 1

    assert _update_flagged(org_a, ledger) == 1
    order, posting = _sale(org_a, order_json["orderId"])
    assert posting.status == PostingState.REMOVED, posting.error
    assert "withdrawn" in posting.error
    assert (order.posting_status, order.changed_after_posting) == (PostingStatus.NOT_POSTED, False)
    assert qbo.documents(entity) == []
    assert qbo.documents("payment") == []
    assert _deletes(qbo, "SalesReceipt" if mode == "sales_receipt" else "Invoice") == 1
    if mode == "invoice_payment":
        assert _deletes(qbo, "Payment") == 1
        assert posting.answer.get("PaymentsDeleted") == [payment["Id"]]

    # Exactly once: another import, another "Update" and drain change nothing.
    _sync_and_post(org_a, connection, ledger)
    assert _update_flagged(org_a, ledger) == 0
    assert _deletes(qbo, "SalesReceipt") + _deletes(qbo, "Invoice") == 1
    with org_scope(org_a.pk):
        assert Posting.objects.filter(kind=PostingKind.SALE).count() == 1


def test_a_voided_only_label_withdraws_a_shipped_sale_and_a_new_label_posts_it_again(
    ss_account, org_a, qbo, qbo_settings
):
    order_json = ss_account.add_order(SS_KEY, status="awaiting_shipment", items=[MUG])
    label = ss_account.add_label(SS_KEY, order_json["orderId"], shipment_cost="6.10")
    connection = make_connection(org_a)
    ledger = connect_ledger(
        org_a, qbo, trigger="after_import", label_cost_mode="off", eligible_statuses=["shipped"]
    )
    _sync_and_post(org_a, connection, ledger)
    [receipt] = qbo.documents("salesreceipt")

    ss_account.void_label(SS_KEY, label["shipmentId"])
    _sync_and_post(org_a, connection, ledger)
    order, posting = _sale(org_a, order_json["orderId"])
    assert order.status == "awaiting_shipment"
    assert posting.needs_review and "“awaiting_shipment”" in posting.error
    assert _update_flagged(org_a, ledger) == 1
    assert qbo.documents("salesreceipt") == []

    # Shipped again with a new label: the sale goes back into the books, once.
    ss_account.add_label(SS_KEY, order_json["orderId"], shipment_cost="6.10")
    _sync_and_post(org_a, connection, ledger)
    order, posting = _sale(org_a, order_json["orderId"])
    assert posting.status == PostingState.POSTED, posting.error
    [again] = qbo.documents("salesreceipt")
    assert again["Id"] != receipt["Id"] and again["Id"] == posting.external_id
    assert Decimal(str(again["TotalAmt"])) == order.amount_paid == Decimal(str(receipt["TotalAmt"]))
    assert order.posting_status == PostingStatus.POSTED
    _sync_and_post(org_a, connection, ledger)
    assert len(qbo.documents("salesreceipt")) == 1


def test_a_skipped_posting_reopens_when_the_order_is_eligible_again(
    ss_account, org_a, qbo, qbo_settings
):
    order_json = ss_account.add_order(SS_KEY, status="awaiting_shipment", items=[MUG])
    ss_account.add_label(SS_KEY, order_json["orderId"], shipment_cost="6.10")
    connection = make_connection(org_a)
    ledger = connect_ledger(org_a, qbo, label_cost_mode="off")
    assert run_sync(org_a, connection).status == SyncStatus.SUCCEEDED
    order, _none = _sale(org_a, order_json["orderId"])
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[order.pk])
    # Cancelled between the click and the drain: skipped, with the reason.
    Order.all_orgs.filter(pk=order.pk).update(status="cancelled")
    with org_scope(org_a.pk):
        posting_drain(ledger_connection_id=ledger.pk)
    _order, posting = _sale(org_a, order_json["orderId"])
    assert posting.status == PostingState.SKIPPED and "cancelled" in posting.error

    Order.all_orgs.filter(pk=order.pk).update(status="shipped")
    with org_scope(org_a.pk):
        batch = posting_enqueue_orders(organization=org_a, order_ids=[order.pk])
        posting_drain(ledger_connection_id=ledger.pk)
    assert batch.total == 1
    _order, posting = _sale(org_a, order_json["orderId"])
    assert posting.status == PostingState.POSTED, posting.error
    assert len(qbo.documents("salesreceipt")) == 1


def _wait(predicate, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return bool(predicate())


def _worker_sync(org, connection, until) -> None:
    with org_scope(org.pk):
        sync_request(organization=org, connection=connection, kind=SyncKind.MANUAL)
    assert _wait(until)


def _flagged(org) -> list[Posting]:
    with org_scope(org.pk):
        return list(Posting.objects.filter(kind=PostingKind.SALE, needs_review=True))


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_cancel_and_removal_in_a_worker(
    ss_account, org_a, qbo, qbo_settings, celery_worker_process
):
    queue = unique_queue("withdrawn")
    qbo_settings.SALES_TASK_QUEUE = queue
    qbo_settings.ACCOUNTING_TASK_QUEUE = queue
    order_json = ss_account.add_order(SS_KEY, status="awaiting_shipment", items=[MUG])
    ss_account.add_label(SS_KEY, order_json["orderId"], shipment_cost="6.10")
    connection = make_connection(org_a)
    connect_ledger(
        org_a, qbo, trigger="after_import", label_cost_mode="off", document_type="invoice_payment"
    )
    worker = celery_worker_process(
        [queue],
        env={
            **qbo_env(qbo),
            "ACCOUNTING_TASK_QUEUE": queue,
            "SALES_TASK_QUEUE": queue,
            "DJANGO_SETTINGS_MODULE": "tests.accounting.worker_settings",
            "SHIPSTATION_API_BASE_URL": ss_account.base_url,
            "SHIPSTATION_RATE_LIMIT_PER_MINUTE": "100000",
        },
    )
    _worker_sync(org_a, connection, lambda: len(qbo.documents("payment")) == 1)
    assert len(qbo.documents("invoice")) == 1, worker.output()[-3000:]
    ss_account.edit_order(SS_KEY, order_json["orderId"], orderStatus="cancelled")
    _worker_sync(org_a, connection, lambda: bool(_flagged(org_a)))
    [posting] = _flagged(org_a)
    with org_scope(org_a.pk):
        posting_update_changed(organization=org_a, posting_ids=[posting.pk])

    def removed() -> bool:
        posting.refresh_from_db()
        return posting.status == PostingState.REMOVED

    assert _wait(removed), (posting.status, posting.error, worker.output()[-3000:])
    assert qbo.documents("invoice") == [] and qbo.documents("payment") == []
    assert _deletes(qbo, "Invoice") == 1 and _deletes(qbo, "Payment") == 1
