"""Fetching a sync run's pages: the listing followed ahead of the writes in one thread."""

from __future__ import annotations

import contextlib
import contextvars
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from typing import Any

from django.utils import timezone

from connections.sources.base import Page
from sales.models import SyncPhase
from sales.services import upsert
from sales.services.sync_phases import KEYSET_PHASES, PHASE_ORDER


class _PageFetchAhead:
    """The fetching part of ``_RunExecutor`` (``sales.services.sync_executor``)."""

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
                origin=self.connection.provider,
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
