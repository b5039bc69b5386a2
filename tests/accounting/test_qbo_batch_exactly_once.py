"""QuickBooks Online batch posting with real Celery workers and the stand-in over HTTP:
1,000 sales with three refused ones, a worker killed at every point of the batch path, 20%
injected faults (500s, timeouts, 429s, throttling 403s), and two workers posting for two
organizations inside Intuit's limits. The stand-in ends with exactly one document per sale."""

from __future__ import annotations

import time
from collections import Counter, defaultdict

import pytest

from accounting.ledgers.qbo import limits as lane_limits
from accounting.ledgers.qbo.client import limit_key, qbo_rate_limiter
from accounting.models import LedgerReference, LedgerRequestBatch, Posting
from accounting.services import posting_enqueue_orders
from accounting.services.engine import posting_retry_failed, posting_sweep
from sandbox.qbo import ITEM_IDS
from tests.accounting.conftest import connect_ledger, qbo_env
from tests.accounting.factories import make_order
from tests.worker_process import unique_queue
from unify.tenancy.scoping import org_scope

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

BAD_SKU = "BAD-SKU"


def _wait(predicate, timeout: float = 180.0, every: float = 0.5):
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


def _receipts_by_number(qbo, realm=None) -> Counter:
    return Counter(r.get("DocNumber") for r in qbo.documents("salesreceipt", realm))


def _orders(org, n: int, bad=frozenset()):
    return [
        make_order(
            org,
            lines=[
                (BAD_SKU if i in bad else f"SKU-{i % 3}", f"Product {i % 3}", 1, "12.50", False)
            ],
            shipping="3.00",
            customer_name=f"Buyer {i % 4}",
        )
        for i in range(n)
    ]


def _bad_item_mapping(ledger) -> None:
    """The merchant's mapping sends BAD-SKU to an item QuickBooks does not have."""
    LedgerReference.all_orgs.create(
        organization=ledger.organization,
        ledger_connection=ledger,
        key=f"item:sku:{BAD_SKU.casefold()}",
        external_id="99999",
    )


def _enqueue(org, orders) -> None:
    with org_scope(org.pk):
        posting_enqueue_orders(organization=org, order_ids=[o.pk for o in orders])


def _sweep(org) -> None:
    with org_scope(org.pk):
        posting_sweep()


def _one_per_posting(qbo, org, realm=None) -> None:
    with org_scope(org.pk):
        numbers = list(Posting.objects.values_list("document_number", "external_id", "status"))
    receipts = {r["DocNumber"]: r for r in qbo.documents("salesreceipt", realm)}
    assert _receipts_by_number(qbo, realm) == Counter(n for n, _e, s in numbers if s == "posted")
    for number, external_id, status in numbers:
        if status == "posted":
            assert receipts[number]["Id"] == external_id


@pytest.fixture
def env(qbo, qbo_settings, settings):
    queue = unique_queue("qbo-batch")
    settings.ACCOUNTING_TASK_QUEUE = queue
    settings.QBO_BATCH_SIZE = 30
    qbo_rate_limiter().reset(limit_key(qbo.realm_id))
    lane_limits.reset(qbo.realm_id)
    # Only our own idempotency may keep documents single.
    qbo.set_duplicate_doc_number_check(False)
    qbo.set_per_second_limit(10)
    values = {
        **qbo_env(qbo),
        "ACCOUNTING_TASK_QUEUE": queue,
        "QBO_BATCH_SIZE": "30",
        "ACCOUNTING_POSTING_BACKOFF_SECONDS": "0.2",
        "ACCOUNTING_POSTING_BACKOFF_MAX_SECONDS": "1",
        "ACCOUNTING_POSTING_PARALLELISM": "2",
        "QBO_THROTTLE_WAIT_SECONDS": "1",
    }
    return queue, values


def test_thousand_sales_three_refused_then_fixed(org_a, qbo, env, celery_worker_process):
    queue, values = env
    ledger = connect_ledger(org_a, qbo)
    _bad_item_mapping(ledger)
    bad = {17, 444, 901}
    orders = _orders(org_a, 1000, bad=bad)
    worker = celery_worker_process([queue], env=values, pool="threads", concurrency=2)
    _enqueue(org_a, orders)
    assert _wait(lambda: _statuses(org_a) == Counter({"posted": 997, "failed": 3}), timeout=300), (
        _statuses(org_a),
        worker.output()[-3000:],
    )
    with org_scope(org_a.pk):
        failed = list(Posting.objects.filter(status="failed"))
    assert {p.order_id for p in failed} == {orders[i].pk for i in bad}
    for posting in failed:
        assert "QuickBooks refused" in posting.error
        assert "Invalid Reference Id" in posting.error
    _one_per_posting(qbo, org_a)
    log = qbo.requests_log(qbo.realm_id)
    assert not [r for r in log if r.method == "POST" and r.path.endswith("/salesreceipt")]
    batches_before = sum(1 for r in log if r.path.endswith("/batch"))
    assert batches_before <= 1000 // 30 + 6  # 34 full ones, a few partial at drain ends
    assert not qbo.events("batch_throttled") and not qbo.events("second_throttled")

    # The merchant fixes the mapping and retries: only those three go.
    LedgerReference.all_orgs.filter(key=f"item:sku:{BAD_SKU.casefold()}").update(
        external_id=ITEM_IDS["Sales"]
    )
    qbo.clear_requests_log()
    with org_scope(org_a.pk):
        posting_retry_failed(organization=org_a)
    assert _wait(lambda: _statuses(org_a) == Counter({"posted": 1000}), timeout=120), (
        _statuses(org_a),
        worker.output()[-3000:],
    )
    _one_per_posting(qbo, org_a)
    assert qbo.count("SalesReceipt") == 1000
    sent = [r for r in qbo.requests_log(qbo.realm_id) if r.path.endswith("/batch")]
    assert 1 <= len(sent) <= 2


