"""A posting run that fails after its retries notifies once per run, like a failed sync: in
the engine in-process against the QBO stand-in, and through a real Celery worker with the
drain delivered more than once (as a broker may), where the members still get one
notification each and the owner one email, linking to the failed postings."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from accounting.models import Posting, PostingState
from accounting.services import posting_enqueue_orders, posting_retry_failed
from accounting.services.engine import posting_drain, posting_sweep
from accounting.tasks import posting_drain_task
from tests.accounting.conftest import connect_ledger, qbo_env, qbo_settings  # noqa: F401
from tests.accounting.factories import make_order
from tests.notifications.test_email_worker import sent_messages
from tests.worker_process import unique_queue
from unify.notifications.models import Kind, Notification, NotificationEvent
from unify.tenancy.scoping import org_scope

# The stand-in wired into settings (the fixture lives with the accounting tests).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("qbo_settings")]


def _orders(org, n: int):
    return [
        make_order(org, lines=[(f"SKU-{i}", f"Product {i}", 1, "12.50", False)]) for i in range(n)
    ]


def _failed_events(org):
    return NotificationEvent.all_orgs.filter(organization=org, kind=Kind.RUN_FAILED)


def test_a_failed_posting_run_notifies_once_and_a_failed_retry_again(
    org_a,
    owner_of_a,
    member_of_a,
    qbo,
    settings,
):
    settings.ACCOUNTING_POSTING_MAX_ATTEMPTS = 1  # the first 500 is the last attempt
    ledger = connect_ledger(org_a, qbo)
    orders = _orders(org_a, 3)
    qbo.inject_faults("server_error", probability=1.0, path_prefix="/v3/company")
    with org_scope(org_a.pk):
        batch = posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in orders])
        posting_drain(ledger_connection_id=ledger.pk)
        assert Counter(Posting.objects.values_list("status", flat=True)) == {"failed": 3}
    (event,) = _failed_events(org_a)
    assert event.dedupe_key == f"posting_failed:{batch.pk}"
    assert event.params["run"] == "posting" and event.params["name"] == "QuickBooks Online"
    assert event.link == f"/o/{org_a.slug}/accounting/postings/?status=failed"
    assert sorted(Notification.all_orgs.filter(event=event).values_list("user_id", flat=True)) == (
        sorted([owner_of_a.user_id, member_of_a.user_id])
    )
    # "Retry failed" is a new run: failing again tells the members again, once.
    with org_scope(org_a.pk):
        posting_retry_failed(organization=org_a)
        posting_drain(ledger_connection_id=ledger.pk)
    assert _failed_events(org_a).count() == 2


@pytest.mark.worker
def test_a_failed_posting_run_through_a_worker_delivered_twice_notifies_once(
    org_a,
    owner_of_a,
    member_of_a,
    qbo,
    settings,
    celery_worker_process,
    tmp_path,  # noqa: F811
):
    outbox = tmp_path / "mail"
    outbox.mkdir()
    queue = unique_queue("posting-failed")
    settings.ACCOUNTING_TASK_QUEUE = queue
    connect_ledger(org_a, qbo)
    orders = _orders(org_a, 4)
    # Every request fails: each posting is retried once, then given up.
    qbo.inject_faults("server_error", probability=1.0, path_prefix="/v3/company")
    values = {
        **qbo_env(qbo),
        "ACCOUNTING_TASK_QUEUE": queue,
        "NOTIFICATIONS_TASK_QUEUE": queue,
        "TEST_EMAIL_FILE_PATH": str(outbox),
        "ACCOUNTING_POSTING_MAX_ATTEMPTS": "2",
        "ACCOUNTING_POSTING_BACKOFF_SECONDS": "0.2",
        "ACCOUNTING_POSTING_BACKOFF_MAX_SECONDS": "0.5",
        "ACCOUNTING_POSTING_PARALLELISM": "2",
    }
    worker = celery_worker_process([queue], env=values, pool="threads", concurrency=2)
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in orders])
        ledger_id = Posting.objects.values_list("ledger_connection_id", flat=True).first()
    # The same drain delivered twice more, on top of the two the enqueue started.
    for _ in range(2):
        posting_drain_task.apply_async(
            kwargs={"organization_id": org_a.pk, "ledger_connection_id": ledger_id}, queue=queue
        )

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with org_scope(org_a.pk):
            posting_sweep()  # what beat does every minute: resume due retries
            statuses = Counter(Posting.objects.values_list("status", flat=True))
        if statuses == {"failed": 4} and sent_messages(outbox):
            break
        time.sleep(0.5)
    time.sleep(1.5)  # any late duplicate has run by now
    output = worker.output()
    with org_scope(org_a.pk):
        postings = list(Posting.objects.all())
    assert [p.status for p in postings] == [PostingState.FAILED] * 4, output[-3000:]
    assert all(p.attempts == 2 for p in postings)  # failed after its retries

    (event,) = _failed_events(org_a)
    rows = Notification.all_orgs.filter(event=event)
    assert sorted(rows.values_list("user_id", flat=True)) == sorted(
        [owner_of_a.user_id, member_of_a.user_id]
    )
    messages = sent_messages(outbox)
    assert sorted(m["To"] for m in messages) == sorted(
        [owner_of_a.user.email, member_of_a.user.email]
    ), output[-3000:]
    body = messages[0].get_payload()[0].get_payload(decode=True).decode()
    assert f"/o/{org_a.slug}/accounting/postings/?status=failed" in body
