"""Background actions of the Sales tab that nobody works on: a task message lost before a
worker took it, a worker killed mid-action. The recovery task (beat, every minute) queues
them again, a bounded number of times, then fails them with a message on the Sales tab; a
task delivered twice never works on one action twice."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import redis
from django.urls import reverse
from django.utils import timezone

from sales.models import BulkActionStatus, Order, OrderBulkAction, PostingStatus
from sales.services.review import order_bulk_actions_recover
from sales.tasks_tab import order_bulk_action_task, order_bulk_actions_recover_task
from tests.sales.factories import bulk_orders
from tests.worker_process import unique_queue

pytestmark = pytest.mark.django_db

GAVE_UP = (
    "This action stopped because no background worker took it up, even after it was queued "
    "again. Orders done so far stay done; start it again to finish the rest."
)


def action_url(org) -> str:
    return reverse("sales:action", kwargs={"org_slug": org.slug})


def ignored(org) -> int:
    return Order.all_orgs.filter(organization=org, is_ignored=True).count()


def quiet_for(action: OrderBulkAction, seconds: float) -> None:
    """As if nothing had happened to the action for ``seconds``."""
    OrderBulkAction.all_orgs.filter(pk=action.pk).update(
        updated_at=timezone.now() - timedelta(seconds=seconds)
    )


def queued_action(org, **values) -> OrderBulkAction:
    return OrderBulkAction.all_orgs.create(organization=org, kind="ignore", **values)


def wait_until_finished(action: OrderBulkAction, worker, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        action.refresh_from_db()
        if not action.is_open:
            return action
        time.sleep(0.1)
    raise AssertionError(f"action {action.pk} still {action.status}:\n{worker.output()[-3000:]}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_an_action_whose_task_message_was_lost_is_queued_again_and_a_worker_finishes_it(
    celery_worker_process, member_client, org_a, settings
):
    bulk_orders(org_a, 25)
    # The click queues the task on a queue no worker reads: the message is as good as lost.
    lost = unique_queue("lost")
    settings.SALES_TASK_QUEUE = lost
    member_client.post(action_url(org_a), {"action": "ignore:filtered"})
    member_client.post(action_url(org_a), {"action": "unignore:filtered"})
    abandoned, recent = OrderBulkAction.all_orgs.filter(organization=org_a).order_by("pk")
    assert (abandoned.kind, abandoned.status, recent.kind, recent.status) == (
        "ignore",
        "queued",
        "unignore",
        "queued",
    )
    quiet_for(abandoned, settings.SALES_BULK_ACTION_STALE_SECONDS + 60)

    queue = unique_queue("bulk")
    worker = celery_worker_process([queue], env={"SALES_TASK_QUEUE": queue})
    settings.SALES_TASK_QUEUE = queue
    try:
        order_bulk_actions_recover_task.apply()

        done = wait_until_finished(abandoned, worker)
        assert (done.status, done.total, done.done, done.changed, done.requeues) == (
            BulkActionStatus.SUCCEEDED,
            25,
            25,
            25,
            1,
        )
        assert ignored(org_a) == 25
        # The action queued a moment ago may still be on its way: left alone.
        recent.refresh_from_db()
        assert (recent.status, recent.requeues, recent.done) == ("queued", 0, 0)
        # A second beat finds nothing to do: the finished one is closed, the recent one fresh.
        assert order_bulk_actions_recover() == []
        assert "sales.tasks.order_bulk_action_task" in worker.output()
    finally:
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(lost)


def test_recent_and_actively_worked_on_actions_are_left_alone(
    org_a, django_capture_on_commit_callbacks
):
    fresh = queued_action(org_a)
    working = queued_action(
        org_a,
        status=BulkActionStatus.RUNNING,
        lease_token="alive",
        lease_until=timezone.now() + timedelta(minutes=4),
    )
    quiet_for(working, 3600)  # a long chunk: no change for an hour, but its lease still lives

    with django_capture_on_commit_callbacks(execute=False) as sent:
        assert order_bulk_actions_recover() == []

    assert sent == []
    fresh.refresh_from_db()
    working.refresh_from_db()
    assert (fresh.status, fresh.requeues) == ("queued", 0)
    assert (working.status, working.requeues, working.lease_token) == ("running", 0, "alive")


def test_recovering_twice_queues_an_abandoned_action_once(
    org_a, settings, django_capture_on_commit_callbacks
):
    action = queued_action(org_a)
    quiet_for(action, settings.SALES_BULK_ACTION_STALE_SECONDS + 1)

    with django_capture_on_commit_callbacks(execute=False) as sent:
        first = order_bulk_actions_recover()
        second = order_bulk_actions_recover()

    assert (first, second, len(sent)) == ([action.pk], [], 1)
    action.refresh_from_db()
    assert (action.status, action.requeues) == ("queued", 1)


def test_a_killed_workers_action_resumes_from_its_checkpoint_and_its_old_lease_is_dead(
    org_a, django_capture_on_commit_callbacks
):
    bulk_orders(org_a, 30)
    ids = sorted(Order.all_orgs.filter(organization=org_a).values_list("pk", flat=True))
    # The dead worker did the first 10 orders and committed its checkpoint, then vanished.
    Order.all_orgs.filter(pk__in=ids[:10]).update(
        is_ignored=True, posting_status=PostingStatus.IGNORED
    )
    action = queued_action(
        org_a,
        order_ids=ids,
        total=30,
        done=10,
        changed=10,
        last_order_id=ids[9],
        status=BulkActionStatus.RUNNING,
        started_at=timezone.now() - timedelta(minutes=10),
        lease_token="dead-worker",
        lease_until=timezone.now() - timedelta(seconds=1),
    )

    with django_capture_on_commit_callbacks(execute=False) as sent:
        assert order_bulk_actions_recover() == [action.pk]
    assert len(sent) == 1
    action.refresh_from_db()
    assert (action.lease_token, action.lease_until, action.requeues) == ("", None, 1)

    order_bulk_action_task.apply(kwargs={"organization_id": org_a.pk, "action_id": action.pk})

    action.refresh_from_db()
    assert (action.status, action.done, action.changed, action.total) == (
        BulkActionStatus.SUCCEEDED,
        30,
        30,
        30,
    )
    assert ignored(org_a) == 30


def test_a_second_delivery_does_nothing_while_the_first_holds_the_action(org_a):
    bulk_orders(org_a, 5)
    action = queued_action(
        org_a,
        status=BulkActionStatus.RUNNING,
        lease_token="first-delivery",
        lease_until=timezone.now() + timedelta(minutes=4),
        order_ids=sorted(Order.all_orgs.filter(organization=org_a).values_list("pk", flat=True)),
        total=5,
    )

    order_bulk_action_task.apply(kwargs={"organization_id": org_a.pk, "action_id": action.pk})

    action.refresh_from_db()
    assert (action.status, action.done, action.lease_token) == ("running", 0, "first-delivery")
    assert ignored(org_a) == 0


def test_an_action_queued_again_too_often_ends_failed_with_its_message_on_the_sales_tab(
    member_client, org_a, settings, django_capture_on_commit_callbacks
):
    bulk_orders(org_a, 3)
    action = queued_action(org_a, requeues=settings.SALES_BULK_ACTION_MAX_REQUEUES)
    quiet_for(action, settings.SALES_BULK_ACTION_STALE_SECONDS + 1)

    with django_capture_on_commit_callbacks(execute=False) as sent:
        assert order_bulk_actions_recover() == []

    assert sent == []
    action.refresh_from_db()
    assert (action.status, action.error, action.finished_at is not None) == (
        BulkActionStatus.FAILED,
        GAVE_UP,
        True,
    )
    page = member_client.get(f"/o/{org_a.slug}/sales/").content.decode()
    assert f'id="bulk-action-{action.pk}" class="alert alert-danger' in page
    assert GAVE_UP in page
    # A late delivery of its lost message changes nothing now.
    order_bulk_action_task.apply(kwargs={"organization_id": org_a.pk, "action_id": action.pk})
    action.refresh_from_db()
    assert (action.status, action.done) == ("failed", 0)
    assert ignored(org_a) == 0


def test_the_recovery_task_runs_every_minute_on_beat(settings):
    from unify.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["sales-bulk-actions-recover"]
    assert entry == {"task": "sales.tasks.order_bulk_actions_recover_task", "schedule": 60.0}
    assert entry["task"] in app.tasks
