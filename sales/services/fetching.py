"""Reading one page of a sync run's listing from the source: the request, its retries, and
what the run waits for meanwhile.

- A 429 is the truth about the shared budget: the limiter already knows (the client fed it
  the answer's headers); every worker holds back until the source's reset, then asks again.
  Bounded, like other failures, so a key pair that is throttled for ever ends the run.
- 5xx answers, timeouts and broken bodies are retried with exponential backoff
  (``SALES_SYNC_MAX_ATTEMPTS``); after that the run fails and the next one resumes.
- A page that keeps failing because of one record (for the source's ``unreadable_records``)
  is read around the record (:mod:`sales.services.unreadable`) instead of stopping the
  connection for good.

What the run is waiting for (the rate limit's reset, the next retry) is reported through
``on_wait`` so the progress display can say so.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings

from connections.sources.base import Page, SourceAdapter
from connections.sources.provider import UnreadableRecords
from connections.sources.registry import UnknownSourceProvider, source_provider
from sales.models import SyncPhase
from sales.services import unreadable
from unify.core.exceptions import ProviderRateLimited, ProviderResponseInvalid, ProviderUnavailable
from unify.core.ratelimit import wait_listener

logger = logging.getLogger(__name__)


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


@dataclass(frozen=True, slots=True)
class Wait:
    """What a run waits for: ``kind`` "rate_limit" (``seconds`` until the source's window
    resets) or "retry" (``attempt`` of ``attempts`` failed; next try in ``seconds``)."""

    kind: str
    seconds: float
    attempt: int = 0
    attempts: int = 0


class PageFetcher:
    """Fetches pages of one run's listings through the source adapter."""

    def __init__(
        self,
        *,
        adapter: SourceAdapter,
        run_id: int,
        window_start: datetime,
        window_end: datetime,
        page_size: int,
        renew_lease: Callable[[], None],
        sleep: Callable[[float], None],
        on_wait: Callable[[Wait | None], None] = lambda wait: None,
    ) -> None:
        self.adapter = adapter
        self.run_id = run_id
        self.window_start = window_start
        self.window_end = window_end
        self.page_size = page_size
        self.renew_lease = renew_lease
        self.sleep = sleep
        self.on_wait = on_wait
        self._budget_waited = False
        try:
            provider = source_provider(adapter.key)
        except UnknownSourceProvider:
            provider = None
        # The source's name (for the issues of records it fails on) and how its listing is
        # read around such a record (None: it never fails on one record).
        self.source_name = str(provider.name) if provider is not None else adapter.key
        self.unreadable: UnreadableRecords | None = (
            provider.unreadable_records if provider is not None else None
        )

    def listing(
        self,
        phase: str,
        since: datetime,
        page: int,
        *,
        page_size: int | None = None,
        until: datetime | None = None,
    ) -> Iterator[Page]:
        size = page_size or self.page_size
        until = until or self.window_end
        if phase == SyncPhase.ORDERS:
            return self.adapter.iter_order_pages(
                modified_since=since, modified_until=until, page_size=size, start_page=page
            )
        if phase == SyncPhase.LABELS_CREATED:
            return self.adapter.iter_shipment_pages(
                created_since=since, created_until=until, page_size=size, start_page=page
            )
        return self.adapter.iter_shipment_pages(
            voided_since=self.window_start, voided_until=until, page_size=size, start_page=page
        )

    def fetch(
        self,
        phase: str,
        since: datetime,
        page: int,
        *,
        in_worker_thread: bool = False,
        page_size: int | None = None,
        until: datetime | None = None,
        isolate: bool = True,
        listing_of: Callable[[int], Iterator[Page]] | None = None,
    ) -> Page:
        """One page, retried as the module says. With ``isolate`` False a failure that may be
        one record's is raised at once (the caller is isolating a record).
        ``listing_of(page)``: another listing than the phase's (fulfillment fees), read with
        the same retries and waits."""
        max_attempts = max(1, int(_setting("SALES_SYNC_MAX_ATTEMPTS", 6)))
        base = float(_setting("SALES_SYNC_BACKOFF_SECONDS", 2.0))
        cap = float(_setting("SALES_SYNC_BACKOFF_MAX_SECONDS", 60.0))
        failures = 0
        server_errors = 0
        rate_limited = 0
        while True:
            if not in_worker_thread:
                self.renew_lease()
            listing = (
                listing_of(page)
                if listing_of is not None
                else self.listing(phase, since, page, page_size=page_size, until=until)
            )
            token = wait_listener.set(self._budget_wait)
            try:
                fetched = next(iter(listing))
                if failures or rate_limited or self._budget_waited:
                    self._budget_waited = False
                    self.on_wait(None)
                return fetched
            except StopIteration:
                return Page(items=(), page=page, pages=0, total=0)
            except ProviderRateLimited as exc:
                rate_limited += 1
                if rate_limited > max_attempts * 2:
                    raise
                self.on_wait(Wait("rate_limit", float(exc.retry_after or 0)))
                self._block_limiter(exc.retry_after, in_worker_thread=in_worker_thread)
            except (ProviderUnavailable, ProviderResponseInvalid) as exc:
                on_a_record = unreadable.fails_on_a_record(self.unreadable, exc)
                if not isolate and on_a_record:
                    raise
                failures += 1
                server_errors += int(on_a_record)
                if (
                    isolate
                    and phase == SyncPhase.ORDERS
                    and server_errors >= unreadable.ISOLATE_AFTER_FAILURES
                ):
                    return self._read_around(phase, since, page, in_worker_thread, until, exc)
                if failures >= max_attempts:
                    raise
                pause = min(cap, base * 2 ** (failures - 1)) * random.uniform(0.5, 1.0)
                logger.info(
                    "sync run %s: %s page %s failed (%s), retry %s in %.1f s",
                    self.run_id, phase, page, exc, failures, pause,
                )  # fmt: skip
                self.on_wait(Wait("retry", pause, attempt=failures, attempts=max_attempts))
                if in_worker_thread:
                    time.sleep(pause)
                else:
                    self.sleep(pause)
            finally:
                wait_listener.reset(token)
                close = getattr(listing, "close", None)
                if close is not None:
                    close()

    def _budget_wait(self, seconds: float) -> None:
        self.on_wait(Wait("rate_limit", seconds))
        self._budget_waited = True

    def _read_around(
        self,
        phase: str,
        since: datetime,
        page: int,
        in_worker_thread: bool,
        until: datetime | None,
        failure: Exception,
    ) -> Page:
        logger.warning(
            "sync run %s: %s page %s keeps failing on a record; reading around it",
            self.run_id, phase, page,
        )  # fmt: skip

        def fetch(size: int, number: int) -> Page:
            return self.fetch(
                phase,
                since,
                number,
                in_worker_thread=in_worker_thread,
                page_size=size,
                until=until,
                isolate=False,
            )

        assert self.unreadable is not None
        return unreadable.page_read_around_failures(
            fetch,
            unreadable=self.unreadable,
            source_name=self.source_name,
            page_size=self.page_size,
            page_no=page,
            window_start=since,
            window_end=until or self.window_end,
            date_of=lambda order: order.modify_date,
            failure=failure,
        )

    def _block_limiter(self, seconds: float, *, in_worker_thread: bool = False) -> None:
        from connections.sources.registry import source_provider

        key = getattr(self.adapter, "rate_limit_key", "")
        limiter = source_provider(self.adapter.key).rate_limiter() if key else None
        if limiter is not None:
            # Any limiter on the shared store reaches every worker using this key pair; the
            # key's budget shrinks to what the source let through beside other apps.
            limiter.throttled(key, max(0.1, float(seconds)))
        elif in_worker_thread:
            time.sleep(max(0.1, float(seconds)))
        else:
            self.sleep(max(0.1, float(seconds)))
