"""Celery tasks of the posting engine. Thin: ids in (never a token), org scope, one service.

Every task may run twice or concurrently: postings are claimed row by row with
``SKIP LOCKED`` and a lease, so a second delivery finds nothing left to do.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from unify.tenancy.scoping import org_scope

logger = logging.getLogger(__name__)


def _queue() -> str | None:
    return getattr(settings, "ACCOUNTING_TASK_QUEUE", "") or None


def queue_drains(organization_id: int, ledger_connection_id: int, count: int | None = None) -> None:
    """Start ``count`` (default: the configured parallelism) drains for one connection."""
    n = count if count is not None else int(settings.ACCOUNTING_POSTING_PARALLELISM)
    for _ in range(max(1, n)):
        posting_drain_task.apply_async(
            kwargs={
                "organization_id": organization_id,
                "ledger_connection_id": ledger_connection_id,
            },
            queue=_queue(),
        )


def queue_posting_after_import(
    organization_id: int, connection_id: int, run_id: int | None
) -> None:
    """For the import: call when a sync run of store connection ``connection_id`` finished."""
    posting_after_import_task.apply_async(
        kwargs={
            "organization_id": organization_id,
            "connection_id": connection_id,
            "run_id": run_id,
        },
        queue=_queue(),
    )


@shared_task(name="accounting.tasks.posting_execute_task", acks_late=True, ignore_result=True)
def posting_execute_task(*, organization_id: int, posting_id: int) -> None:
    """Execute one posting if it is due (a no-op when it was posted or is being posted)."""
    from accounting.models import Posting
    from accounting.services.engine import posting_claim, posting_execute

    with org_scope(organization_id):
        posting = Posting.objects.filter(pk=posting_id).only("ledger_connection_id").first()
        if posting is None:
            return
        claim = posting_claim(
            ledger_connection_id=posting.ledger_connection_id, posting_id=posting_id
        )
        if claim is not None:
            posting_execute(claim=claim)


@shared_task(name="accounting.tasks.posting_drain_task", acks_late=True, ignore_result=True)
def posting_drain_task(*, organization_id: int, ledger_connection_id: int) -> None:
    from accounting.services.engine import has_due_postings, posting_drain

    # Stay well inside the task time limit; a fresh task continues where this one stopped.
    budget = max(30.0, float(settings.CELERY_TASK_SOFT_TIME_LIMIT) / 3)
    with org_scope(organization_id):
        done = posting_drain(ledger_connection_id=ledger_connection_id, time_budget_seconds=budget)
        more = done > 0 and has_due_postings(ledger_connection_id)
    if more:
        posting_drain_task.apply_async(
            kwargs={
                "organization_id": organization_id,
                "ledger_connection_id": ledger_connection_id,
            },
            queue=_queue(),
        )


@shared_task(name="accounting.tasks.posting_after_import_task", acks_late=True, ignore_result=True)
def posting_after_import_task(
    *, organization_id: int, connection_id: int, run_id: int | None
) -> None:
    from accounting.services.engine import posting_after_import

    with org_scope(organization_id):
        posting_after_import(organization_id, connection_id, run_id)


@shared_task(name="accounting.tasks.posting_sweep_task", ignore_result=True)
def posting_sweep_task() -> None:
    """Beat (every minute): resume due retries and postings of dead workers; run schedules."""
    from accounting.services.engine import posting_run_scheduled, posting_sweep

    posting_sweep()
    posting_run_scheduled()
