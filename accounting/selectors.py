"""Reads for the Accounting tab and the Sales tab's posting columns. Every function takes
the organization explicitly and returns only its rows."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from accounting.ledgers.base import LedgerCatalog
from accounting.models import (
    LedgerConnection,
    LedgerStatus,
    Posting,
    PostingBatch,
    PostingEvent,
    PostingKind,
    PostingSettings,
    PostingState,
)
from accounting.services import differences, eta
from accounting.services.documents import order_day, sale_amounts, summary_store_key
from unify.tenancy.models import Organization


def ledger_connection_current(*, organization: Organization) -> LedgerConnection | None:
    """The connected ledger (active or waiting to be reconnected), else the most recently
    disconnected one (its history stays visible)."""
    connections = LedgerConnection.objects.for_org(organization)
    current = connections.exclude(status=LedgerStatus.DISABLED).first()
    return current


def ledger_reconnect_notes(ledger: LedgerConnection | None) -> list[str]:
    """The dashboard's "Needs attention" note of the ledger side: a ledger that no longer
    accepts Unify's access (postings wait until it is reconnected)."""
    if ledger is None or ledger.status != LedgerStatus.NEEDS_REAUTH:
        return []
    return [
        _(
            "%(ledger)s no longer accepts Unify's access: reconnect it on the Accounting "
            "tab. Postings wait until then."
        )
        % {"ledger": ledger.get_provider_display()}
    ]


def ledger_connection_get(
    *, organization: Organization, ledger_connection_id: int
) -> LedgerConnection:
    """Raises ``LedgerConnection.DoesNotExist`` for another organization's id."""
    return LedgerConnection.objects.for_org(organization).get(pk=ledger_connection_id)


def catalog_of(connection: LedgerConnection) -> LedgerCatalog:
    return LedgerCatalog.from_json(connection.catalog)


@dataclass(frozen=True, slots=True)
class PostingCounts:
    pending: int = 0
    in_flight: int = 0
    queued: int = 0
    posted: int = 0
    failed: int = 0
    skipped: int = 0
    removed: int = 0
    review: int = 0

    @property
    def open(self) -> int:
        return self.pending + self.in_flight + self.queued


