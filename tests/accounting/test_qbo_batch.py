"""QuickBooks Online batch posting in one process (the drain called directly): documents go
30 per ``/batch`` request, customers and items are resolved first, one refused document
fails alone with QuickBooks' words, a batch whose answer was lost is sent again identically."""

from __future__ import annotations

from collections import Counter

import pytest

from accounting.ledgers.qbo import limits as lane_limits
from accounting.models import LedgerReference, LedgerRequestBatch, Posting, PostingState
from accounting.services import posting_enqueue_orders
from accounting.services.engine import posting_drain, posting_retry_failed
from sandbox.qbo import ITEM_IDS
from tests.accounting.conftest import connect_ledger
from tests.accounting.factories import make_order
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def batching(qbo_settings, qbo):
    qbo_settings.QBO_BATCH_SIZE = 30
    lane_limits.reset(qbo.realm_id)
    return qbo_settings


def _orders(org, n: int, bad: set[int] = frozenset(), skus: int = 3):
    return [
        make_order(
            org,
            lines=[
                (
                    "BAD-SKU" if i in bad else f"SKU-{i % skus}",
                    f"Product {i % skus}",
                    1,
                    "12.50",
                    False,
                )
            ],
            shipping="3.00",
            customer_name=f"Buyer {i % 4}",
        )
        for i in range(n)
    ]


def _creates(qbo) -> Counter:
    return Counter(
        r.path.rsplit("/", 1)[-1] for r in qbo.requests_log(qbo.realm_id) if r.method == "POST"
    )


def _drain(org, ledger) -> None:
    with org_scope(org.pk):
        posting_drain(ledger_connection_id=ledger.pk)


def _statuses(org) -> Counter:
    with org_scope(org.pk):
        return Counter(Posting.objects.values_list("status", flat=True))


def test_sales_go_thirty_per_request_after_their_customers_and_items(org_a, qbo, batching):
    ledger = connect_ledger(org_a, qbo)
    orders = _orders(org_a, 65, skus=20)
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in orders])
    _drain(org_a, ledger)
    assert _statuses(org_a) == Counter({"posted": 65})
    creates = _creates(qbo)
    assert creates["salesreceipt"] == 0
    # The buyer and the twenty items looked up together and created together in one batch
    # of their own, then the sales: 30 + 30 + 5.
    assert creates["customer"] == 0
    assert creates["batch"] == 4
    receipts = {r["DocNumber"]: r for r in qbo.documents("salesreceipt")}
    assert len(receipts) == 65
    with org_scope(org_a.pk):
        for posting in Posting.objects.all():
            assert receipts[posting.document_number]["Id"] == posting.external_id
    # Every batch was recorded before it left and is answered now.
    batches = LedgerRequestBatch.all_orgs.filter(ledger_connection=ledger)
    assert batches.count() == 3
    assert not batches.filter(answered_at__isnull=True).exists()
    replayed = [r for r in qbo.requests_log(qbo.realm_id) if r.path.endswith("/batch")]
    request_ids = [r.query.split("requestid=")[1].split("&")[0] for r in replayed]
    # The buyers' batch has a request id of its own content (sent again, it is replayed).
    assert request_ids[0].startswith("unify-refs-")
    assert set(request_ids[1:]) == {b.request_id for b in batches}


def test_one_refused_member_fails_alone_and_a_retry_after_the_fix_posts_it(org_a, qbo, batching):
    ledger = connect_ledger(org_a, qbo)
    LedgerReference.all_orgs.create(
        organization=org_a, ledger_connection=ledger, key="item:sku:bad-sku", external_id="9999"
    )
    orders = _orders(org_a, 40, bad={7})
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in orders])
    _drain(org_a, ledger)
    assert _statuses(org_a) == Counter({"posted": 39, "failed": 1})
    with org_scope(org_a.pk):
        failed = Posting.objects.get(status=PostingState.FAILED)
    assert failed.order_id == orders[7].pk
    assert "Invalid Reference Id" in failed.error
    assert qbo.count("SalesReceipt") == 39
    LedgerReference.all_orgs.filter(key="item:sku:bad-sku").update(external_id=ITEM_IDS["Sales"])
    with org_scope(org_a.pk):
        posting_retry_failed(organization=org_a)
    _drain(org_a, ledger)
    assert _statuses(org_a) == Counter({"posted": 40})
    assert qbo.count("SalesReceipt") == 40


