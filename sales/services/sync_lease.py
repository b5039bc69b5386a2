"""The lease a worker holds on the sync run it executes: claimed once, renewed with every
page, checked before every write.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.db.models import F, Q
from django.utils import timezone

from sales.models import OPEN_SYNC_STATUSES, SyncRun, SyncStatus


class LeaseLost(Exception):
    """Another worker owns the run now (ours expired); stop without touching it."""


class SliceDone(Exception):
    """The task's time slice is used up; the run continues in a new task."""


def _claim(run_id: int, token: str, lease_seconds: float) -> bool:
    now = timezone.now()
    claimed = SyncRun.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now),
        pk=run_id,
        status__in=OPEN_SYNC_STATUSES,
    ).update(
        lease_token=token,
        lease_until=now + timedelta(seconds=lease_seconds),
        status=SyncStatus.RUNNING,
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    if claimed:
        SyncRun.objects.filter(pk=run_id, started_at__isnull=True).update(started_at=now)
    return bool(claimed)


class _RunLease:
    """The lease part of ``_RunExecutor`` (``sales.services.sync_executor``)."""

    run: SyncRun
    token: str
    lease_seconds: float
    _lease_renewed_at: float

    def renew_lease(self, *, force: bool = False) -> None:
        now_mono = time.monotonic()
        if not force and now_mono - self._lease_renewed_at < self.lease_seconds / 4:
            return
        now = timezone.now()
        renewed = SyncRun.objects.filter(
            pk=self.run.pk, lease_token=self.token, status=SyncStatus.RUNNING
        ).update(lease_until=now + timedelta(seconds=self.lease_seconds), updated_at=now)
        if not renewed:
            raise LeaseLost(self.run.pk)
        self._lease_renewed_at = now_mono

    def _locked_run(self) -> SyncRun:
        run = SyncRun.objects.select_for_update().get(pk=self.run.pk)
        if run.lease_token != self.token or run.status != SyncStatus.RUNNING:
            raise LeaseLost(self.run.pk)
        return run
