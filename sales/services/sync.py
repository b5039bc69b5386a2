"""Sync runs: which window to import, and importing it page by page so that a run killed at
any moment resumes where it stopped and never writes a record twice.

The state machine of a :class:`~sales.models.SyncRun`::

    queued -> running -> succeeded | partial (records that could not be read) | failed
                 ^  |
                 +--+  lease expired (worker killed) or time slice used up: resumed

- At most one open (queued/running) run per connection (a partial unique constraint).
- The worker executing a run holds its *lease* (token + expiry, renewed with every page).
  A second delivery of the task, or a second worker, cannot claim it while the lease lives;
  when a worker dies, the lease runs out and the fan-out task queues the run again.
- Each page is written in one transaction together with the run's checkpoint (listing,
  cursor, next page) and counters, after checking the lease is still ours.

Listings, in order: orders by ``modifyDate`` (sales-channel mode only), labels by
``createDate``, labels by ``voidDate``. Orders and created labels are paged by *keyset*: the
next request starts at the last date seen (whole seconds) rather than at page n + 1, so an
order edited during the run (which leaves the window) cannot shift another one past us.
Re-reading the boundary second costs nothing: unchanged rows are not written. Voided labels
cannot be sorted by void date and are paged by number (the window end is fixed, so that
listing only grows at positions already read, never loses one).

A failed run does not move the watermark; the next run starts from the same point and,
when its predecessor failed part-way, carries on from that checkpoint.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from connections.models import ConnectionStatus, StoreConnection
from connections.sources.base import SourceAdapter
from sales.models import OPEN_SYNC_STATUSES, SyncKind, SyncRun, SyncStatus
from sales.services import bulk
from sales.services.sync_executor import AdapterFactory, ExecuteResult, _RunExecutor
from sales.services.sync_lease import LeaseLost, SliceDone, _claim
from sales.services.sync_phases import (
    KEYSET_PHASES,
    PHASE_ORDER,
    _initial_start,
    _phases_for,
    _setting,
    _watermark,
    sync_interval_minutes,
)
from unify.core.exceptions import DomainError, ProviderAuthError
from unify.core.stored_text import gettext as _
from unify.tenancy.models import Organization

__all__ = [
    "KEYSET_PHASES",
    "PHASE_ORDER",
    "AdapterFactory",
    "ExecuteResult",
    "LeaseLost",
    "SliceDone",
    "_initial_start",
    "default_adapter_factory",
    "sync_due_connections",
    "sync_interval_minutes",
    "sync_request",
    "sync_run_execute",
    "sync_runs_recover",
]

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Requesting runs
# ---------------------------------------------------------------------------------------------


def _enqueue(run: SyncRun) -> None:
    from sales.tasks import sync_run_task

    kwargs = {
        "organization_id": run.organization_id,
        "connection_id": run.connection_id,
        "run_id": run.pk,
    }
    queue = _setting("SALES_TASK_QUEUE", "") or None

    def send() -> None:
        sync_run_task.apply_async(kwargs=kwargs, queue=queue)

    transaction.on_commit(send)


def sync_request(
    *,
    organization: Organization,
    connection: StoreConnection,
    kind: str = SyncKind.MANUAL,
    requested_by=None,
) -> SyncRun:
    """Queue a sync of ``connection`` and return its run.

    An open run of the connection is returned instead of starting a second one (and queued
    again if its worker is gone). The first run of a connection imports from its start date
    (kind "initial"); later ones from the watermark minus a few minutes of overlap.
    """
    if connection.organization_id != organization.pk:
        raise DomainError("connection of another organization")
    if connection.status != ConnectionStatus.ACTIVE:
        raise DomainError(
            f"connection {connection.pk} is {connection.status}",
            user_message=_("This connection cannot sync until its API keys are updated.")
            if connection.status == ConnectionStatus.NEEDS_CREDENTIALS
            else _("This connection is disconnected."),
        )
    now = timezone.now()
    with transaction.atomic():
        open_run = (
            SyncRun.objects.select_for_update()
            .filter(
                organization_id=organization.pk,
                connection_id=connection.pk,
                status__in=OPEN_SYNC_STATUSES,
            )
            .first()
        )
        if open_run is not None:
            if (open_run.lease_until is not None and open_run.lease_until < now) or (
                open_run.lease_until is None and open_run.updated_at < now - _stale_after()
            ):
                _requeue(open_run, now)
            return open_run
        run = _new_run(organization, connection, kind, requested_by, now)
        try:
            with transaction.atomic():
                run.save()
        except IntegrityError:
            # Another request created the open run a moment ago.
            return SyncRun.objects.get(
                organization_id=organization.pk,
                connection_id=connection.pk,
                status__in=OPEN_SYNC_STATUSES,
            )
        _enqueue(run)
    return run


def _new_run(
    organization: Organization,
    connection: StoreConnection,
    kind: str,
    requested_by,
    now: datetime,
) -> SyncRun:
    watermark = _watermark(connection)
    if watermark is None:
        kind = SyncKind.INITIAL
        start = _initial_start(connection, organization)
    else:
        overlap = timedelta(minutes=int(_setting("SALES_SYNC_OVERLAP_MINUTES", 5)))
        start = watermark - overlap
    phases = _phases_for(connection)
    run = SyncRun(
        organization_id=organization.pk,
        connection_id=connection.pk,
        kind=kind,
        status=SyncStatus.QUEUED,
        window_start=start,
        window_end=max(now, start),
        phase=phases[0],
        requested_by=requested_by if getattr(requested_by, "is_authenticated", False) else None,
    )
    previous = (
        SyncRun.objects.filter(organization_id=organization.pk, connection_id=connection.pk)
        .order_by("-created_at", "-pk")
        .first()
    )
    if (
        previous is not None
        and previous.status == SyncStatus.FAILED
        and previous.window_start == start
        and previous.phase in phases
    ):
        # Carry on where the failed run stopped: everything before its cursor is in. A later
        # window end only adds records after the cursor (keyset listings); the voided-label
        # listing is paged by number and restarts.
        run.resumed_from = previous
        run.phase = previous.phase
        run.cursor = previous.cursor
        run.next_page = previous.next_page if previous.phase in KEYSET_PHASES else 1
    return run


# ---------------------------------------------------------------------------------------------
# Executing runs
# ---------------------------------------------------------------------------------------------


@sensitive_variables()
def default_adapter_factory(connection: StoreConnection) -> SourceAdapter:
    from connections.sources.registry import adapter_for, source_provider

    credentials = connection.credentials
    if credentials is None:
        raise ProviderAuthError(
            f"connection {connection.pk} has no credentials",
            provider=connection.provider,
            connection_id=connection.pk,
        )
    return adapter_for(
        connection.provider,
        credentials.reveal(),
        connection_id=connection.pk,
        rate_limiter=source_provider(connection.provider).rate_limiter(),
    )


def sync_run_execute(
    *,
    run_id: int,
    adapter_factory: AdapterFactory | None = None,
    time_budget_seconds: float | None = None,
) -> ExecuteResult:
    """Run (or resume) one sync run as far as the time budget allows.

    Safe to call any number of times, concurrently too: only the caller holding the lease
    works; the others return at once. ``continue_later`` asks the caller to queue the run
    again (its slice ended with work left).
    """
    lease_seconds = float(_setting("SALES_SYNC_LEASE_SECONDS", 300.0))
    token = uuid.uuid4().hex
    if not _claim(run_id, token, lease_seconds):
        return ExecuteResult(run=SyncRun.objects.filter(pk=run_id).first())
    run = SyncRun.objects.select_related("connection", "organization").get(pk=run_id)
    budget = (
        time_budget_seconds
        if time_budget_seconds is not None
        else float(_setting("SALES_SYNC_TASK_BUDGET_SECONDS", 780.0))
    )
    executor = _RunExecutor(
        run=run,
        token=token,
        lease_seconds=lease_seconds,
        deadline=time.monotonic() + budget,
        adapter_factory=adapter_factory or default_adapter_factory,
    )
    with bulk.id_reserve():
        return executor.execute()


# ---------------------------------------------------------------------------------------------
# Scheduling
# ---------------------------------------------------------------------------------------------


def sync_due_connections(*, now: datetime | None = None) -> list[int]:
    """Beat's fan-out: queue a run for every active, auto-syncing connection that is due and
    has no open run; queue again open runs whose worker is gone. Returns the run ids."""
    now = now or timezone.now()
    queued: list[int] = []
    from unify.tenancy.rls import rls_bypass
    from unify.tenancy.scoping import org_scope

    with rls_bypass("beat-fanout"):  # which organizations are due; each is served in its scope
        due = list(
            StoreConnection.all_orgs.filter(
                status=ConnectionStatus.ACTIVE, auto_sync_enabled=True, credentials__isnull=False
            )
            .filter(Q(next_sync_at__isnull=True) | Q(next_sync_at__lte=now))
            .exclude(sync_runs__status__in=OPEN_SYNC_STATUSES)
            .select_related("organization")
        )

    for connection in due:
        with org_scope(connection.organization_id):
            try:
                run = sync_request(
                    organization=connection.organization,
                    connection=connection,
                    kind=SyncKind.INCREMENTAL,
                )
            except DomainError:
                continue
            queued.append(run.pk)
    queued.extend(sync_runs_recover(now=now))
    return queued


def _stale_after() -> timedelta:
    return timedelta(seconds=min(120.0, float(_setting("SALES_SYNC_LEASE_SECONDS", 300.0))))


def _requeue(run: SyncRun, now: datetime) -> None:
    # Marked as "queued again just now", so the next fan-out leaves it alone for a while.
    SyncRun.all_orgs.filter(pk=run.pk).update(lease_until=None, updated_at=now)
    _enqueue(run)


def sync_runs_recover(*, now: datetime | None = None) -> list[int]:
    """Queue again open runs nobody works on: a killed worker's expired lease, a continuation
    or a queued run whose task message was lost."""
    from unify.tenancy.rls import rls_bypass

    now = now or timezone.now()
    runs = SyncRun.all_orgs.filter(status__in=OPEN_SYNC_STATUSES).filter(
        Q(lease_until__lt=now) | Q(lease_until__isnull=True, updated_at__lt=now - _stale_after())
    )
    requeued = []
    # Across organizations: only the runs' leases are touched, the work is queued in scope.
    with rls_bypass("beat-fanout"), transaction.atomic():
        for run in runs.select_for_update(skip_locked=True):
            _requeue(run, now)
            requeued.append(run.pk)
    return requeued
