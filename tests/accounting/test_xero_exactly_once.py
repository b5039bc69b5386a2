"""Exactly once with Xero, with a real Celery worker subprocess and the Xero stand-in over
HTTP: the task delivered twice, the worker killed between Xero's answer to a batch and our
commit, a lease running out mid-call, and a 20% fault rate. In every case the stand-in ends
with exactly one invoice and one payment per order."""

from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal

import pytest

from accounting.models import Posting, PostingEvent, PostingState
from accounting.services import posting_enqueue_orders
from accounting.services.engine import posting_sweep
from accounting.tasks import posting_execute_task
from sandbox.xero import DEFAULT_TENANT_ID as T
from tests.accounting.factories import make_order
from tests.accounting.xero_support import connect_xero, xero_env
from tests.worker_process import unique_queue
from unify.tenancy.scoping import org_scope

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _wait(predicate, timeout: float = 90.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return predicate()


def _statuses(org) -> Counter:
    with org_scope(org.pk):
        return Counter(Posting.objects.values_list("status", flat=True))


def _invoices(xero) -> Counter:
    return Counter(i["InvoiceNumber"] for i in xero.documents("Invoices"))


def _payments(xero) -> Counter:
    return Counter(
        p["Invoice"]["InvoiceNumber"]
        for p in xero.documents("Payments")
        if p["Status"] != "DELETED"
    )


@pytest.fixture
def env(xero, xero_settings, settings):
    queue = unique_queue("xero")
    settings.ACCOUNTING_TASK_QUEUE = queue
    values = {
        **xero_env(xero),
        "ACCOUNTING_TASK_QUEUE": queue,
        "ACCOUNTING_POSTING_BACKOFF_SECONDS": "0.2",
        "ACCOUNTING_POSTING_BACKOFF_MAX_SECONDS": "1",
        "ACCOUNTING_POSTING_PARALLELISM": "2",
    }
    return queue, values


def _orders(org, n: int):
    return [
        make_order(
            org,
            lines=[(f"SKU-{i % 3}", f"Product {i % 3}", 1 + i % 2, "12.50", False)],
            shipping="3.00",
            tax="1.10",
            customer_name=f"Buyer {i % 4}",
            customer_email=f"buyer{i % 4}@example.com",
        )
        for i in range(n)
    ]


def _one_each(org, xero) -> None:
    with org_scope(org.pk):
        postings = list(Posting.objects.select_related("order"))
    numbers = Counter({p.document_number: 1 for p in postings})
    assert _invoices(xero) == numbers
    assert _payments(xero) == numbers
    invoices = {i["InvoiceNumber"]: i for i in xero.documents("Invoices")}
    for posting in postings:
        invoice = invoices[posting.document_number]
        assert posting.external_id == invoice["InvoiceID"]
        assert invoice["Total"] == posting.order.amount_paid and invoice["Status"] == "PAID"


def test_posting_task_delivered_twice_posts_once(org_a, xero, env, celery_worker_process):
    queue, values = env
    connect_xero(org_a, xero)
    (order,) = _orders(org_a, 1)
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[order.pk])
        posting = Posting.objects.get(order=order)
    xero.set_latency(0.5)  # both deliveries overlap
    worker = celery_worker_process([queue], env=values, pool="threads", concurrency=2)
    for _ in range(2):
        posting_execute_task.apply_async(
            kwargs={"organization_id": org_a.pk, "posting_id": posting.pk}, queue=queue
        )
    assert _wait(lambda: _statuses(org_a) == Counter({"posted": 1})), worker.output()[-3000:]
    time.sleep(1.5)
    posting.refresh_from_db()
    assert posting.attempts == 1
    _one_each(org_a, xero)
    puts = [r for r in xero.requests_log(T) if r.method == "PUT" and r.path.endswith("/Invoices")]
    assert len(puts) == 1


@pytest.mark.parametrize("point", ["after_ledger_answer", "writer_before_record"])
def test_worker_killed_after_xero_answered_a_batch_posts_once(
    org_a, xero, env, celery_worker_process, point
):
    queue, values = env
    connect_xero(org_a, xero)
    _orders(org_a, 12)
    first = celery_worker_process(
        [queue], env={**values, "ACCOUNTING_FAULT_POINTS": point,
                      "ACCOUNTING_POSTING_LEASE_SECONDS": "2"},
    )  # fmt: skip
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=_order_ids(org_a))
    # The worker sends the batch (12 invoices, 12 payments), hears Xero and dies unrecorded.
    assert _wait(lambda: not first.is_alive(), timeout=60), first.output()[-3000:]
    assert len(_invoices(xero)) == 12 and len(_payments(xero)) == 12
    with org_scope(org_a.pk):
        assert set(Posting.objects.values_list("status", flat=True)) == {PostingState.IN_FLIGHT}

    second = celery_worker_process([queue], env=values)
    time.sleep(2.2)  # the dead worker's lease runs out
    with org_scope(org_a.pk):
        posting_sweep()
    assert _wait(lambda: _statuses(org_a) == Counter({"posted": 12})), second.output()[-3000:]
    _one_each(org_a, xero)
    with org_scope(org_a.pk):
        messages = list(PostingEvent.objects.values_list("message", flat=True))
    assert sum("interrupted attempt" in m for m in messages) == 12
    puts = [r for r in xero.requests_log(T) if r.method == "PUT" and r.path.endswith("/Invoices")]
    assert len(puts) == 1


