"""Celery tasks of the import. Thin: ids in (never secrets), org scope (``with_org_scope``),
one service call.

Every task may run twice (acks_late, redelivery after a lost worker): a run is executed by
whoever holds its lease, everyone else returns at once.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from unify.core.exceptions import TenantScopeError
from unify.tenancy.scoping import with_org_scope

logger = logging.getLogger(__name__)


def _queue() -> str | None:
    return getattr(settings, "SALES_TASK_QUEUE", "") or None


@shared_task(name="sales.tasks.sync_run_task", acks_late=True, ignore_result=True)
@with_org_scope
def sync_run_task(*, organization_id: int, connection_id: int, run_id: int) -> None:
    from sales.models import SyncRun
    from sales.services.sync import sync_run_execute

    run = SyncRun.objects.filter(pk=run_id, connection_id=connection_id).first()
    if run is None:
        raise TenantScopeError(f"sync run {run_id} is not a run of this organization")
    result = sync_run_execute(run_id=run_id)
    if result.continue_later and result.run is not None:
        sync_run_task.apply_async(
            kwargs={
                "organization_id": organization_id,
                "connection_id": connection_id,
                "run_id": run_id,
            },
            queue=_queue(),
        )


@shared_task(name="sales.tasks.webhook_followup_task", acks_late=True, ignore_result=True)
@with_org_scope
def webhook_followup_task(*, organization_id: int, connection_id: int, waits: int = 0) -> None:
    """The one follow-up sync of a burst of webhooks, at the end of its debounce window."""
    from sales.services.webhooks import webhook_followup

    webhook_followup(organization_id=organization_id, connection_id=connection_id, waits=waits)


@shared_task(name="sales.tasks.sync_due_connections", ignore_result=True)
def sync_due_connections() -> None:
    """Beat's fan-out (every minute): queue due syncs and resume abandoned runs."""
    from sales.services.sync import sync_due_connections as fan_out

    queued = fan_out()
    if queued:
        logger.info("queued sync runs %s", queued)


@shared_task(name="sales.tasks.webhooks_subscribe_task", acks_late=True, ignore_result=True)
@with_org_scope
def webhooks_subscribe_task(*, organization_id: int, connection_id: int) -> None:
    from connections.models import StoreConnection
    from sales.services.webhooks import webhooks_subscribe
    from unify.core.exceptions import IntegrationError

    connection = StoreConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return
    try:
        webhooks_subscribe(connection=connection)
    except IntegrationError as exc:
        # Polling keeps the data in sync without webhooks; they are only a speed-up.
        logger.warning("connection %s: webhook subscription failed: %s", connection_id, exc)


# The Sales tab's background actions live in their own module; importing it here registers
# the task with the worker (Celery's autodiscovery only imports ``<app>.tasks``).
from sales.tasks_tab import (  # noqa: E402,F401
    order_bulk_action_task,
    order_bulk_actions_recover_task,
    order_rollup_compact_task,
)
