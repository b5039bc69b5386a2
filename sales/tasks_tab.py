"""Celery task of the Sales tab's background actions ("all N filtered", re-import). Thin: ids
in, org scope, one service call; registered with the worker through ``sales.tasks``."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from unify.tenancy.scoping import with_org_scope

logger = logging.getLogger(__name__)


@shared_task(name="sales.tasks.order_bulk_action_task", acks_late=True, ignore_result=True)
@with_org_scope
def order_bulk_action_task(*, organization_id: int, action_id: int) -> None:
    from sales.services.review import order_bulk_action_execute

    result = order_bulk_action_execute(organization_id=organization_id, action_id=action_id)
    if result.continue_later:
        # The time budget ran out: the checkpoint is committed, a fresh task carries on.
        order_bulk_action_task.apply_async(
            kwargs={"organization_id": organization_id, "action_id": action_id},
            queue=getattr(settings, "SALES_TASK_QUEUE", "") or None,
        )


@shared_task(name="sales.tasks.order_bulk_actions_recover_task", ignore_result=True)
def order_bulk_actions_recover_task() -> None:
    """Beat, every minute: queue again background actions whose task was lost (or whose
    worker died); fail those queued again too often, with a message on the Sales tab."""
    from sales.services.review import order_bulk_actions_recover

    requeued = order_bulk_actions_recover()
    if requeued:
        logger.info("queued bulk actions again: %s", requeued)


@shared_task(name="sales.tasks.order_rollup_compact_task", ignore_result=True)
def order_rollup_compact_task() -> None:
    """Beat, every minute: fold the Sales tab's pending total deltas (sales/rollup.py) and
    the dashboard's day totals (sales/rollup_daily.py)."""
    from sales.rollup import order_rollup_compact
    from sales.rollup_daily import daily_rollup_compact
    from unify.tenancy.rls import rls_bypass

    # Folds every organization's pending deltas in one statement each.
    with rls_bypass("beat-fanout"):
        order_rollup_compact()
        daily_rollup_compact()
