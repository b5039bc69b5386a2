"""Labels bought after their order was posted (a second label, a return label): the order
is flagged "Changed after posting" with the reason, and each new cost is posted to the
ledger as its own expense, exactly once. Orders and labels come from the ShipStation
stand-in through the real import; documents go to the QBO stand-in over HTTP."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.urls import reverse

from accounting.models import Posting, PostingKind, PostingState
from accounting.services import posting_after_import, posting_enqueue_orders
from accounting.services.engine import posting_drain
from sales.models import Order, ShippingCost, SyncKind, SyncRun
from sales.models import PostingStatus as OrderStatus
from sales.services import sync_request, sync_run_execute
from tests.accounting.conftest import connect_ledger, qbo_env
from tests.sales.support import SS_KEY, SS_SECRET, make_connection
from tests.worker_process import unique_queue
from unify.core.models import AuditEvent
from unify.tenancy.scoping import org_scope

SECOND = "Changed after posting: another label was bought after the order was posted"
RETURN = "Changed after posting: a return label was bought after the order was posted"


@pytest.fixture
def ss(shipstation, settings):
    settings.SHIPSTATION_API_BASE_URL = shipstation.base_url
    settings.SHIPSTATION_RATE_LIMIT_PER_MINUTE = 100_000
    shipstation.disable_rate_limit()
    from connections.sources.shipstation.client import api_key_fingerprint
    from connections.sources.shipstation.limits import shipstation_rate_limiter

    shipstation_rate_limiter().reset(f"shipstation:{api_key_fingerprint(SS_KEY)}")
    return shipstation


def _sync(org, store) -> None:
    """One import, in this process, and what the import's completion hook runs."""
    with org_scope(org.pk):
        run = sync_request(organization=org, connection=store, kind=SyncKind.MANUAL)
        while sync_run_execute(run_id=run.pk).continue_later:
            pass
        posting_after_import(org.pk, store.pk, run.pk)


def _drain(ledger) -> int:
    with org_scope(ledger.organization_id):
        return posting_drain(ledger_connection_id=ledger.pk)


def _posted_order_with_a_label(org) -> Order:
    with org_scope(org.pk):
        order = (
            Order.objects.filter(posting_status=OrderStatus.POSTED, shipping_costs__isnull=False)
            .order_by("pk")
            .first()
        )
        assert order is not None
        # Its first label went with it (summaries do not name their orders).
        assert Posting.objects.filter(
            order=order, kind=PostingKind.SHIPPING_COST, status=PostingState.POSTED
        ).exists()
    return order


def _buy_late_labels(ss, order: Order) -> None:
    ss.add_label(SS_KEY, int(order.external_id), shipment_cost="9.15", insurance_cost="0")
    ss.add_label(
        SS_KEY, int(order.external_id), shipment_cost="6.00", insurance_cost="0", is_return=True
    )


def _late_costs(org, order: Order, known: set[int]) -> list[ShippingCost]:
    with org_scope(org.pk):
        return list(
            ShippingCost.objects.filter(order=order).exclude(pk__in=known).order_by("is_return")
        )


def _label_postings(org, costs) -> list[tuple[str, str]]:
    with org_scope(org.pk):
        return [
            (p.status, p.external_id)
            for p in Posting.objects.filter(
                kind=PostingKind.SHIPPING_COST, shipping_cost__in=costs
            ).order_by("shipping_cost__is_return")
        ]


def _purchases_of(qbo, postings) -> list[Decimal]:
    by_id = {p["Id"]: p for p in qbo.documents("purchase")}
    return [Decimal(str(by_id[external_id]["TotalAmt"])) for _status, external_id in postings]


def _audit(org, order: Order) -> list[dict]:
    return list(
        AuditEvent.objects.filter(
            organization=org,
            action="sales.order.label_after_posting",
            target=f"sales.order:{order.pk}",
        )
        .order_by("pk")
        .values_list("metadata", flat=True)
    )


# --- posting by hand (the default) ------------------------------------------------------------


