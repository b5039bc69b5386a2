"""Reconnecting QuickBooks sends the postings that waited for it at once (not when the
periodic sweep next comes by), and the page says how many; while they wait, Post says so
instead of "0 orders queued"."""

from __future__ import annotations

import time
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import requests
from django.urls import reverse

from accounting.models import LedgerConnection, LedgerStatus, Posting, PostingEvent, PostingState
from accounting.services import posting_enqueue_orders
from accounting.services.engine import has_due_postings, posting_drain
from tests.accounting.conftest import qbo_env
from tests.accounting.factories import make_order
from tests.worker_process import unique_queue
from unify.tenancy.scoping import org_scope


def _reconnect(client, org, qbo):
    """Accounting > Reconnect, approve at the QBO stand-in, back to our callback."""
    start = client.get(f"/o/{org.slug}/accounting/qbo/connect/")
    assert start.status_code == 302
    qbo.set_auto_approve(True)
    approved = requests.get(start["Location"], allow_redirects=False, timeout=10)
    assert approved.status_code == 302
    back = urlsplit(approved.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


def _orders_waiting_for_reconnection(org, qbo, ledger, n: int) -> list[int]:
    """QuickBooks revoked Unify's access: the posting of ``n`` orders found out and waits."""
    with org_scope(org.pk):
        orders = [
            make_order(org, lines=[("A", "Alpha", 1, f"{10 + i}.00", False)]) for i in range(n)
        ]
        qbo.revoke_tokens()
        batch = posting_enqueue_orders(organization=org, order_ids=[o.pk for o in orders])
        assert batch.total == n
        posting_drain(ledger_connection_id=ledger.pk)
        ledger.refresh_from_db()
        assert ledger.status == LedgerStatus.NEEDS_REAUTH
        postings = list(Posting.objects.filter(order__in=orders))
    assert [p.status for p in postings] == [PostingState.PENDING] * n
    # They wait minutes: the sweep would be the next to look.
    assert all(p.next_attempt_at is not None for p in postings)
    with org_scope(org.pk):
        assert not has_due_postings(ledger.pk)
    return [o.pk for o in orders]


@pytest.mark.django_db
def test_reconnecting_queues_the_waiting_postings_at_once_and_says_so(
    owner_client, org_a, qbo, qbo_ledger, django_capture_on_commit_callbacks, mailoutbox
):
    order_ids = _orders_waiting_for_reconnection(org_a, qbo, qbo_ledger, 3)

    # Meanwhile, Post on the Sales tab says they wait, not "0 orders queued".
    response = owner_client.post(
        reverse("sales:action", kwargs={"org_slug": org_a.slug}),
        {"action": "post", "ids": order_ids},
        follow=True,
    )
    page = response.content.decode()
    assert (
        "3 orders already wait to be posted: QuickBooks Online has to be reconnected on the "
        "Accounting tab, then they are sent at once."
    ) in page
    assert "0 orders queued" not in page

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _reconnect(owner_client, org_a, qbo)

    assert response.status_code == 302
    assert response["Location"] == f"/o/{org_a.slug}/accounting/"
    page = owner_client.get(response["Location"]).content.decode()
    assert (
        "Reconnected to Sandbox Company_US_1. 3 postings that waited for the connection are "
        "being sent now."
    ) in page
    qbo_ledger.refresh_from_db()
    assert qbo_ledger.status == LedgerStatus.ACTIVE
    with org_scope(org_a.pk):
        postings = list(Posting.objects.filter(order_id__in=order_ids).order_by("pk"))
        assert [(p.status, p.next_attempt_at) for p in postings] == [
            (PostingState.PENDING, None)
        ] * 3
        assert has_due_postings(qbo_ledger.pk)
        assert [e.message for e in PostingEvent.objects.filter(posting=postings[0]).order_by("pk")][
            -1
        ] == "Sent again at once: QuickBooks Online was reconnected."
    # The drains are queued when the reconnection commits (the worker test runs them).
    queued = [c for c in callbacks if getattr(c, "__qualname__", "").startswith("ledger_postings")]
    assert len(queued) == 1

    with org_scope(org_a.pk):
        assert posting_drain(ledger_connection_id=qbo_ledger.pk) == 3
    assert sorted(Decimal(str(r["TotalAmt"])) for r in qbo.documents("salesreceipt")) == [
        Decimal("10.00"),
        Decimal("11.00"),
        Decimal("12.00"),
    ]


@pytest.mark.django_db
def test_reconnecting_with_nothing_waiting_just_says_reconnected(
    owner_client, org_a, qbo, qbo_ledger
):
    qbo.revoke_tokens()
    LedgerConnection.all_orgs.filter(pk=qbo_ledger.pk).update(status=LedgerStatus.NEEDS_REAUTH)

    response = _reconnect(owner_client, org_a, qbo)

    assert response["Location"] == f"/o/{org_a.slug}/accounting/"
    page = owner_client.get(response["Location"]).content.decode()
    assert "Reconnected to Sandbox Company_US_1." in page
    assert "being sent now" not in page


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return bool(predicate())


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_waiting_postings_are_posted_by_the_worker_right_after_reconnecting(
    owner_client, org_a, qbo, qbo_ledger, qbo_settings, celery_worker_process
):
    """No beat runs here, so no sweep: only the reconnection can start the drains."""
    queue = unique_queue("reconnect")
    qbo_settings.ACCOUNTING_TASK_QUEUE = queue
    order_ids = _orders_waiting_for_reconnection(org_a, qbo, qbo_ledger, 4)
    celery_worker_process(
        [queue],
        env={**qbo_env(qbo), "ACCOUNTING_TASK_QUEUE": queue},
        pool="threads",
        concurrency=2,
    )
    time.sleep(2)
    with org_scope(org_a.pk):
        assert not Posting.objects.filter(status=PostingState.POSTED).exists()

    response = _reconnect(owner_client, org_a, qbo)
    assert response.status_code == 302

    def all_posted() -> bool:
        with org_scope(org_a.pk):
            return (
                Posting.objects.filter(order_id__in=order_ids, status=PostingState.POSTED).count()
                == 4
            )

    assert _wait(all_posted, timeout=30)
    assert len(qbo.documents("salesreceipt")) == 4
