"""Writing a sync run's pages, each with the run's checkpoint in one transaction."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from connections.models import ConnectionMode
from connections.sources.base import Page
from sales.models import SyncPhase, SyncRun
from sales.services import bulk, upsert
from sales.services.sync_phases import PHASE_ORDER
from sales.services.sync_statistics import _refresh_statistics

logger = logging.getLogger(__name__)


class _PageWriter:
    """The writing part of ``_RunExecutor`` (``sales.services.sync_executor``)."""

    def _page(self, phases: list[str]) -> None:
        phase = self.run.phase
        since = self.run.cursor or self.run.window_start
        page_no = self.run.next_page
        page, premapped = self._get_page((phase, since, page_no))
        next_phase, next_cursor, next_page = self._next_position(
            (phase, since, page_no), page, phases
        )
        self._fetch_ahead(((phase, since, page_no), page), phases)
        now = timezone.now()
        # New rows go in with a plain COPY. The first attempt takes no savepoint around it
        # (two round trips a page); in the rare case one of them was written meanwhile, the
        # page is rolled back and written again the careful way, which merges such rows.
        for careful in (False, True):
            try:
                with transaction.atomic(), bulk.optimistic_copy(not careful):
                    run, result, boundary_refs = self._write_page(
                        phase, page, premapped, (next_phase, next_cursor, next_page), phases, now
                    )
                break
            except IntegrityError:
                if careful:
                    raise
                logger.info("sync run %s: a row taken for new exists, page written again",
                            self.run.pk)  # fmt: skip
        self._boundary_refs = boundary_refs
        self.run = run
        self._lease_renewed_at = time.monotonic()
        table = "sales_order" if phase == SyncPhase.ORDERS else "sales_shippingcost"
        # Also when a listing ends: the next one looks up what this one wrote.
        if self._statistics[table].due(result.created, listing_ended=next_phase != phase):
            _refresh_statistics(table)

    def _write_page(
        self,
        phase: str,
        page: Page,
        premapped: upsert.MappedPage,
        position: tuple[str, datetime | None, int],
        phases: list[str],
        now: datetime,
    ) -> tuple[SyncRun, upsert.PageResult | upsert.CostPageResult, set[str]]:
        """Write one page and the run's checkpoint (inside the caller's transaction)."""
        next_phase, next_cursor, next_page = position
        boundary_refs: set[str] = set()
        run = self._locked_run()
        if phase == SyncPhase.ORDERS:
            result = upsert.order_upsert_page(
                organization_id=run.organization_id,
                connection_id=run.connection_id,
                premapped=premapped,
                errors=page.errors,
                order_filter=self.order_filter,
                currency=self.connection.currency or "USD",
                run_id=run.pk,
                synced_at=now,
                origin=self.connection.provider,
            )
            run.orders_created += result.created
            run.orders_updated += result.updated
            reread = sum(1 for o in page.items if o.external_id in self._boundary_refs)
            run.orders_unchanged += max(0, result.unchanged - reread)
            boundary_refs = (
                {o.external_id for o in page.items if o.modify_date >= next_cursor}
                if next_phase == phase and next_cursor is not None
                else set()
            )
            run.orders_skipped += result.skipped
            run.issues_count += result.issues
        else:
            result = upsert.shipping_cost_upsert_page(
                organization_id=run.organization_id,
                connection_id=run.connection_id,
                premapped=premapped,
                errors=page.errors,
                match_order_files=self.connection.mode == ConnectionMode.SHIPPING_EXPENSE,
                run_id=run.pk,
                synced_at=now,
            )
            run.costs_created += result.created
            run.costs_updated += result.updated
            run.issues_count += result.issues
        run.phase, run.cursor, run.next_page = next_phase, next_cursor, next_page
        run.records_read += len(page.items) + len(page.errors)
        run.waiting_for, run.waiting_until = "", None
        if self.waits is not None:
            self.waits.page_written()
        run.pages_done += 1
        run.pages_total = max(
            run.pages_total, run.pages_done + self._pages_left_estimate(phase, page, phases)
        )
        run.lease_until = now + timedelta(seconds=self.lease_seconds)
        run.save()
        return run, result, boundary_refs

    @staticmethod
    def _pages_left_estimate(phase: str, page: Page, phases: list[str]) -> int:
        """For the progress bar: what is left of this listing, about as many order pages as
        label pages when orders come next, and the voided-label listing."""
        remaining_here = max(0, page.pages - page.page)
        later = [p for p in phases if PHASE_ORDER.index(p) > PHASE_ORDER.index(phase)]
        future = 0
        if SyncPhase.ORDERS in later:
            future += remaining_here + 1 if phase == SyncPhase.LABELS_CREATED else 1
        if SyncPhase.LABELS_VOIDED in later:
            future += 1
        return remaining_here + future
