"""Executing one sync run: its listings in order, page by page, then the retries of unreadable
orders and the fulfillment fees (see ``sales.services.sync`` for the state machine).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from connections.models import ConnectionStatus, SourceStore, StoreConnection
from connections.sources.base import Page, SourceAdapter
from sales.models import SyncPhase, SyncRun
from sales.services import fetching, progress, unreadable, upsert
from sales.services.sync_endings import _RunEndings
from sales.services.sync_lease import LeaseLost, SliceDone, _RunLease
from sales.services.sync_pages import _PageWriter
from sales.services.sync_phases import PHASE_ORDER, _phases_for, _setting
from sales.services.sync_prefetch import _PageFetchAhead
from sales.services.sync_statistics import _ANALYZED, _StatisticsSchedule
from sales.services.upsert import OrderFilter, StoreInfo
from unify.core.exceptions import (
    DecryptionError,
    IntegrationError,
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from unify.core.stored_text import gettext as _
from unify.tenancy.models import Organization

logger = logging.getLogger(__name__)


@dataclass
class ExecuteResult:
    run: SyncRun | None
    continue_later: bool = False


AdapterFactory = Callable[[StoreConnection], SourceAdapter]


class _RunExecutor(_RunEndings, _PageWriter, _PageFetchAhead, _RunLease):
    """One slice of a sync run: a lease (``sync_lease``), pages fetched ahead
    (``sync_prefetch``) and written (``sync_pages``), and its ending (``sync_endings``)."""

    def __init__(
        self,
        *,
        run: SyncRun,
        token: str,
        lease_seconds: float,
        deadline: float,
        adapter_factory: AdapterFactory,
    ) -> None:
        self.run = run
        self.connection: StoreConnection = run.connection
        self.organization: Organization = run.organization
        self.token = token
        self.lease_seconds = lease_seconds
        self.deadline = deadline
        self.adapter_factory = adapter_factory
        self.adapter: SourceAdapter | None = None
        self.fetcher: fetching.PageFetcher | None = None
        self.waits: progress.WaitReporter | None = None
        self._lease_renewed_at = time.monotonic()
        self.page_size = int(_setting("SALES_SYNC_PAGE_SIZE", 500))
        # The next pages are downloaded and mapped while this one is written, so that the
        # provider's and the database's waiting overlap with our own work. One thread (it
        # never touches the database) follows the listing on its own, page after page, up to
        # SALES_SYNC_PREFETCH_PAGES ahead: keyset paging makes each page's position depend
        # only on the page before it, not on what was written.
        self._prefetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-prefetch")
        self._ahead: dict[tuple, Future] = {}
        self._ahead_lock = threading.Lock()
        # The last page fetched ahead whose successor is not queued yet (the queue was full).
        self._ahead_tail: tuple[tuple, Page] | None = None
        self._ahead_depth = max(1, int(_setting("SALES_SYNC_PREFETCH_PAGES", 3)))
        self._ahead_generation = 0  # bumped when the pages ahead are dropped
        self._statistics = {table: _StatisticsSchedule() for table in _ANALYZED}
        # Orders of the last page read again by the next one (keyset paging restarts at the
        # boundary second): not "unchanged" orders, just seen twice.
        self._boundary_refs: set[str] = set()

    # -- the run ------------------------------------------------------------------------------

    def execute(self) -> ExecuteResult:
        try:
            return self._execute()
        finally:
            # A page still being fetched ahead is simply dropped: nothing of it was written.
            self._prefetcher.shutdown(wait=False, cancel_futures=True)

    def _execute(self) -> ExecuteResult:
        try:
            if self.connection.status != ConnectionStatus.ACTIVE:
                return ExecuteResult(
                    run=self._fail(
                        _("The connection is not active (%(status)s); the sync was stopped.")
                        % {"status": self.connection.get_status_display()},
                        detail=f"connection status {self.connection.status}",
                        retry=False,
                    )
                )
            self.adapter = self.adapter_factory(self.connection)
            self.waits = progress.WaitReporter(self.run.pk)
            self.fetcher = fetching.PageFetcher(
                adapter=self.adapter,
                run_id=self.run.pk,
                window_start=self.run.window_start,
                window_end=self.run.window_end,
                page_size=self.page_size,
                renew_lease=self.renew_lease,
                sleep=self._sleep,
                on_wait=self.waits.report,
            )
            self.order_filter = self._order_filter()
            phases = _phases_for(self.connection)
            while self.run.phase != SyncPhase.DONE:
                if self.run.phase not in phases:
                    self._advance_phase(phases)
                    continue
                self._page(phases)
                if self.run.phase != SyncPhase.DONE and time.monotonic() > self.deadline:
                    raise SliceDone
            if SyncPhase.ORDERS in phases:
                self._retry_unreadable()
                self._import_fees()
            return ExecuteResult(run=self._succeed())
        except SliceDone:
            self._release()
            return ExecuteResult(run=self.run, continue_later=True)
        except LeaseLost:
            logger.warning("sync run %s: lease lost, another worker continues", self.run.pk)
            return ExecuteResult(run=None)
        except ProviderAuthError as exc:
            return ExecuteResult(run=self._auth_failed(exc))
        except DecryptionError as exc:
            return ExecuteResult(
                run=self._fail(
                    _("The stored API keys could not be read. Please enter them again."),
                    detail=str(exc),
                    retry=False,
                )
            )
        except (ProviderUnavailable, ProviderResponseInvalid, ProviderRateLimited) as exc:
            return ExecuteResult(
                run=self._fail(
                    _(
                        "%(source)s did not answer properly after several attempts. The "
                        "orders imported so far are kept; the next sync continues from here."
                    )
                    % {"source": self._source_name()},
                    detail=str(exc),
                    retry=True,
                )
            )
        except (ProviderRejected, IntegrationError) as exc:
            return ExecuteResult(
                run=self._fail(
                    _("%(source)s refused a request of the import: %(reason)s")
                    % {"source": self._source_name(), "reason": exc.user_message},
                    detail=str(exc),
                    retry=True,
                )
            )
        except Exception as exc:
            logger.exception("sync run %s failed", self.run.pk)
            return ExecuteResult(
                run=self._fail(
                    _(
                        "The import stopped because of an error on our side. Our team has "
                        "been notified; the next sync continues from here."
                    ),
                    detail=f"{exc.__class__.__name__}: {exc}"[:2000],
                    retry=True,
                )
            )

    def _retry_unreadable(self) -> None:
        """Read again the windows of the orders the source failed on in earlier runs."""
        assert self.fetcher is not None
        fetcher = self.fetcher

        def fetch(since: datetime, until: datetime, number: int) -> Page:
            return fetcher.fetch(
                SyncPhase.ORDERS, since, number, page_size=1, until=until, isolate=False
            )

        def write(orders, errors, still_failing: bool) -> None:
            run = self._locked_run()
            result = upsert.order_upsert_page(
                organization_id=run.organization_id,
                connection_id=run.connection_id,
                orders=orders,
                errors=errors,
                order_filter=self.order_filter,
                currency=self.connection.currency or "USD",
                run_id=run.pk,
                synced_at=timezone.now(),
                origin=self.connection.provider,
            )
            run.orders_created += result.created
            run.orders_updated += result.updated
            run.issues_count += result.issues + int(still_failing)
            run.save()
            self.run = run

        unreadable.unreadable_orders_retry(
            organization_id=self.run.organization_id,
            connection_id=self.run.connection_id,
            run_id=self.run.pk,
            unreadable=fetcher.unreadable,
            fetch=fetch,
            write=write,
        )

    def _import_fees(self) -> None:
        """The window's fulfillment fees (``sales.services.fees``): read whole at the end of
        each run; a run cut short before them reads them on its next slice."""
        from sales.services import fees

        self.renew_lease(force=True)
        fees.fulfillment_fees_import(
            adapter=self.adapter,
            organization_id=self.run.organization_id,
            connection_id=self.run.connection_id,
            window_start=self.run.window_start,
            window_end=self.run.window_end,
            changed_since=self.run.started_at or self.run.created_at,
            fetch_page=lambda listing_of, number: self.fetcher.fetch(
                "fulfillments", self.run.window_start, number, listing_of=listing_of
            ),
        )
        self.renew_lease(force=True)

    def _order_filter(self) -> OrderFilter:
        stores = {
            str(external_id): StoreInfo(pk=pk, name=name, included=included)
            for pk, external_id, name, included in SourceStore.objects.filter(
                organization_id=self.organization.pk, connection_id=self.connection.pk
            ).values_list("pk", "external_id", "name", "included")
        }
        statuses = frozenset(s for s in (self.connection.order_statuses or []) if s)
        return OrderFilter(statuses=statuses, stores=stores)

    def _advance_phase(self, phases: list[str]) -> None:
        """Move the checkpoint to the next listing (committed, so a resume skips the last)."""
        with transaction.atomic():
            run = self._locked_run()
            order = [p for p in PHASE_ORDER if p in phases]
            later = [p for p in order if PHASE_ORDER.index(p) > PHASE_ORDER.index(run.phase)]
            run.phase = later[0] if later else SyncPhase.DONE
            run.cursor = None
            run.next_page = 1
            run.save(update_fields=["phase", "cursor", "next_page", "updated_at"])
            self.run = run