# Killed: after the batch is recorded (nothing sent), after QuickBooks answered it (batch not
# marked answered), after the answer is handed to the engine, in the writer before recording.
@pytest.mark.parametrize(
    "point", ["batch_recorded", "batch_answered", "after_ledger_answer", "writer_before_record"]
)
def test_worker_killed_anywhere_on_the_batch_path_posts_once(
    org_a, qbo, env, celery_worker_process, point
):
    queue, values = env
    ledger = connect_ledger(org_a, qbo)
    orders = _orders(org_a, 45)
    first = celery_worker_process(
        [queue],
        env={**values, "ACCOUNTING_FAULT_POINTS": point, "ACCOUNTING_POSTING_LEASE_SECONDS": "3"},
    )
    _enqueue(org_a, orders)
    assert _wait(lambda: not first.is_alive(), timeout=90), first.output()[-3000:]
    assert LedgerRequestBatch.all_orgs.filter(ledger_connection=ledger).exists()
    second = celery_worker_process([queue], env=values)
    time.sleep(3.2)  # the dead worker's leases run out

    def settled():
        _sweep(org_a)
        return _statuses(org_a) == Counter({"posted": 45})

    assert _wait(settled, timeout=120, every=1.0), (_statuses(org_a), second.output()[-3000:])
    _one_per_posting(qbo, org_a)
    assert qbo.count("SalesReceipt") == 45


def test_twenty_percent_faults_same_end_state(org_a, qbo, env, celery_worker_process):
    queue, values = env
    connect_ledger(org_a, qbo)
    orders = _orders(org_a, 150)
    path = "/v3/company"
    qbo.inject_faults("server_error", probability=0.05, seed=7, path_prefix=path)
    qbo.inject_throttles(429, probability=0.05, seed=8, path_prefix=path)
    qbo.inject_throttles(403, probability=0.05, seed=9, path_prefix=path)
    # Timeouts: the write happens, the answer comes after the client gave up.
    qbo.inject_after_commit_faults("slow", probability=0.05, seed=10, delay_seconds=2.5)
    values = {
        **values,
        "ACCOUNTING_POSTING_MAX_ATTEMPTS": "40",
        "QBO_TIMEOUT_READ": "1.5",
        "ACCOUNTING_POSTING_LEASE_SECONDS": "20",
    }
    worker = celery_worker_process([queue], env=values, pool="threads", concurrency=2)
    _enqueue(org_a, orders)

    def settled():
        _sweep(org_a)
        return _statuses(org_a) == Counter({"posted": 150})

    assert _wait(settled, timeout=300, every=1.0), (_statuses(org_a), worker.output()[-3000:])
    _one_per_posting(qbo, org_a)
    assert qbo.count("SalesReceipt") == 150
    faults = Counter(r.status for r in qbo.requests_log(qbo.realm_id))
    assert faults[429] and faults[403] and faults[500]


def _max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


# Intuit's minute scaled to 6 s on both sides (client settings and stand-in windows) with the
# batch budget cut to 4 per window, so two workers posting for two companies press on it.
@pytest.mark.qbo_limits(
    per_minute=500, window_seconds=6, batch_per_minute=4, batch_window_seconds=6
)
def test_two_workers_two_organizations_stay_within_the_limits(
    org_a, org_b, qbo, env, celery_worker_process
):
    queue, values = env
    realm_b = qbo.create_company("Second Company")
    ledger_a = connect_ledger(org_a, qbo)
    tokens = qbo.issue_tokens(realm_b)
    ledger_b = connect_ledger(org_b, qbo)
    ledger_b.company_id = realm_b
    ledger_b.tokens = {
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
    }
    ledger_b.save(update_fields=["company_id", "tokens"])
    for realm in (qbo.realm_id, realm_b):
        qbo_rate_limiter().reset(limit_key(realm))
        lane_limits.reset(realm)
    qbo.set_duplicate_doc_number_check(False, realm_b)
    values = {
        **values,
        "QBO_RATE_LIMIT_WINDOW_SECONDS": "6",
        "QBO_BATCH_PER_MINUTE": "4",
        "QBO_BATCH_SIZE": "10",
    }
    orders = {org_a: _orders(org_a, 120), org_b: _orders(org_b, 120)}
    workers = [
        celery_worker_process([queue], env=values, pool="threads", concurrency=2) for _ in range(2)
    ]
    for org, its in orders.items():
        _enqueue(org, its)

    def settled():
        return all(_statuses(org) == Counter({"posted": 120}) for org in orders)

    assert _wait(settled, timeout=300, every=1.0), [w.output()[-2000:] for w in workers]
    _one_per_posting(qbo, org_a)
    _one_per_posting(qbo, org_b, realm_b)
    assert ledger_a.company_id != ledger_b.company_id
    for realm in (qbo.realm_id, realm_b):
        log = [r for r in qbo.requests_log(realm) if r.path.startswith("/v3/")]
        batch = [r.monotonic for r in log if r.path.endswith("/batch") and r.status == 200]
        statuses = Counter((r.path.rsplit("/", 1)[-1], r.status) for r in log)
        # Batches carried documents; while their budget was spent, single requests did.
        assert batch
        assert _max_in_window(batch, 6.0) <= 4, statuses
        assert _max_in_window([r.monotonic for r in log], 6.0) <= 500
        assert _max_in_window([r.monotonic for r in log], 1.0) <= 10, statuses
        assert all(r.status != 429 for r in log), statuses
    by_realm = defaultdict(int)
    for event in qbo.events("batch_throttled"):
        by_realm[event["realm_id"]] += 1
    assert not by_realm
