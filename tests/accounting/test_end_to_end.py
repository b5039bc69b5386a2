"""End to end: orders imported from the ShipStation stand-in are posted to the QBO stand-in.

The first test runs everything in a real Celery worker: the import (sales' sync task), its
completion hook, ``posting_after_import`` and the posting drains. The second posts daily
summaries (in-process)."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.models import Posting, PostingKind, PostingSettings, PostingState
from accounting.services import posting_after_import
from accounting.services.documents import summary_store_key
from accounting.services.engine import posting_drain
from accounting.services.summaries import day_closes_at
from sales.models import FulfillmentFee, Order, ShippingCost, SyncKind, SyncRun, SyncStatus
from sales.services import sync_request, sync_run_execute
from tests.accounting.conftest import closed_day_summaries, connect_ledger, qbo_env
from tests.accounting.conftest import wait_until as _wait
from tests.accounting.differences_support import mismatch_reasons, reconciliation_expected
from tests.sales.support import SS_KEY, SS_SECRET, make_connection
from tests.worker_process import unique_queue
from unify.tenancy.scoping import org_scope

ZERO = Decimal("0.00")


@pytest.fixture
def ss(shipstation, settings):
    settings.SHIPSTATION_API_BASE_URL = shipstation.base_url
    settings.SHIPSTATION_RATE_LIMIT_PER_MINUTE = 100_000
    shipstation.disable_rate_limit()
    from connections.sources.shipstation.client import api_key_fingerprint
    from connections.sources.shipstation.limits import shipstation_rate_limiter

    shipstation_rate_limiter().reset(f"shipstation:{api_key_fingerprint(SS_KEY)}")
    return shipstation


def _open_work(org) -> bool:
    with org_scope(org.pk):
        runs_open = SyncRun.objects.filter(status__in=["queued", "running"]).exists()
        postings_open = Posting.objects.filter(status__in=["pending", "in_flight"]).exists()
    return runs_open or postings_open


def _check_sales_and_labels(
    org, qbo, *, ignored: set[int], reasons: dict[str, str]
) -> tuple[int, int]:
    """Every eligible order posted once, with its total to the cent (or the difference
    line), nothing for the others; every label cost of a posted order once. A difference
    with a proper home (issue 17: an unitemised coupon, marketplace tax) is not on the
    reconciliation account."""
    receipts = {r["Id"]: r for r in qbo.documents("salesreceipt")}
    purchases = {p["Id"]: p for p in qbo.documents("purchase")}
    assert len({r["DocNumber"] for r in receipts.values()}) == len(receipts)
    with org_scope(org.pk):
        orders = list(Order.objects.select_related("source_store"))
        postings = {p.order_id: p for p in Posting.objects.filter(kind=PostingKind.SALE)}
        labels = list(Posting.objects.filter(kind=PostingKind.SHIPPING_COST))
        costs = {c.pk: c for c in ShippingCost.objects.all()}
    eligible = [
        o for o in orders if o.status == "shipped" and not o.is_cancelled and o.pk not in ignored
    ]
    assert eligible and len(eligible) < len(orders)
    assert set(postings) == {o.pk for o in eligible}
    assert len(receipts) == len(eligible)
    for order in eligible:
        posting = postings[order.pk]
        assert posting.status == PostingState.POSTED, posting.error
        receipt = receipts[posting.external_id]
        assert Decimal(str(receipt["TotalAmt"])) == order.amount_paid
        difference_lines = [
            line for line in receipt["Line"]
            if str(line.get("Description", "")).startswith("Reconciliation difference")
        ]  # fmt: skip
        reason = reasons.get(order.external_id, "")
        if reconciliation_expected(order, reason):
            assert len(difference_lines) == 1
        else:
            assert difference_lines == []
        if reason == "coupon" and not order.discount_total:
            [coupon] = [x for x in receipt["Line"] if x.get("DetailType") == "DiscountLineDetail"]
            assert -Decimal(str(coupon["Amount"])) == order.reconciliation_difference
    posted_orders = {o.pk for o in eligible}
    expected_labels = {
        pk for pk, c in costs.items() if c.order_id in posted_orders and not c.voided
    }
    assert {p.shipping_cost_id for p in labels} == expected_labels
    # Fulfillment fees (issue 16) of posted orders are purchases too, one each.
    with org_scope(org.pk):
        fee_postings = list(Posting.objects.filter(kind=PostingKind.FULFILLMENT_FEE))
        owed_fees = {
            f.pk: f
            for f in FulfillmentFee.objects.filter(
                order_id__in=posted_orders, voided=False, fee__gt=0
            )
        }
    assert {p.fulfillment_fee_id for p in fee_postings} == set(owed_fees)
    assert len(purchases) == len(expected_labels) + len(owed_fees)
    for posting in fee_postings:
        assert posting.status == PostingState.POSTED
        fee = owed_fees[posting.fulfillment_fee_id].fee
        assert Decimal(str(purchases[posting.external_id]["TotalAmt"])) == fee
    for posting in labels:
        assert posting.status == PostingState.POSTED
        cost = costs[posting.shipping_cost_id]
        assert Decimal(str(purchases[posting.external_id]["TotalAmt"])) == cost.total
    return len(eligible), len(expected_labels)


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_import_then_auto_post_in_a_worker(org_a, ss, qbo, qbo_settings, celery_worker_process):
    queue = unique_queue("e2e")
    qbo.set_duplicate_doc_number_check(False)
    qbo_settings.SALES_TASK_QUEUE = queue
    qbo_settings.ACCOUNTING_TASK_QUEUE = queue
    ss.add_account(SS_KEY, SS_SECRET, seed=41, orders=80, days=30, stores=3)
    store = make_connection(org_a)
    connect_ledger(
        org_a, qbo, trigger="manual", reconciliation_enabled=True, label_cost_mode="expense"
    )
    worker = celery_worker_process(
        [queue],
        env={
            **qbo_env(qbo),
            "SALES_TASK_QUEUE": queue,
            "ACCOUNTING_TASK_QUEUE": queue,
            "DJANGO_SETTINGS_MODULE": "tests.accounting.worker_settings",
            "SHIPSTATION_API_BASE_URL": ss.base_url,
            "SHIPSTATION_RATE_LIMIT_PER_MINUTE": "100000",
        },
        pool="threads",
        concurrency=4,
    )
    # 1. Import 30 days with posting on "manual": nothing is posted.
    with org_scope(org_a.pk):
        sync_request(organization=org_a, connection=store, kind=SyncKind.MANUAL)
    assert _wait(lambda: not _open_work(org_a)), worker.output()[-3000:]
    with org_scope(org_a.pk):
        run = SyncRun.objects.get()
        assert run.status in (SyncStatus.SUCCEEDED, SyncStatus.PARTIAL), (
            run.error,
            run.error_detail,
        )
        assert not Posting.objects.exists()
        # 2. The merchant ignores two shipped orders and turns on auto-posting.
        ignored = set(
            Order.objects.filter(status="shipped").order_by("pk").values_list("pk", flat=True)[:2]
        )
        Order.objects.filter(pk__in=ignored).update(is_ignored=True, posting_status="ignored")
        PostingSettings.objects.update(trigger="after_import")
        # 3. The next import posts everything eligible, in the worker.
        sync_request(organization=org_a, connection=store, kind=SyncKind.MANUAL)
    assert _wait(lambda: SyncRun.all_orgs.filter(organization=org_a).count() == 2)
    assert _wait(lambda: not _open_work(org_a) and _posted_any(org_a)), worker.output()[-3000:]

    sales, labels = _check_sales_and_labels(
        org_a, qbo, ignored=ignored, reasons=mismatch_reasons(ss, SS_KEY)
    )
    assert sales > 10 and labels > 10


def _posted_any(org) -> bool:
    with org_scope(org.pk):
        return Posting.objects.filter(status="posted").exists()


@pytest.mark.django_db
def test_daily_summaries_balance_and_equal_each_days_orders(org_a, ss, qbo, qbo_settings):
    ss.add_account(SS_KEY, SS_SECRET, seed=42, orders=60, days=10, stores=2)
    store = make_connection(org_a)
    ledger = connect_ledger(
        org_a,
        qbo,
        trigger="after_import",
        document_type="daily_summary",
        reconciliation_enabled=True,
        label_cost_mode="off",
    )
    with org_scope(org_a.pk):
        run = sync_request(organization=org_a, connection=store, kind=SyncKind.MANUAL)
        while sync_run_execute(run_id=run.pk).continue_later:
            pass
        queued = posting_after_import(org_a.pk, store.pk, run.pk)
        assert queued > 0
        posting_drain(ledger_connection_id=ledger.pk)
        summaries = list(Posting.objects.filter(kind=PostingKind.SUMMARY))
        orders = list(Order.objects.filter(status="shipped", is_cancelled=False))
    summaries = closed_day_summaries(summaries, org_a.tzinfo)
    assert summaries and all(p.status == PostingState.POSTED for p in summaries), [
        p.error for p in summaries
    ]
    entries = {e["Id"]: e for e in qbo.documents("journalentry")}
    assert len(entries) == len(summaries)
    tz = org_a.tzinfo
    paid_by_day: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    now = timezone.now()
    for order in orders:
        day = (order.payment_date or order.order_date).astimezone(tz).date()
        if day_closes_at(day, tz) <= now:  # closed: over, plus the import overlap
            paid_by_day[(summary_store_key(order), day.isoformat())] += order.amount_paid
    assert {(p.summary_store_key, p.summary_date.isoformat()) for p in summaries} == set(
        paid_by_day
    )
    for posting in summaries:
        entry = entries[posting.external_id]
        sides = Counter()
        for line in entry["Line"]:
            detail = line["JournalEntryLineDetail"]
            sides[detail["PostingType"]] += Decimal(str(line["Amount"]))
        assert sides["Debit"] == sides["Credit"]
        deposit = sum(
            (
                Decimal(str(line["Amount"]))
                for line in entry["Line"]
                if line["JournalEntryLineDetail"]["AccountRef"]["value"] == "4"
                and line["JournalEntryLineDetail"]["PostingType"] == "Debit"
            ),
            ZERO,
        )
        key = (posting.summary_store_key, posting.summary_date.isoformat())
        assert deposit == paid_by_day[key]
    with org_scope(org_a.pk):
        posted_days = {p.summary_date for p in summaries}
        for order in orders:
            order.refresh_from_db()
            day = (order.payment_date or order.order_date).astimezone(tz).date()
            assert (order.posting_status == "posted") == (day in posted_days)