def test_a_lost_batch_answer_is_replayed_not_posted_again(org_a, qbo, batching):
    ledger = connect_ledger(org_a, qbo)
    orders = _orders(org_a, 10)
    qbo.set_duplicate_doc_number_check(False)
    # The first batch creates the buyers (its answer lost too: each is then found by its
    # name); the next three are the sales' batch.
    qbo.inject_after_commit_faults(
        "bad_gateway", count=4, path_prefix=f"/v3/company/{qbo.realm_id}/batch"
    )
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in orders])
    _drain(org_a, ledger)
    # Three lost answers, the second and third sends replayed by QuickBooks (same
    # requestid): the postings wait, the batch is still open.
    assert qbo.count("SalesReceipt") == 10
    assert len(qbo.events("requestid_replayed")) == 2
    (batch,) = LedgerRequestBatch.all_orgs.filter(ledger_connection=ledger)
    assert batch.answered_at is None
    with org_scope(org_a.pk):
        Posting.objects.update(next_attempt_at=None)
    _drain(org_a, ledger)
    assert _statuses(org_a) == Counter({"posted": 10})
    assert qbo.count("SalesReceipt") == 10


def test_a_few_missing_names_are_created_one_per_request_while_the_batch_lane_is_busy(
    org_a, qbo, batching
):
    """A batch request is one of the 40 a minute, each worth 30 documents. With the lane's
    only grant held for the sales, the customer and the three items ten sales need are
    looked up together, then created one request each (with the request id the document's
    own path would use), all before the sales' batch."""
    batching.QBO_BATCH_PER_MINUTE = 1
    batching.QBO_RATE_LIMIT_WINDOW_SECONDS = 600.0
    lane_limits.reset(qbo.realm_id)
    ledger = connect_ledger(org_a, qbo)
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in _orders(org_a, 10)])
    _drain(org_a, ledger)
    assert _statuses(org_a) == Counter({"posted": 10})
    log = [r for r in qbo.requests_log(qbo.realm_id) if r.method == "POST"]
    kinds = [r.path.rsplit("/", 1)[-1] for r in log]
    assert kinds.count("batch") == 1
    assert kinds[-1] == "batch"  # the sales, after everything they need
    assert kinds.count("salesreceipt") == 0
    created = [r for r in log if r.path.rsplit("/", 1)[-1] in ("customer", "item")]
    assert created and all("requestid=unify-" in r.query for r in created)
    names = [i["Name"] for i in qbo.documents("item")]
    assert len(names) == len(set(names))  # none made twice


def test_a_drain_running_alongside_uses_the_customers_another_one_created(org_a, qbo, batching):
    """Drains of one connection run at once (several workers): one that started before
    another created the buyers finds them among the recorded references at its next round
    instead of creating each again (a duplicate name, then a query)."""
    import time

    from accounting.services.engine import _Context
    from accounting.services.engine import _drain as drain_with

    ledger = connect_ledger(org_a, qbo)
    with org_scope(org_a.pk):
        running = _Context(ledger)
        assert running.refs == {}  # it started when nothing was known yet
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in _orders(org_a, 8)])
        _drain(org_a, ledger)
        assert _creates(qbo)["batch"] >= 2  # the buyers (created together), then the sales
        qbo.clear_requests_log()
        later = _orders(org_a, 8)  # the same buyers
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in later])
        try:
            drain_with(running, time.monotonic(), 60.0, 0, None)
        finally:
            running.close()
    assert _statuses(org_a) == Counter({"posted": 16})
    log = qbo.requests_log(qbo.realm_id)
    assert not [r for r in log if r.path.endswith("/customer") or r.path.endswith("/query")]


def test_invoices_with_payments_go_on_the_single_path(org_a, qbo, batching):
    """An invoice and its payment cannot share a batch (the payment needs the invoice's id):
    they go on the single path; each invoice is created and paid once and both ids are
    recorded on its posting."""
    ledger = connect_ledger(org_a, qbo, document_type="invoice_payment")
    orders = _orders(org_a, 7)
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in orders])
    _drain(org_a, ledger)
    assert _statuses(org_a) == Counter({"posted": 7})
    creates = _creates(qbo)
    assert creates["invoice"] == 7 and creates["payment"] == 7
    assert qbo.count("Invoice") == 7 and qbo.count("Payment") == 7
    with org_scope(org_a.pk):
        assert all(p.external_id and p.secondary_external_id for p in Posting.objects.all())