def posting_counts(*, organization: Organization, ledger: LedgerConnection | None) -> PostingCounts:
    if ledger is None:
        return PostingCounts()
    rows = dict(
        Posting.objects.for_org(organization)
        .filter(ledger_connection=ledger)
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    review = (
        Posting.objects.for_org(organization)
        .filter(ledger_connection=ledger, needs_review=True)
        .count()
    )
    return PostingCounts(**{k: v for k, v in rows.items()}, review=review)


def held_postings_q(held: bool = True) -> Q:
    """Failed postings held for a reason (closed books, currency, unpaid), or (``False``)
    the rows that are not such."""
    is_held = Q(status=PostingState.FAILED) & ~Q(hold_reason="")
    return is_held if held else ~is_held


def postings_for(
    *,
    organization: Organization,
    status: str = "",
    kind: str = "",
    search: str = "",
    needs_review: bool = False,
    held: bool | None = None,
) -> QuerySet[Posting]:
    """The posting log's rows. ``held``: True for failed postings held for a reason the
    merchant resolves first (``HoldReason``), False for the others, None for both."""
    qs = Posting.objects.for_org(organization).select_related(
        "ledger_connection", "order", "shipping_cost"
    )
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if needs_review:
        qs = qs.filter(needs_review=True)
    if held is not None:
        qs = qs.filter(held_postings_q(held))
    if search:
        qs = qs.filter(
            Q(document_number__icontains=search)
            | Q(external_number__icontains=search)
            | Q(order__number__icontains=search)
        )
    return qs.order_by("-updated_at", "-pk")


def posting_get(*, organization: Organization, posting_id: int) -> Posting:
    return (
        Posting.objects.for_org(organization)
        .select_related("ledger_connection", "order", "shipping_cost")
        .get(pk=posting_id)
    )


def posting_events(*, posting: Posting) -> QuerySet[PostingEvent]:
    return (
        PostingEvent.objects.for_org(posting.organization_id)
        .filter(posting=posting)
        .select_related("actor")
    )


def batch_get(*, organization: Organization, batch_id: int) -> PostingBatch:
    return PostingBatch.objects.for_org(organization).get(pk=batch_id)


@dataclass(frozen=True, slots=True)
class BatchProgress:
    batch: PostingBatch
    total: int
    posted: int
    failed: int
    skipped: int
    waiting: int
    removed: int = 0
    # At the ledger's limits, for the documents still waiting (None: no estimate).
    seconds_left: int | None = None

    @property
    def minutes_left(self) -> int | None:
        if self.seconds_left is None or self.finished:
            return None
        return max(1, -(-self.seconds_left // 60))

    @property
    def done(self) -> int:
        return self.posted + self.failed + self.skipped + self.removed

    @property
    def finished(self) -> bool:
        return self.waiting == 0

    @property
    def percent(self) -> int:
        if not self.total:
            return 100
        return min(100, int(100 * self.done / self.total))


def _seconds_left(organization: Organization, batch: PostingBatch, waiting: int) -> int | None:
    """At the ledger's limits: everything waiting on the connection shares them, so the
    estimate counts the connection's queue, not only this batch's."""
    if not waiting:
        return 0
    queued = (
        Posting.objects.for_org(organization)
        .filter(
            ledger_connection_id=batch.ledger_connection_id,
            status__in=(PostingState.PENDING, PostingState.IN_FLIGHT),
        )
        .count()
    )
    return eta.seconds_left(batch.ledger_connection, max(waiting, queued))


def batch_progress(*, organization: Organization, batch: PostingBatch) -> BatchProgress:
    rows = dict(
        Posting.objects.for_org(organization)
        .filter(batch=batch)
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    posted = rows.get(PostingState.POSTED, 0) + rows.get(PostingState.QUEUED, 0)
    failed = rows.get(PostingState.FAILED, 0)
    skipped = rows.get(PostingState.SKIPPED, 0)
    removed = rows.get(PostingState.REMOVED, 0)
    waiting = rows.get(PostingState.PENDING, 0) + rows.get(PostingState.IN_FLIGHT, 0)
    return BatchProgress(
        batch=batch,
        total=max(batch.total, posted + failed + skipped + removed + waiting),
        posted=posted,
        failed=failed,
        skipped=skipped,
        waiting=waiting,
        removed=removed,
        seconds_left=_seconds_left(organization, batch, waiting),
    )


def order_postings(*, organization: Organization, order) -> list[Posting]:
    """The postings of one order: its sale, its label costs, and the daily summary that
    covers it."""
    direct = list(
        Posting.objects.for_org(organization)
        .filter(order_id=order.pk)
        .select_related("ledger_connection", "shipping_cost")
    )
    day_summaries = (
        Posting.objects.for_org(organization)
        .filter(
            kind=PostingKind.SUMMARY,
            summary_date=order_day(order, organization.tzinfo),
            summary_store_key=summary_store_key(order),
        )
        .select_related("ledger_connection")
    )
    if order.posting_status not in ("posted", "changed"):
        # Not in a posted summary, but its day's summary may wait (for the day to end).
        day_summaries = day_summaries.filter(
            status__in=(PostingState.PENDING, PostingState.IN_FLIGHT)
        )
    summaries = list(day_summaries)
    return sorted(direct + summaries, key=lambda p: (p.created_at, p.pk))


def postings_by_order(*, organization: Organization, order_ids: list[int]) -> dict[int, Posting]:
    """The sale posting of each order (for the Sales list's link column)."""
    rows = (
        Posting.objects.for_org(organization)
        .filter(order_id__in=order_ids, kind=PostingKind.SALE)
        .order_by("pk")
    )
    return {p.order_id: p for p in rows}


def order_difference_treatment(order) -> str:
    """What posting to the organization's current ledger does with the order's marketplace
    tax or unitemised coupon, in a sentence ("" when neither applies)."""
    from sales.models import OrderLine

    ledger = LedgerConnection.objects.for_org(order.organization_id).exclude(
        status=LedgerStatus.DISABLED
    )
    settings_obj = (
        PostingSettings.objects.for_org(order.organization_id)
        .filter(ledger_connection__in=ledger)
        .first()
    )
    if settings_obj is None or order.amount_paid == order.expected_paid:
        return ""
    lines = (
        OrderLine.objects.for_org(order.organization_id)
        .filter(order_id=order.pk)
        .order_by("position")
    )
    return differences.describe(
        sale_amounts(order, list(lines), settings_obj),
        settings_obj,
        source=order.get_source_display(),
    )