def _order_ids(org) -> list[int]:
    from sales.models import Order

    with org_scope(org.pk):
        return list(Order.objects.values_list("pk", flat=True))


def test_lease_running_out_mid_call_posts_once(org_a, xero, env, celery_worker_process):
    queue, values = env
    connect_xero(org_a, xero)
    _orders(org_a, 3)
    # Xero saves the invoices but its answer takes 5 s; the lease is 1.5 s.
    xero.inject_after_commit_faults(
        "slow", count=1, delay_seconds=5.0, path_prefix="/api.xro/2.0/Invoices"
    )
    values = {**values, "ACCOUNTING_POSTING_LEASE_SECONDS": "1.5"}
    worker = celery_worker_process([queue], env=values, pool="threads", concurrency=2)
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=_order_ids(org_a))
    assert _wait(lambda: len(_invoices(xero)) == 3, timeout=30)
    time.sleep(2.0)  # the first worker still waits for the slow answer; its lease ran out
    with org_scope(org_a.pk):
        posting_sweep()
    assert _wait(lambda: _statuses(org_a) == Counter({"posted": 3})), worker.output()[-3000:]
    time.sleep(4.5)  # the first worker hears the late answer: it must neither pay nor record
    assert _statuses(org_a) == Counter({"posted": 3})
    _one_each(org_a, xero)


def test_twenty_percent_faults_still_one_invoice_and_payment_per_order(
    org_a, xero, env, celery_worker_process
):
    queue, values = env
    connect_xero(org_a, xero)
    orders = _orders(org_a, 30)
    xero.inject_faults("server_error", probability=0.1, seed=7, path_prefix="/api.xro/2.0")
    xero.inject_faults("service_unavailable", probability=0.1, seed=8, path_prefix="/api.xro/2.0")
    xero.inject_after_commit_faults("truncated_json", probability=0.1, seed=9)
    xero.inject_after_commit_faults("server_error", probability=0.1, seed=10)
    values = {**values, "ACCOUNTING_POSTING_MAX_ATTEMPTS": "30", "XERO_BATCH_SIZE": "5"}
    worker = celery_worker_process([queue], env=values, pool="threads", concurrency=2)
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in orders])

    def settled():
        with org_scope(org_a.pk):
            posting_sweep()
        return _statuses(org_a) == Counter({"posted": 30})

    def failures():
        with org_scope(org_a.pk):
            return list(
                Posting.objects.exclude(status="posted").values_list(
                    "status", "attempts", "error", "error_detail"
                )
            )

    assert _wait(settled, timeout=240, every=1.0), (failures(), worker.output()[-2000:])
    _one_each(org_a, xero)
    assert len(xero.events("after_commit_fault")) > 0 and len(xero.events("idempotent_replay")) > 0
    totals = sum((i["Total"] for i in xero.documents("Invoices")), Decimal(0))
    assert totals == sum((o.amount_paid for o in orders), Decimal(0))


def test_update_and_void_delivered_twice_to_a_worker_change_xero_once(
    org_a, xero, env, celery_worker_process
):
    """An edited order's invoice update and a merged order's void, each task delivered twice
    to a real worker: the invoice is updated once, the other voided once, each payment
    deleted once."""
    from accounting.services.engine import (
        posting_drain,
        posting_flag_changes,
        posting_update_changed,
    )
    from sales.models import Order, OrderLine

    queue, values = env
    ledger = connect_xero(org_a, xero)
    edited, merged = _orders(org_a, 2)
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[edited.pk, merged.pk])
        posting_drain(ledger_connection_id=ledger.pk)
        OrderLine.objects.filter(order=edited).update(quantity=Decimal("3"))
        total = Decimal("12.50") * 3 + Decimal("3.00") + Decimal("1.10")
        Order.objects.filter(pk=edited.pk).update(
            lines_subtotal=Decimal("37.50"),
            amount_paid=total,
            order_total=total,
            changed_after_posting=True,
        )
        Order.objects.filter(pk=merged.pk).update(merged_into=edited)
        assert posting_flag_changes(organization=org_a, ledger=ledger) == 2
        ids = list(Posting.objects.values_list("pk", flat=True))
        posting_update_changed(organization=org_a, posting_ids=ids)
    xero.set_latency(0.5)  # both deliveries overlap
    worker = celery_worker_process([queue], env=values, pool="threads", concurrency=2)
    for posting_id in ids:
        for _ in range(2):
            posting_execute_task.apply_async(
                kwargs={"organization_id": org_a.pk, "posting_id": posting_id}, queue=queue
            )
    assert _wait(lambda: _statuses(org_a) == Counter({"posted": 1, "removed": 1})), worker.output()[
        -3000:
    ]
    time.sleep(1.5)
    invoices = {i["InvoiceNumber"]: i for i in xero.documents("Invoices")}
    with org_scope(org_a.pk):
        kept = Posting.objects.get(order=edited)
        gone = Posting.objects.get(order=merged)
    assert (invoices[kept.document_number]["Status"], invoices[kept.document_number]["Total"]) == (
        "PAID",
        total,
    )
    assert invoices[gone.document_number]["Status"] == "VOIDED"
    assert _payments(xero) == Counter({kept.document_number: 1})
    posts = Counter(r.path.split("/")[-2] for r in xero.requests_log(T) if r.method == "POST")
    assert posts == Counter({"Invoices": 2, "Payments": 2})  # one update, one void, 2 deletes