def test_while_the_batch_lane_is_spent_sales_go_one_per_request_and_no_batch_is_cut_short(
    org_a, qbo, batching
):
    """The batch lane allows one request in this window: the drain claims a full batch
    while it holds a grant, then a few postings at a time for the single lane. The 40 sales
    go as one batch of 30 and 10 single requests, never as batches trickled down to a few."""
    batching.QBO_BATCH_PER_MINUTE = 1
    batching.QBO_RATE_LIMIT_WINDOW_SECONDS = 600.0
    lane_limits.reset(qbo.realm_id)
    ledger = connect_ledger(org_a, qbo)
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in _orders(org_a, 40)])
    _drain(org_a, ledger)
    assert _statuses(org_a) == Counter({"posted": 40})
    (batch,) = LedgerRequestBatch.all_orgs.filter(ledger_connection=ledger)
    assert LedgerRequestBatch.all_orgs.filter(pk=batch.pk, members__isnull=False).count() == 30
    assert _creates(qbo)["salesreceipt"] == 10
    assert _creates(qbo)["batch"] == 1
    assert qbo.count("SalesReceipt") == 40


def test_when_the_batch_lane_comes_back_the_next_batch_is_full(org_a, qbo, batching):
    """One batch request a second: between grants the drain sends single requests, and the
    grant that comes back carries a full batch, not the rest of a claim that went out one
    by one meanwhile. Every batch but the backlog's last has 30 members."""
    batching.QBO_BATCH_PER_MINUTE = 1
    batching.QBO_RATE_LIMIT_WINDOW_SECONDS = 1.0
    lane_limits.reset(qbo.realm_id)
    ledger = connect_ledger(org_a, qbo)
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in _orders(org_a, 150)])
    _drain(org_a, ledger)
    assert _statuses(org_a) == Counter({"posted": 150})
    sizes = [
        b.members.count()
        for b in LedgerRequestBatch.all_orgs.filter(ledger_connection=ledger).order_by("pk")
    ]
    assert sizes and all(size == 30 for size in sizes[:-1]), sizes
    assert sum(sizes) + _creates(qbo)["salesreceipt"] == 150
    assert qbo.count("SalesReceipt") == 150


def test_members_of_a_throttled_batch_claimed_apart_are_posted_once(org_a, qbo, batching):
    """A batch is throttled (429: nothing written) and stays open. Its members come back
    apart: a drain claiming three sends the identical batch, which creates all ten, and
    records its three. The other seven, claimed later, send it again and get Intuit's
    replay: never a new batch that would make them twice."""
    batching.QBO_THROTTLE_WAIT_SECONDS = 0.5
    ledger = connect_ledger(org_a, qbo)
    with org_scope(org_a.pk):  # the buyer and the items exist already
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in _orders(org_a, 3)])
    _drain(org_a, ledger)
    earlier = set(LedgerRequestBatch.all_orgs.values_list("pk", flat=True))
    orders = _orders(org_a, 10)
    qbo.set_duplicate_doc_number_check(False)  # only our own record may keep them single
    qbo.inject_throttles(429, count=1, path_prefix=f"/v3/company/{qbo.realm_id}/batch")
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in orders])
    _drain(org_a, ledger)
    assert qbo.count("SalesReceipt") == 3
    (batch,) = LedgerRequestBatch.all_orgs.exclude(pk__in=earlier)
    assert batch.answered_at is None
    with org_scope(org_a.pk):
        Posting.objects.update(next_attempt_at=None)
        assert posting_drain(ledger_connection_id=ledger.pk, max_postings=3) == 3
    assert _statuses(org_a) == Counter({"posted": 6, "pending": 7})
    assert qbo.count("SalesReceipt") == 13  # the identical batch, written this time
    batch.refresh_from_db()
    assert batch.answered_at is None  # seven members have not read their outcome yet
    _drain(org_a, ledger)
    assert _statuses(org_a) == Counter({"posted": 13})
    assert qbo.count("SalesReceipt") == 13
    numbers = Counter(r["DocNumber"] for r in qbo.documents("salesreceipt"))
    assert set(numbers.values()) == {1}
    replayed = [e for e in qbo.events("requestid_replayed") if e["request_id"] == batch.request_id]
    assert len(replayed) == 1
    (batch,) = LedgerRequestBatch.all_orgs.exclude(pk__in=earlier)
    assert batch.answered_at is not None
    with org_scope(org_a.pk):
        receipts = {r["DocNumber"]: r["Id"] for r in qbo.documents("salesreceipt")}
        for posting in Posting.objects.all():
            assert receipts[posting.document_number] == posting.external_id
