"""Daily summaries: one balanced journal per store and day, posted only for closed days and
corrected in place when a late change hits a day already summarised.

- **Closed days only.** A day is closed once it has ended in the organization's time zone
  plus the import's overlap (``SALES_SYNC_OVERLAP_MINUTES``): an incremental import reads
  again from its watermark minus that overlap, so until then an order of that day may still
  arrive. Until then the day's summary posting waits (``pending``, due when the day closes)
  with the reason "Waiting for the day to end"; the beat's sweep sends it when it is due. A
  posting claimed early anyway (a retry, a reopened one) goes back to waiting unsent.
- **Late changes correct, never duplicate.** An order of a summarised day edited, cancelled,
  merged away, or new on that day changes the day's content hash: the posted summary is
  flagged "changed after posting". When the ledger posts automatically (after each import, on
  a schedule) it is queued at once as an update of the same ledger document (the ledger's
  adapter updates the posted journal in place);
  by hand, "Update selected in the ledger" does the same. The posting row is unique per
  (connection, store, day), so a second summary for a day is never created.
- **A day left empty** (its only orders cancelled or merged away) has its journal taken out
  of the ledger through the removal path; orders arriving for it later post it afresh.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format

from accounting.ledgers.registry import get_provider
from accounting.models import (
    LedgerConnection,
    Posting,
    PostingKind,
    PostingSettings,
    PostingState,
    PostingTrigger,
)
from accounting.services.documents import STORE_NAME_IN_KEY, order_day, summary_store_key
from sales.models import Order, OrderLine
from sales.models import PostingStatus as OrderPostingStatus
from unify.core.stored_text import gettext as _
from unify.tenancy.models import Organization


def day_start(day: date, tz) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def sync_overlap() -> timedelta:
    """How far back an incremental import reads again (``sales.services.sync``)."""
    return timedelta(minutes=int(getattr(settings, "SALES_SYNC_OVERLAP_MINUTES", 5)))


def day_closes_at(day: date, tz) -> datetime:
    """When a day's summary may be posted: the day's end in ``tz`` plus the sync overlap."""
    return day_start(day + timedelta(days=1), tz) + sync_overlap()


def waiting_reason(day: date, tz) -> str:
    closes = timezone.localtime(day_closes_at(day, tz), tz)
    return _(
        "Waiting for the day to end: the summary of %(day)s is posted after %(time)s "
        "(the end of the day in the organization's time zone plus the import's overlap of "
        "%(minutes)s minutes), so orders imported late still go into it."
    ) % {
        "day": date_format(day, "SHORT_DATE_FORMAT"),
        "time": date_format(closes, "SHORT_DATETIME_FORMAT"),
        "minutes": int(sync_overlap().total_seconds() // 60),
    }


class DayStillOpen(Exception):
    """A summary of a day that has not closed yet: the posting waits until ``until``."""

    def __init__(self, until: datetime, reason: str) -> None:
        super().__init__(reason)
        self.until = until
        self.reason = reason


def check_day_closed(posting: Posting, tz, now: datetime | None = None) -> None:
    """Raise :class:`DayStillOpen` for a summary whose day has not closed."""
    until = day_closes_at(posting.summary_date, tz)
    if (now or timezone.now()) < until:
        raise DayStillOpen(until, waiting_reason(posting.summary_date, tz))


def hold_open_days(posting_ids: Iterable[int], tz) -> list[int]:
    """Of these postings, the pending summaries of days not closed yet wait until their day
    closes, with the reason. Returns the ids held."""
    ids = list(posting_ids)
    if not ids:
        return []
    now = timezone.now()
    held = []
    rows = Posting.objects.filter(
        pk__in=ids, kind=PostingKind.SUMMARY, status=PostingState.PENDING
    ).values_list("pk", "summary_date")
    for pk, day in rows:
        until = day_closes_at(day, tz)
        if now < until:
            Posting.objects.filter(pk=pk, status=PostingState.PENDING).update(
                next_attempt_at=until, error=waiting_reason(day, tz), updated_at=now
            )
            held.append(pk)
    return held


# -- which postings, which orders -------------------------------------------------------------


def summary_reference(order: Order, tz) -> tuple[str, date, str]:
    """(source reference, day, store key) of the summary an order goes to."""
    day = order_day(order, tz)
    key = summary_store_key(order)
    return f"summary:{key}:{day.isoformat()}", day, key


def summary_specs(orders: Iterable[Order], tz, spec_class) -> list[Any]:
    """One posting spec (``spec_class``: the engine's ``PostingSpec``) per store and day."""
    seen: dict[str, Any] = {}
    for order in orders:
        ref, day, key = summary_reference(order, tz)
        if ref not in seen:
            store_tag = key if key.isdigit() else ""
            seen[ref] = spec_class(
                kind=PostingKind.SUMMARY,
                source_reference=ref,
                base_number=f"D{day:%y%m%d}" + (f"-{store_tag}" if store_tag else ""),
                summary_date=day,
                summary_store_key=key,
            )
    return list(seen.values())


SUMMARY_ORDER_FIELDS = (
    "pk",
    "number",
    "source_store_id",
    "store_name",
    "payment_date",
    "order_date",
    "create_date",
    "created_at",
)


def orders_without_summary(orders, ledger: LedgerConnection, tz) -> list[int]:
    """Of ``orders`` (a queryset), those whose day has no summary posting that is waiting,
    posting or posted: an automatic run queues only these, so a day already waiting (or an
    order a posted summary's correction covers) does not make an empty batch every import."""
    have = set(
        Posting.objects.filter(
            ledger_connection=ledger,
            kind=PostingKind.SUMMARY,
            status__in=(
                PostingState.PENDING,
                PostingState.IN_FLIGHT,
                PostingState.QUEUED,
                PostingState.POSTED,
            ),
        ).values_list("source_reference", flat=True)
    )
    return [
        o.pk for o in orders.only(*SUMMARY_ORDER_FIELDS) if summary_reference(o, tz)[0] not in have
    ]


def summary_orders(
    organization: Organization, ps: PostingSettings, posting: Posting
) -> list[tuple[Order, list[OrderLine]]]:
    """The eligible orders of the posting's store and day, with their lines."""
    from accounting.services.engine import eligible_orders

    orders = eligible_orders(organization=organization, posting_settings=ps)
    orders = list(_of_day_and_store(orders, posting, organization.tzinfo).order_by("pk"))
    lines: dict[int, list[OrderLine]] = {o.pk: [] for o in orders}
    for line in OrderLine.objects.filter(order_id__in=list(lines)).order_by("order_id", "position"):
        lines[line.order_id].append(line)
    return [(o, lines[o.pk]) for o in orders]


def _of_day_and_store(orders, posting: Posting, tz):
    """``orders`` narrowed to the posting's store and day (an order's day is its payment,
    else order, date in the organization's zone)."""
    start = day_start(posting.summary_date, tz)
    end = start + timedelta(days=1)
    orders = orders.filter(_store_filter(posting.summary_store_key))
    return orders.filter(
        Q(payment_date__gte=start, payment_date__lt=end)
        | Q(payment_date__isnull=True, order_date__gte=start, order_date__lt=end)
    )


def _store_filter(key: str) -> Q:
    """The orders of one summary store key (see ``summary_store_key``)."""
    if key.startswith("conn:"):
        connection_id, name = key[5:].split(":", 1)
        by_name = (
            Q(store_name__startswith=name) if len(name) >= STORE_NAME_IN_KEY else Q(store_name=name)
        )
        by_connection = (
            Q(connection_id=int(connection_id)) if connection_id else Q(connection__isnull=True)
        )
        return Q(source_store__isnull=True) & by_connection & by_name
    if key.startswith("name:"):
        # Keys written before the connection was part of them.
        return Q(source_store__isnull=True, store_name__startswith=key[5:])
    return Q(source_store_id=int(key))


def release_dropped(posting: Posting, covered: Iterable[int], tz) -> int:
    """After a summary was posted or corrected: orders of its store and day still marked
    posted that the journal no longer covers (cancelled, merged away, no longer eligible)
    are "not posted" again ("merged" when merged away). Returns how many."""
    dropped = _of_day_and_store(
        Order.objects.filter(
            organization_id=posting.organization_id,
            posting_status__in=(OrderPostingStatus.POSTED, OrderPostingStatus.CHANGED),
        ),
        posting,
        tz,
    ).exclude(pk__in=list(covered))
    now = timezone.now()
    count = dropped.filter(merged_into__isnull=False).update(
        posting_status=OrderPostingStatus.MERGED, changed_after_posting=False, updated_at=now
    )
    return count + dropped.update(
        posting_status=OrderPostingStatus.NOT_POSTED, changed_after_posting=False, updated_at=now
    )


def summary_hash(orders: list[tuple[Order, list[OrderLine]]]) -> str:
    digest = hashlib.sha256()
    for order, _lines in orders:
        digest.update(f"{order.pk}:{order.amount_paid}:{order.content_hash};".encode())
    return digest.hexdigest()


# -- late changes -----------------------------------------------------------------------------


def _changed_message(ledger: LedgerConnection) -> str:
    if get_provider(ledger.provider).supports_update:
        return _(
            "Orders of this day changed after the summary was posted (edited, cancelled, merged "
            "or imported late). “Update selected in the ledger” corrects the posted journal."
        )
    return _(
        "Orders of this day changed after the summary was posted (edited, cancelled, merged or "
        "imported late). Correct the journal in %(ledger)s."
    ) % {"ledger": ledger.get_provider_display()}


def flag_changed(*, organization: Organization, ledger: LedgerConnection, ps) -> int:
    """Flag posted summaries whose day's orders changed since they were posted."""
    summaries = Posting.objects.filter(
        ledger_connection=ledger,
        kind=PostingKind.SUMMARY,
        status=PostingState.POSTED,
        needs_review=False,
    )
    count = 0
    for posting in summaries:
        if summary_hash(summary_orders(organization, ps, posting)) != posting.content_hash:
            Posting.objects.filter(pk=posting.pk).update(
                needs_review=True, error=_changed_message(ledger), updated_at=timezone.now()
            )
            count += 1
    return count


def queue_corrections(
    *, organization: Organization, ledger: LedgerConnection, ps: PostingSettings
) -> int:
    """When the ledger posts automatically, flagged summaries are updated in the ledger at
    once (by hand, "Update selected in the ledger" does it). Returns how many were queued."""
    if ps.trigger == PostingTrigger.MANUAL or not get_provider(ledger.provider).supports_update:
        return 0
    ids = list(
        Posting.objects.filter(
            ledger_connection=ledger,
            kind=PostingKind.SUMMARY,
            status=PostingState.POSTED,
            needs_review=True,
        ).values_list("pk", flat=True)
    )
    if not ids:
        return 0
    from accounting.services.engine import posting_update_changed

    batch = posting_update_changed(organization=organization, posting_ids=ids)
    return batch.total if batch else 0


def is_emptied(posting: Posting, organization: Organization, ps: PostingSettings) -> bool:
    """A posted summary queued again whose day has no eligible order left: its journal is
    taken out of the ledger, not updated."""
    return (
        posting.kind == PostingKind.SUMMARY
        and bool(posting.external_id)
        and posting.revision > 0
        and not summary_orders(organization, ps, posting)
    )


def removal_message(ledger: str, *, already: bool) -> str:
    if already:
        return _(
            "Removed from %(ledger)s: no order of this day is left to summarise (the journal "
            "was already gone)."
        ) % {"ledger": ledger}
    return _("Removed from %(ledger)s: no order of this day is left to summarise.") % {
        "ledger": ledger
    }


def reopen(postings: Iterable[Posting]) -> list[Posting]:
    """Of these postings, removed summaries (an emptied day) whose day has orders again:
    made new documents (see ``withdrawals.renew_removed``). The caller sets them pending."""
    from accounting.services.withdrawals import renew_removed

    return [
        renew_removed(p)
        for p in postings
        if p.status == PostingState.REMOVED and p.kind == PostingKind.SUMMARY
    ]


# -- summaries held for their currency --------------------------------------------------------


def _no_summaries_message() -> str:
    return _(
        "The posting settings no longer post daily summaries: the orders of this day are "
        "posted one by one instead."
    )


def currency_holds_follow_settings(row: PostingSettings, changed: Iterable[str], user=None) -> int:
    """After the posting settings changed, summaries held because the ledger cannot take
    their currency (a Xero manual journal has none: ``accounting.ledgers.xero.currency``)
    follow the new settings: with daily summaries turned off, each is skipped and its day's
    orders are queued as documents of their own (which carry their currency); with the
    stores changed, each is tried again (a store no longer posted leaves nothing to
    summarise). Returns how many held summaries moved."""
    from accounting.models import HoldReason, PostingEvent, SaleDocumentType
    from accounting.services.engine import posting_enqueue_orders, posting_retry_failed

    changed = set(changed)
    if not changed & {"document_type", "store_ids"}:
        return 0
    held = list(
        Posting.objects.filter(
            ledger_connection_id=row.ledger_connection_id,
            kind=PostingKind.SUMMARY,
            status=PostingState.FAILED,
            hold_reason=HoldReason.CURRENCY,
        )
    )
    if not held:
        return 0
    organization = row.organization
    if row.document_type == SaleDocumentType.DAILY_SUMMARY:
        posting_retry_failed(organization=organization, posting_ids=[p.pk for p in held], user=user)
        return len(held)
    order_ids = [o.pk for p in held for o, _lines in summary_orders(organization, row, p)]
    message = _no_summaries_message()
    actor = user if getattr(user, "is_authenticated", False) else None
    for posting in held:
        PostingEvent.objects.create(
            organization_id=posting.organization_id,
            posting=posting,
            from_status=posting.status,
            to_status=PostingState.SKIPPED,
            attempt=posting.attempts,
            message=message,
            actor=actor,
        )
    Posting.objects.filter(pk__in=[p.pk for p in held], status=PostingState.FAILED).update(
        status=PostingState.SKIPPED,
        error=message,
        error_detail="",
        hold_reason="",
        updated_at=timezone.now(),
    )
    if order_ids:
        posting_enqueue_orders(organization=organization, order_ids=order_ids, user=user)
    return len(held)
