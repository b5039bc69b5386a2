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

import contextlib
import contextvars
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from connections.models import ConnectionMode, ConnectionStatus, SourceStore, StoreConnection
from connections.sources.base import Page, SourceAdapter
from sales.models import (
    OPEN_SYNC_STATUSES,
    SyncKind,
    SyncPhase,
    SyncRun,
    SyncStatus,
)
from sales.services import bulk, fetching, matching, progress, unreadable, upsert
from sales.services.upsert import OrderFilter, StoreInfo
from unify.core.exceptions import (
    DecryptionError,
    DomainError,
    IntegrationError,
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from unify.core.stored_text import gettext as _
from unify.core.stored_text import ngettext, stored
from unify.notifications import events as notification_events
from unify.tenancy.models import Organization

logger = logging.getLogger(__name__)

KEYSET_PHASES = (SyncPhase.ORDERS, SyncPhase.LABELS_CREATED)
# Labels first: an order written after its labels is written once, with its label totals,
# instead of once for itself and again for each page of labels that names it.
PHASE_ORDER = (SyncPhase.LABELS_CREATED, SyncPhase.LABELS_VOIDED, SyncPhase.ORDERS)


# A first import of a large account grows the tables faster than autovacuum re-reads their
# statistics; with stale numbers PostgreSQL takes the new connection for an empty one and
# looks orders up by scanning all of its rows (a date index) instead of by source id (the
# unique index): every page would cost more than the last. Each table's statistics are
# refreshed after this many of its new rows, then after twice as many each time (plans
# change with the table's order of magnitude, not with every 10,000 rows), and when a listing
# that wrote to it ends. The schedule is kept per table: the labels listed first must not
# put off the orders table's first refresh (its look-ups would then scan for 80,000 rows).
ANALYZE_EVERY_ROWS = 10_000

# What each listing writes, and the columns its look-ups filter on (only those: the source
# records, several KB of JSON a row, would otherwise be read back and decompressed for
# statistics nobody uses; lines are only replaced by order id).
_ANALYZED = {
    "sales_order": "sales_order (organization_id, connection_id, external_id, store_name)",
    "sales_shippingcost": (
        "sales_shippingcost (organization_id, connection_id, external_id, order_external_id, "
        "order_id)"
    ),
}


def _refresh_statistics(table: str) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with transaction.atomic(), connection.cursor() as cursor:
        # A small sample is enough to tell the planner the connection is no longer empty;
        # autovacuum's own ANALYZE later reads the full sample.
        cursor.execute("SET LOCAL default_statistics_target = 10")
        cursor.execute(f"ANALYZE {_ANALYZED[table]}")


@dataclass
class _StatisticsSchedule:
    """When one table's statistics are refreshed next (see ``ANALYZE_EVERY_ROWS``)."""

    rows_since: int = 0
    after: int = 0

    def due(self, created: int, *, listing_ended: bool) -> bool:
        self.rows_since += created
        if self.rows_since >= (self.after or ANALYZE_EVERY_ROWS):
            self.after = 2 * (self.after or ANALYZE_EVERY_ROWS)
        elif not listing_ended or self.rows_since < ANALYZE_EVERY_ROWS // 2:
            return False
        self.rows_since = 0
        return True


class LeaseLost(Exception):
    """Another worker owns the run now (ours expired); stop without touching it."""


class SliceDone(Exception):
    """The task's time slice is used up; the run continues in a new task."""


# ---------------------------------------------------------------------------------------------
# Settings (read at call time)
# ---------------------------------------------------------------------------------------------


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def sync_interval_minutes(connection: StoreConnection, organization: Organization) -> int:
    """The connection's auto-sync interval, never below what the plan allows."""
    return max(
        int(connection.sync_interval_minutes or 0),
        int(organization.plan_rules.min_sync_interval_minutes),
    )


def _phases_for(connection: StoreConnection) -> list[str]:
    if connection.mode == ConnectionMode.SHIPPING_EXPENSE:
        return [SyncPhase.LABELS_CREATED, SyncPhase.LABELS_VOIDED]
    if not connection.pull_label_costs:
        return [SyncPhase.ORDERS]
    return list(PHASE_ORDER)


def _watermark(connection: StoreConnection) -> datetime | None:
    if connection.mode == ConnectionMode.SHIPPING_EXPENSE:
        return connection.shipments_watermark
    return connection.orders_watermark


def _initial_start(connection: StoreConnection, organization: Organization) -> datetime:
    """Midnight of the connection's start date in the organization's time zone."""
    start = datetime.combine(connection.import_start_date, dt_time(), tzinfo=organization.tzinfo)
    return start.astimezone(UTC)


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


@dataclass
class ExecuteResult:
    run: SyncRun | None
    continue_later: bool = False


AdapterFactory = Callable[[StoreConnection], SourceAdapter]


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


class _RunExecutor:
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

    # -- lease --------------------------------------------------------------------------------

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
                        "ShipStation did not answer properly after several attempts. The "
                        "orders imported so far are kept; the next sync continues from here."
                    ),
                    detail=str(exc),
                    retry=True,
                )
            )
        except (ProviderRejected, IntegrationError) as exc:
            return ExecuteResult(
                run=self._fail(
                    _("ShipStation refused a request of the import: %(reason)s")
                    % {"reason": exc.user_message},
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
        """Read again the windows of the orders ShipStation failed on in earlier runs."""
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

    # -- one page -----------------------------------------------------------------------------

    def _fetch(
        self, phase: str, since: datetime, page: int, *, in_worker_thread=False
    ) -> tuple[Page, upsert.MappedPage]:
        """A page and its rows: mapping happens here too, in whichever thread fetched."""
        assert self.fetcher is not None
        fetched = self.fetcher.fetch(phase, since, page, in_worker_thread=in_worker_thread)
        synced_at = timezone.now()
        if phase == SyncPhase.ORDERS:
            return fetched, upsert.orders_map(
                organization_id=self.run.organization_id,
                connection_id=self.run.connection_id,
                orders=fetched.items,
                order_filter=self.order_filter,
                currency=self.connection.currency or "USD",
                synced_at=synced_at,
            )
        return fetched, upsert.shipments_map(
            organization_id=self.run.organization_id,
            connection_id=self.run.connection_id,
            shipments=[s for s in fetched.items if self.order_filter.admits_store(s.store_id)],
            synced_at=synced_at,
        )

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 1.0))
            self.renew_lease()

    def _next_position(
        self, position: tuple[str, datetime, int], page: Page, phases: list[str]
    ) -> tuple[str, datetime | None, int]:
        """Where the listing goes on after ``page`` (phase, cursor, page number)."""
        phase, since, page_no = position
        if page.pages == 0 or page.page >= page.pages:
            later = [p for p in phases if PHASE_ORDER.index(p) > PHASE_ORDER.index(phase)]
            return (later[0] if later else SyncPhase.DONE), None, 1
        cursor = None if since == self.run.window_start else since
        if phase in KEYSET_PHASES:
            if phase == SyncPhase.ORDERS:
                last_seen = max((o.modify_date for o in page.items), default=None)
            else:
                last_seen = max((s.create_date for s in page.items), default=None)
            if last_seen is not None:
                boundary = last_seen.replace(microsecond=0)
                if boundary > since.replace(microsecond=0):
                    return phase, boundary, 1
            # A whole page within one second (or nothing readable): step by page number.
        return phase, cursor, page_no + 1

    def _get_page(self, position: tuple[str, datetime, int]) -> tuple[Page, upsert.MappedPage]:
        with self._ahead_lock:
            future = self._ahead.pop(position, None)
            if future is None:
                # Not the listing fetched ahead (a resumed or restarted position): drop it.
                stale, self._ahead, self._ahead_tail = list(self._ahead.values()), {}, None
                self._ahead_generation += 1
        if future is not None:
            return self._await(future)
        for ahead in stale:
            if not ahead.cancel():
                # It is running: let it finish first, so two requests never share the session.
                with contextlib.suppress(Exception):
                    self._await(ahead)
        return self._fetch(*position)

    def _await(self, future: Future) -> Any:
        """The prefetch thread's result, keeping the lease and the progress display fresh
        meanwhile (a wait it meets shows within a quarter of a second)."""
        while True:
            try:
                return future.result(timeout=0.25)
            except FutureTimeout:
                self.renew_lease()
                if self.waits is not None:
                    self.waits.publish()

    def _key(self, position: tuple[str, datetime | None, int]) -> tuple[str, datetime, int]:
        phase, cursor, page_no = position
        return phase, cursor or self.run.window_start, page_no

    def _fetch_ahead(self, after: tuple[tuple, Page] | None, phases: list[str]) -> None:
        """Queue the page that follows ``after`` (a position and its page), or the one that
        follows the last page fetched ahead, while fewer than the depth are waiting."""
        with self._ahead_lock:
            if after is not None and not self._ahead and self._ahead_tail is None:
                self._ahead_tail = after
            if self._ahead_tail is None or len(self._ahead) >= self._ahead_depth:
                return
            key, page = self._ahead_tail
            phase, since, page_no = self._key(self._next_position(key, page, phases))
            if phase == SyncPhase.DONE or phase not in phases or time.monotonic() > self.deadline:
                self._ahead_tail = None
                return
            nxt = (phase, since, page_no)
            if nxt in self._ahead:
                return
            self._ahead_tail = None
            try:
                # In the run's context: any read the mapping makes is in its org scope
                # (row-level security) like the writer's.
                self._ahead[nxt] = self._prefetcher.submit(
                    contextvars.copy_context().run,
                    self._fetch_and_follow,
                    nxt,
                    phases,
                    self._ahead_generation,
                )
            except RuntimeError:  # the run has ended (the prefetcher is shut down)
                return

    def _fetch_and_follow(
        self, key: tuple, phases: list[str], generation: int
    ) -> tuple[Page, upsert.MappedPage]:
        """In the prefetch thread: fetch and map a page, then queue the one after it (unless
        the pages ahead were dropped meanwhile)."""
        fetched = self._fetch(*key, in_worker_thread=True)
        with self._ahead_lock:
            if generation != self._ahead_generation:
                return fetched
            self._ahead_tail = (key, fetched[0])
        self._fetch_ahead(None, phases)
        return fetched

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

    # -- endings ------------------------------------------------------------------------------

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
                    "ShipStation rejected the API keys (they may have expired). Enter new keys "
                    "on the connection page; the import continues from here."
                ),
                detail=str(exc),
                retry=False,
                notify=False,
            )


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