@pytest.mark.django_db
def test_late_labels_flag_the_order_with_the_reason_and_post_once_when_the_order_is_posted(
    client, owner_of_a, org_a, ss, qbo, qbo_settings
):
    ss.add_account(SS_KEY, SS_SECRET, seed=44, orders=14, days=10, stores=1)
    store = make_connection(org_a)
    ledger = connect_ledger(org_a, qbo, trigger="manual", reconciliation_enabled=True)
    _sync(org_a, store)
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=Order.objects.values("pk"))
    _drain(ledger)
    order = _posted_order_with_a_label(org_a)
    with org_scope(org_a.pk):
        known = set(ShippingCost.objects.filter(order=order).values_list("pk", flat=True))
    purchases_before = len(qbo.documents("purchase"))

    _buy_late_labels(ss, order)
    _sync(org_a, store)

    order.refresh_from_db()
    late = _late_costs(org_a, order, known)
    assert [(c.total, c.is_return, c.voided) for c in late] == [
        (Decimal("9.15"), False, False),
        (Decimal("6.00"), True, False),
    ]
    assert (order.posting_status, order.changed_after_posting) == (OrderStatus.CHANGED, False)
    assert _label_postings(org_a, late) == []  # posting is by hand: nothing sent yet
    assert len(qbo.documents("purchase")) == purchases_before
    client.force_login(owner_of_a.user)
    page = client.get(f"/o/{org_a.slug}/sales/{order.pk}/").content.decode()
    assert "Changed after posting" in page
    assert (
        f"{SECOND} (9.15 USD, {late[0].carrier} {late[0].tracking_number}). Post the order to "
        "add its cost to the ledger as a document of its own."
    ) in page
    assert f"{RETURN} (6.00 USD, " in page
    changed_tab = client.get(f"/o/{org_a.slug}/sales/?posting=changed").content.decode()
    assert f">{order.number}<" in changed_tab

    # Another import changes nothing: the reason is recorded once per label.
    _sync(org_a, store)
    assert [m["shipping_cost_id"] for m in _audit(org_a, order)] == [c.pk for c in late]

    # The merchant posts the order from the Sales tab: the two costs go, once each.
    response = client.post(
        reverse("sales:action", kwargs={"org_slug": org_a.slug}),
        {"action": "post", "ids": [order.pk]},
        follow=True,
    )
    assert "2 label costs queued for posting." in response.content.decode()
    assert "could not be posted" not in response.content.decode()
    assert _drain(ledger) == 2
    postings = _label_postings(org_a, late)
    assert [status for status, _id in postings] == [PostingState.POSTED, PostingState.POSTED]
    assert _purchases_of(qbo, postings) == [Decimal("9.15"), Decimal("6.00")]
    assert len(qbo.documents("purchase")) == purchases_before + 2
    order.refresh_from_db()
    assert order.posting_status == OrderStatus.POSTED

    # Posting, importing and draining again send nothing more.
    with org_scope(org_a.pk):
        assert posting_enqueue_orders(organization=org_a, order_ids=[order.pk]).total == 0
    _sync(org_a, store)
    assert _drain(ledger) == 0
    assert len(qbo.documents("purchase")) == purchases_before + 2
    assert len(_audit(org_a, order)) == 2
    order.refresh_from_db()
    assert order.posting_status == OrderStatus.POSTED


@pytest.mark.django_db
def test_an_order_edited_and_given_a_late_label_stays_flagged_until_its_sale_is_updated(
    org_a, ss, qbo, qbo_settings
):
    ss.add_account(SS_KEY, SS_SECRET, seed=45, orders=10, days=10, stores=1)
    store = make_connection(org_a)
    ledger = connect_ledger(org_a, qbo, trigger="after_import", reconciliation_enabled=True)
    _sync(org_a, store)
    _drain(ledger)
    order = _posted_order_with_a_label(org_a)

    ss.edit_order(SS_KEY, int(order.external_id), amountPaid=str(order.amount_paid + 1))
    ss.add_label(SS_KEY, int(order.external_id), shipment_cost="4.20", insurance_cost="0")
    _sync(org_a, store)
    _drain(ledger)

    order.refresh_from_db()
    with org_scope(org_a.pk):
        [late] = ShippingCost.objects.filter(order=order, cost=Decimal("4.20"))
        sale = Posting.objects.get(order=order, kind=PostingKind.SALE)
    # The label's cost is in the ledger; the edit of the order still needs its update.
    assert [s for s, _id in _label_postings(org_a, [late])] == [PostingState.POSTED]
    assert (order.posting_status, order.changed_after_posting) == (OrderStatus.CHANGED, True)
    assert sale.needs_review is True


@pytest.mark.django_db
def test_late_labels_are_not_flagged_when_label_costs_are_not_posted(org_a, ss, qbo, qbo_settings):
    ss.add_account(SS_KEY, SS_SECRET, seed=46, orders=10, days=10, stores=1)
    store = make_connection(org_a)
    ledger = connect_ledger(org_a, qbo, trigger="after_import", label_cost_mode="off")
    _sync(org_a, store)
    _drain(ledger)
    with org_scope(org_a.pk):
        order = Order.objects.filter(posting_status=OrderStatus.POSTED).order_by("pk").first()

    ss.add_label(SS_KEY, int(order.external_id), shipment_cost="3.10", insurance_cost="0")
    _sync(org_a, store)
    _drain(ledger)

    order.refresh_from_db()
    assert order.posting_status == OrderStatus.POSTED
    assert _audit(org_a, order) == []
    assert qbo.documents("purchase") == []


