"""How a sync run ends: released for the next slice, succeeded (watermarks moved) or failed."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from connections.models import ConnectionMode, StoreConnection
from sales.models import SyncRun, SyncStatus
from sales.services import matching
from sales.services.sync_lease import LeaseLost
from sales.services.sync_phases import sync_interval_minutes
from unify.core.exceptions import ProviderAuthError
from unify.core.stored_text import gettext as _
from unify.core.stored_text import ngettext, stored
from unify.notifications import events as notification_events

logger = logging.getLogger(__name__)


class _RunEndings:
    """The endings of ``_RunExecutor`` (``sales.services.sync_executor``)."""

    def _source_name(self) -> str:
        """The connection's source as people know it (its provider's name)."""
        from connections.sources.registry import UnknownSourceProvider, source_provider

        try:
            return str(source_provider(self.connection.provider).name)
        except UnknownSourceProvider:
            return self.connection.provider

    def _release(self) -> None:
        with transaction.atomic():
            run = self._locked_run()
            run.lease_token = ""
            run.lease_until = None
            run.save(update_fields=["lease_token", "lease_until", "updated_at"])
            self.run = run

    def _succeed(self) -> SyncRun:
        now = timezone.now()
        with transaction.atomic():
            run = self._locked_run()
            run.status = SyncStatus.PARTIAL if run.issues_count else SyncStatus.SUCCEEDED
            run.finished_at = now
            run.pages_total = run.pages_done
            run.error = (
                ngettext(
                    "%(count)s record could not be read; see the import issues.",
                    "%(count)s records could not be read; see the import issues.",
                    run.issues_count,
                )
                % {"count": run.issues_count}
                if run.issues_count
                else ""
            )
            run.lease_token = ""
            run.lease_until = None
            run.save()
            interval = sync_interval_minutes(self.connection, self.organization)
            changes: dict[str, Any] = {
                "last_sync_at": now,
                "next_sync_at": now + timedelta(minutes=interval),
                "shipments_watermark": run.window_end,
            }
            if self.connection.mode != ConnectionMode.SHIPPING_EXPENSE:
                changes["orders_watermark"] = run.window_end
            else:
                # Labels that did not change on this run may have an order uploaded since.
                matching.shipping_costs_match_waiting(
                    organization_id=run.organization_id, connection_id=self.connection.pk
                )
            StoreConnection.objects.filter(pk=self.connection.pk).update(**changes)
            self.run = run
            first = (
                not SyncRun.objects.filter(
                    connection_id=self.connection.pk,
                    status__in=(SyncStatus.SUCCEEDED, SyncStatus.PARTIAL),
                )
                .exclude(pk=run.pk)
                .exists()
            )
            if first:
                notification_events.first_import_finished(run, self.connection)
            # Accounting posts what the import brought, when its settings say so (h7).
            from accounting.tasks import queue_posting_after_import

            ids = (run.organization_id, self.connection.pk, run.pk)
            transaction.on_commit(lambda: queue_posting_after_import(*ids))
        return run

    def _fail(
        self, message: str, *, detail: str, retry: bool, notify: bool = True
    ) -> SyncRun | None:
        now = timezone.now()
        try:
            with transaction.atomic():
                run = self._locked_run()
                run.status = SyncStatus.FAILED
                run.finished_at = now
                run.error = stored(message)
                run.error_detail = detail[:4000]
                run.lease_token = ""
                run.lease_until = None
                run.save()
                if retry:
                    interval = sync_interval_minutes(self.connection, self.organization)
                    StoreConnection.objects.filter(pk=self.connection.pk).update(
                        next_sync_at=now + timedelta(minutes=min(interval, 30))
                    )
                self.run = run
        except LeaseLost:
            return None
        logger.warning("sync run %s failed: %s", run.pk, detail[:300])
        if notify:  # the members hear of it (keys that expired have their own notification)
            notification_events.sync_run_failed(run, self.connection)
        return run

    def _auth_failed(self, exc: ProviderAuthError) -> SyncRun | None:
        from sales.services.notify import connection_needs_credentials

        # One transaction: whoever sees the run failed also sees the connection flagged.
        with transaction.atomic():
            connection_needs_credentials(connection=self.connection, reason=str(exc))
            return self._fail(
                _(
                    "%(source)s rejected the API keys (they may have expired). Enter new keys "
                    "on the connection page; the import continues from here."
                )
                % {"source": self._source_name()},
                detail=str(exc),
                retry=False,
                notify=False,
            )
