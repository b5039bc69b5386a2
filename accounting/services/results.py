"""Recording the answer of an asynchronous ledger.

An asynchronous ledger (``LedgerProvider.asynchronous``) answers later than the engine's
"execute" step: the engine builds the document and leaves the posting ``queued``
(``PostingResult.queued``); the ledger's own channel (e.g. a connector on the merchant's
computer that polls Unify) brings the answer back, and records it here. One
transition, fenced on the posting still being ``queued``, in one transaction with its event
and its orders' status, so a repeated answer records nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from accounting.ledgers.base import PostingResult
from accounting.models import Posting, PostingEvent, PostingKind, PostingState
from sales.models import Order
from sales.models import PostingStatus as OrderPostingStatus
from unify.core.stored_text import gettext as _
from unify.notifications import events as notification_events


def _covered_orders(posting: Posting) -> list[int]:
    if posting.kind == PostingKind.SALE:
        return [posting.order_id] if posting.order_id else []
    if posting.kind == PostingKind.SUMMARY:
        return [int(pk) for pk in (posting.answer or {}).get("orders", ())]
    return []


def _mark_orders(order_ids: Iterable[int], status: str, organization_id: int) -> None:
    ids = list(order_ids)
    if not ids:
        return
    fields: dict[str, Any] = {"posting_status": status}
    if status == OrderPostingStatus.POSTED:
        fields["changed_after_posting"] = False
    Order.objects.filter(pk__in=ids, organization_id=organization_id).exclude(
        posting_status=OrderPostingStatus.IGNORED
    ).update(**fields)


@dataclass(frozen=True, slots=True)
class LedgerAnswer:
    """What an asynchronous ledger said about one queued posting: ``result`` when the
    document is in the ledger, else ``error`` (the ledger's own words, shown to the
    merchant) and ``detail`` for support."""

    posting_id: int
    result: PostingResult | None = None
    error: str = ""
    detail: str = ""
    found_after_interruption: bool = False


def posting_record_results(*, organization_id: int, answers: Sequence[LedgerAnswer]) -> set[int]:
    """Record many answers at once (one Web Connector message carries up to 50): the
    postings still ``queued`` are locked and updated together with their events and their
    orders' status, in one transaction. Returns the ids that changed; a posting no longer
    queued (answered already, or taken back) is left as it is."""
    if any(a.result is None and not a.error for a in answers):
        raise ValueError("an answer needs a result or an error")
    by_id = {a.posting_id: a for a in answers}
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            Posting.objects.select_for_update()
            .filter(pk__in=list(by_id), organization_id=organization_id, status=PostingState.QUEUED)
            .defer("document")
            .order_by("pk")
        )
        events: list[PostingEvent] = []
        orders_by_status: dict[str, list[int]] = {}
        for row in rows:
            answer = by_id[row.pk]
            orders = _covered_orders(row)
            result = answer.result
            if result is not None:
                row.status = PostingState.POSTED
                row.external_id = result.external_id
                row.external_number = result.number
                row.external_revision = result.revision
                row.secondary_external_id = result.secondary_id or row.secondary_external_id
                row.deep_link = result.deep_link
                row.answer = (
                    {**dict(result.answer), "orders": orders} if orders else dict(result.answer)
                )
                row.posted_at = now
                row.error = ""
                row.error_detail = ""
                row.needs_review = False
                number = result.number or result.external_id
                if answer.found_after_interruption:
                    message = _(
                        "Found in the ledger after an interrupted attempt (%(number)s)."
                    ) % {"number": number}
                else:
                    message = _("Posted as %(number)s.") % {"number": number}
                order_status = OrderPostingStatus.POSTED
            else:
                row.status = PostingState.FAILED
                row.hold_reason = ""
                row.error = answer.error[:4000]
                row.error_detail = answer.detail[:4000]
                message = answer.error
                order_status = OrderPostingStatus.FAILED if row.kind == PostingKind.SALE else ""
            row.sent_at = None
            row.lease_token = ""
            row.lease_until = None
            row.next_attempt_at = None
            row.updated_at = now
            events.append(
                PostingEvent(
                    organization_id=row.organization_id,
                    posting=row,
                    from_status=PostingState.QUEUED,
                    to_status=row.status,
                    attempt=row.attempts,
                    message=message[:2000],
                )
            )
            if order_status:
                orders_by_status.setdefault(order_status, []).extend(orders)
        if rows:
            _update_rows(rows)
            PostingEvent.objects.bulk_create(events, batch_size=500)
        for status, order_ids in orders_by_status.items():
            _mark_orders(order_ids, status, organization_id)
        failed = {row.batch_id: row for row in rows if row.status == PostingState.FAILED}
        for row in failed.values():  # the ledger refused them: once per posting run
            notification_events.posting_failed(row)
    return {row.pk for row in rows}


_FIELDS = [
    "status",
    "external_id",
    "external_number",
    "external_revision",
    "secondary_external_id",
    "deep_link",
    "answer",
    "posted_at",
    "error",
    "error_detail",
    "hold_reason",
    "needs_review",
    "sent_at",
    "lease_token",
    "lease_until",
    "next_attempt_at",
    "updated_at",
]


def _update_rows(rows: list[Posting]) -> None:
    """One pipelined statement per row (Django's ``bulk_update`` builds a CASE per field
    and row, which costs more than the round trips it saves)."""
    fields = [Posting._meta.get_field(name) for name in _FIELDS]
    columns = ", ".join(f"{db_connection.ops.quote_name(f.column)} = %s" for f in fields)
    table = db_connection.ops.quote_name(Posting._meta.db_table)
    sql = f"UPDATE {table} SET {columns} WHERE id = %s"  # noqa: S608 - names from the model
    params = [
        [f.get_db_prep_save(getattr(row, f.attname), db_connection) for f in fields] + [row.pk]
        for row in rows
    ]
    with db_connection.cursor() as cursor:
        cursor.executemany(sql, params)


def posting_record_result(
    *,
    posting: Posting,
    result: PostingResult | None = None,
    error: str = "",
    detail: str = "",
    found_after_interruption: bool = False,
) -> bool:
    """Record the ledger's answer for one ``queued`` posting (see
    :func:`posting_record_results`). Returns False when it was no longer queued."""
    if result is None and not error:
        raise ValueError("posting_record_result needs a result or an error")
    changed = posting_record_results(
        organization_id=posting.organization_id,
        answers=[
            LedgerAnswer(
                posting_id=posting.pk,
                result=result,
                error=error,
                detail=detail,
                found_after_interruption=found_after_interruption,
            )
        ],
    )
    if changed:
        posting.refresh_from_db(
            fields=["status", "external_id", "external_number", "error", "posted_at", "answer"]
        )
    return bool(changed)
