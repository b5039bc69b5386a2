"""Orders a source fails on: a page of its listing that fails every time because of one record.
Which failure that is, the smaller page sizes to try and where a record sits in the source are
the source's (``SourceProvider.unreadable_records``, a
:class:`~connections.sources.provider.UnreadableRecords`); the reading around it and its
import issue are here:

1. the failing page is read again as smaller pages covering the same positions; a smaller
   page that fails is split again, down to single records;
2. a single position that still fails (twice) is the record the source fails on. It becomes
   an import issue "<source> fails on this order" with its *window*: the modify dates of its
   readable neighbours in the listing (which is sorted by modify date). Its id is not known:
   the source gives nothing of a record it cannot read;
3. the rest of the page is imported and the listing goes on;
4. every later run reads each open issue's window again, one record per request, before it
   finishes. When every record of the window reads, the order is imported and the issue is
   resolved; until then the run reports it (finished with problems), so the merchant knows an
   order is missing.

An order edited meanwhile leaves the window and comes with the edits (its modify date moves
into the next run's window); reading the old window then succeeds and resolves the issue.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from connections.sources.base import Page, SourceRecordError
from connections.sources.provider import UnreadableRecords
from sales.models import ImportIssue, ImportIssueKind
from unify.core.stored_text import gettext as _

# A page that fails this many times on a record is read around its bad record.
ISOLATE_AFTER_FAILURES = 3
# Attempts at a single record before it counts as one the source fails on.
SINGLE_RECORD_ATTEMPTS = 3
# More bad records than this on one page, or than records read, is the source failing as a
# whole (an outage answering 500 to everything), not a record: the page's failure stands.
MAX_BAD_RECORDS = 3
# At most this many single-record requests per open issue and run.
RETRY_MAX_REQUESTS = 50

Fetch = Callable[[int, int], Page]  # (page size, page number) -> page


def fails_on_a_record(unreadable: UnreadableRecords | None, exc: Exception) -> bool:
    """A failure that may be the source failing on one record of the page (never, for a
    source without ``unreadable_records``)."""
    return unreadable is not None and unreadable.fails_on_a_record(exc)


def reason(source_name: str) -> str:
    return _("%(source)s fails on this order") % {"source": source_name}


@dataclass(frozen=True, slots=True)
class UnreadableAtSource(SourceRecordError):
    """A record the source failed on, between two modify dates of its listing."""

    window_start: datetime | None = None
    window_end: datetime | None = None


def _smaller(unreadable: UnreadableRecords, size: int) -> int:
    return next((s for s in unreadable.shrink_sizes if s < size and size % s == 0), 1)


def _unreadable(
    unreadable: UnreadableRecords, source_name: str, window_start: datetime, window_end: datetime
) -> UnreadableAtSource:
    return UnreadableAtSource(
        kind=ImportIssueKind.ORDER,
        external_ref="",
        reason=reason(source_name),
        raw_text=json.dumps(unreadable.window_where(window_start, window_end)),
        window_start=window_start,
        window_end=window_end,
    )


def page_read_around_failures(
    fetch: Fetch,
    *,
    unreadable: UnreadableRecords,
    source_name: str,
    page_size: int,
    page_no: int,
    window_start: datetime,
    window_end: datetime,
    date_of: Callable[[Any], datetime],
    failure: Exception,
) -> Page:
    """Page ``page_no`` (of ``page_size``) read as smaller pages, each record the source
    (named ``source_name``) fails on turned into an :class:`UnreadableAtSource` error of the
    returned page.

    ``fetch`` raises the failure ``unreadable`` counts as a bad record for a page it cannot
    read and retries every other failure itself. ``window_start``/``window_end`` bound the
    listing. When the source seems to fail as a whole rather than on some records, ``failure``
    (the page's own error) is raised instead."""
    first = (page_no - 1) * page_size
    reads: list[tuple[int, Page]] = []
    bad: list[int] = []
    state: dict[str, Any] = {"total": None, "ended": False}

    def single(offset: int) -> Page | None:
        for _attempt in range(SINGLE_RECORD_ATTEMPTS):
            try:
                return fetch(1, offset + 1)
            except Exception as exc:
                if not unreadable.fails_on_a_record(exc):
                    raise
        return None

    def read(offset: int, size: int) -> None:
        step = _smaller(unreadable, size)
        for sub in range(offset, offset + size, step):
            if state["ended"]:
                return
            if step == 1:
                page = single(sub)
                if page is None:
                    bad.append(sub)
                    continue
            else:
                try:
                    page = fetch(step, sub // step + 1)
                except Exception as exc:
                    if not unreadable.fails_on_a_record(exc):
                        raise
                    read(sub, step)
                    continue
            reads.append((sub, page))
            state["total"] = page.total
            if page.is_last:
                state["ended"] = True

    if page_size == 1:
        page = single(first)
        if page is None:
            bad.append(first)
        else:
            reads.append((first, page))
            state["total"] = page.total
    else:
        read(first, page_size)

    answered = len(reads)
    windows: list[tuple[datetime | None, datetime | None]] = []
    for offset in bad:
        before = [date_of(i) for o, p in reads if o < offset for i in p.items]
        after = [date_of(i) for o, p in reads if o > offset for i in p.items]
        low = max(before) if before else None
        high = min(after) if after else None
        if low is None and offset > 0:
            neighbour = single(offset - 1)
            answered += neighbour is not None
            if neighbour is not None and neighbour.items:
                low = date_of(neighbour.items[0])
        if high is None:
            neighbour = single(offset + 1)
            answered += neighbour is not None
            if neighbour is not None:
                state["total"] = neighbour.total
                if neighbour.items:
                    high = date_of(neighbour.items[0])
        windows.append((low, high))
    records = sum(len(page.items) + len(page.errors) for _offset, page in reads)
    if bad and (not answered or len(bad) > max(MAX_BAD_RECORDS, records)):
        raise failure
    errors = [
        _unreadable(unreadable, source_name, low or window_start, high or window_end)
        for low, high in windows
    ]

    reads.sort(key=lambda read: read[0])
    total = state["total"]
    return Page(
        items=tuple(item for _offset, page in reads for item in page.items),
        page=page_no,
        # Nothing readable told the total (a page holding only bad records): go on to the
        # next page, whose answer will.
        pages=math.ceil(total / page_size) if total is not None else page_no + 1,
        total=total or 0,
        errors=tuple(e for _offset, page in reads for e in page.errors) + tuple(errors),
        skipped_nulls=sum(page.skipped_nulls for _offset, page in reads),
    )


# ---------------------------------------------------------------------------------------------
# Later runs
# ---------------------------------------------------------------------------------------------

WindowFetch = Callable[[datetime, datetime, int], Page]  # (from, until, page number), size 1


@dataclass(slots=True)
class RetryResult:
    resolved: int = 0
    still_failing: int = 0


def _open_issues(organization_id: int, connection_id: int) -> list[ImportIssue]:
    return list(
        ImportIssue.objects.filter(
            organization_id=organization_id,
            connection_id=connection_id,
            retry_from__isnull=False,
            resolved_at__isnull=True,
        ).order_by("pk")
    )


def _read_window(
    fetch: WindowFetch, issue: ImportIssue, unreadable: UnreadableRecords | None
) -> tuple[list[Any], list, bool]:
    """Every record of the issue's window, one per request: (records, errors, any failed)."""
    items: list[Any] = []
    errors: list[SourceRecordError] = []
    failed = False
    pages: int | None = None
    number = 1
    while (pages is None or number <= pages) and number <= RETRY_MAX_REQUESTS:
        try:
            page = fetch(issue.retry_from, issue.retry_until, number)
        except Exception as exc:
            if not fails_on_a_record(unreadable, exc):
                raise
            failed = True
            number += 1
            continue
        pages = page.pages
        items.extend(page.items)
        errors.extend(page.errors)
        number += 1
    if pages is not None and pages > RETRY_MAX_REQUESTS:
        failed = True  # not read to its end this time
    return items, errors, failed


def unreadable_orders_retry(
    *,
    organization_id: int,
    connection_id: int,
    run_id: int,
    unreadable: UnreadableRecords | None,
    fetch: WindowFetch,
    write: Callable[[Sequence[Any], Sequence[SourceRecordError], bool], None],
) -> RetryResult:
    """Read again the window of every open "<source> fails on this order" issue of the
    connection that an earlier run recorded (``unreadable``: the source's rules, see
    :func:`page_read_around_failures`). ``write(records, errors, still_failing)`` stores
    what was read and counts the issue on the run, in the same transaction as the issue's
    update. Returns how many were resolved and how many still fail."""
    result = RetryResult()
    now = timezone.now()
    issues = _open_issues(organization_id, connection_id)
    found_now = [i for i in issues if i.run_id == run_id]
    for issue in issues:
        if issue.run_id == run_id:
            continue
        if any(
            new.retry_from <= issue.retry_until and issue.retry_from <= new.retry_until
            for new in found_now
        ):
            # This run met the same record again and recorded it anew.
            ImportIssue.objects.filter(pk=issue.pk).update(resolved_at=now, updated_at=now)
            continue
        items, errors, failed = _read_window(fetch, issue, unreadable)
        with transaction.atomic():
            write(items, errors, failed)
            if failed:
                result.still_failing += 1
                try:
                    with transaction.atomic():
                        ImportIssue.objects.filter(pk=issue.pk).update(
                            run_id=run_id, attempts=issue.attempts + 1, updated_at=now
                        )
                except IntegrityError:
                    pass  # this run holds the same issue already
            else:
                result.resolved += 1
                ImportIssue.objects.filter(pk=issue.pk).update(
                    resolved_at=now, attempts=issue.attempts + 1, updated_at=now
                )
    return result