@pytest.mark.django_db
def test_daily_summaries_flag_and_post_late_labels_too(org_a, ss, qbo, qbo_settings):
    ss.add_account(SS_KEY, SS_SECRET, seed=47, orders=20, days=10, stores=1)
    store = make_connection(org_a)
    ledger = connect_ledger(
        org_a,
        qbo,
        trigger="after_import",
        document_type="daily_summary",
        reconciliation_enabled=True,
    )
    _sync(org_a, store)
    _drain(ledger)
    order = _posted_order_with_a_label(org_a)
    with org_scope(org_a.pk):
        known = set(ShippingCost.objects.filter(order=order).values_list("pk", flat=True))
    purchases_before = len(qbo.documents("purchase"))

    _buy_late_labels(ss, order)
    _sync(org_a, store)
    assert _drain(ledger) == 2

    late = _late_costs(org_a, order, known)
    postings = _label_postings(org_a, late)
    assert _purchases_of(qbo, postings) == [Decimal("9.15"), Decimal("6.00")]
    assert len(qbo.documents("purchase")) == purchases_before + 2
    assert [m["shipping_cost_id"] for m in _audit(org_a, order)] == [c.pk for c in late]
    order.refresh_from_db()
    assert order.posting_status == OrderStatus.POSTED


# --- posting after each import, in a real worker ----------------------------------------------


def _wait(predicate, timeout: float = 180.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return bool(predicate())


def _idle(org) -> bool:
    with org_scope(org.pk):
        return not (
            SyncRun.objects.filter(status__in=["queued", "running"]).exists()
            or Posting.objects.filter(status__in=["pending", "in_flight"]).exists()
        )


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_late_labels_are_flagged_and_posted_once_after_the_import_in_a_worker(
    client, owner_of_a, org_a, ss, qbo, qbo_settings, celery_worker_process
):
    queue = unique_queue("late")
    qbo_settings.SALES_TASK_QUEUE = queue
    qbo_settings.ACCOUNTING_TASK_QUEUE = queue
    ss.add_account(SS_KEY, SS_SECRET, seed=48, orders=16, days=10, stores=1)
    store = make_connection(org_a)
    ledger = connect_ledger(
        org_a, qbo, trigger="after_import", reconciliation_enabled=True, label_cost_mode="expense"
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
        concurrency=2,
    )

    def posted_labels() -> int:
        return Posting.all_orgs.filter(
            organization=org_a, kind=PostingKind.SHIPPING_COST, status=PostingState.POSTED
        ).count()

    def sync_and_settle(runs: int, *, posted_labels_at_least: int = 0) -> None:
        with org_scope(org_a.pk):
            sync_request(organization=org_a, connection=store, kind=SyncKind.MANUAL)
        assert _wait(lambda: SyncRun.all_orgs.filter(organization=org_a).count() == runs)
        # The run's end queues the after-import step: wait for what it posts, then for quiet.
        assert _wait(lambda: posted_labels() >= posted_labels_at_least), worker.output()[-3000:]
        assert _wait(lambda: _idle(org_a)), worker.output()[-3000:]

    sync_and_settle(1, posted_labels_at_least=1)
    order = _posted_order_with_a_label(org_a)
    with org_scope(org_a.pk):
        known = set(ShippingCost.objects.filter(order=order).values_list("pk", flat=True))
    purchases_before = len(qbo.documents("purchase"))
    assert purchases_before > 5

    labels_before = posted_labels()
    _buy_late_labels(ss, order)
    sync_and_settle(2, posted_labels_at_least=labels_before + 2)

    late = _late_costs(org_a, order, known)
    assert [c.total for c in late] == [Decimal("9.15"), Decimal("6.00")]
    postings = _label_postings(org_a, late)
    assert [status for status, _id in postings] == [PostingState.POSTED, PostingState.POSTED]
    assert _purchases_of(qbo, postings) == [Decimal("9.15"), Decimal("6.00")]
    assert len(qbo.documents("purchase")) == purchases_before + 2
    reasons = _audit(org_a, order)
    assert [(m["shipping_cost_id"], m["trigger"]) for m in reasons] == [
        (late[0].pk, "after_import"),
        (late[1].pk, "after_import"),
    ]
    # Both costs are in the ledger: the order reads "Posted" again, the reason stays.
    order.refresh_from_db()
    assert order.posting_status == OrderStatus.POSTED
    client.force_login(owner_of_a.user)
    page = client.get(f"/o/{org_a.slug}/sales/{order.pk}/").content.decode()
    assert f"{RETURN} (6.00 USD, " in page
    assert "Its cost is posted as a document of its own." in page

    # A third import and the after-import step again: nothing new, nothing twice.
    sync_and_settle(3)
    time.sleep(3)  # room for the worker's own after-import step of that run
    with org_scope(org_a.pk):
        assert posting_after_import(org_a.pk, store.pk, None) == 0
    assert _wait(lambda: _idle(org_a))
    assert len(qbo.documents("purchase")) == purchases_before + 2
    assert len(_audit(org_a, order)) == 2
    with org_scope(org_a.pk):
        assert Posting.objects.filter(shipping_cost__in=late).count() == 2
    assert Posting.all_orgs.filter(ledger_connection=ledger, status="failed").count() == 0
