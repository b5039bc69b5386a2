"""Recording the answer of an asynchronous ledger.

QuickBooks Desktop answers later than the engine's "execute" step: the engine builds the
document and leaves the posting ``queued`` (``PostingResult.queued``); the ledger's own
channel (the Web Connector's SOAP calls) brings the answer back, and records it here. One
transition, fenced on the posting still being ``queued``, in one transaction with its event
and its orders' status, so a repeated answer records nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounting.ledgers.base import PostingResult
from accounting.models import Posting, PostingEvent, PostingKind, PostingState
from sales.models import Order
from sales.models import PostingStatus as OrderPostingStatus


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


def posting_record_result(
    *,
    posting: Posting,
    result: PostingResult | None = None,
    error: str = "",
    detail: str = "",
    found_after_interruption: bool = False,
) -> bool:
    """Record the ledger's answer for a ``queued`` posting: ``result`` when the document is
    in the ledger, else ``error`` (the ledger's own words, shown to the merchant) with
    ``detail`` for support. Returns False when the posting was no longer queued (answered
    already, or taken back), in which case nothing changes."""
    if result is None and not error:
        raise ValueError("posting_record_result needs a result or an error")
    now = timezone.now()
    with transaction.atomic():
        row = (
            Posting.objects.select_for_update()
            .filter(pk=posting.pk, organization_id=posting.organization_id)
            .first()
        )
        if row is None or row.status != PostingState.QUEUED:
            return False
        orders = _covered_orders(row)
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
            if found_after_interruption:
                message = _("Found in the ledger after an interrupted attempt (%(number)s).") % {
                    "number": number
                }
            else:
                message = _("Posted as %(number)s.") % {"number": number}
            order_status = OrderPostingStatus.POSTED
        else:
            row.status = PostingState.FAILED
            row.error = error[:4000]
            row.error_detail = detail[:4000]
            message = error
            order_status = OrderPostingStatus.FAILED if row.kind == PostingKind.SALE else ""
        row.sent_at = None
        row.lease_token = ""
        row.lease_until = None
        row.next_attempt_at = None
        row.save()
        PostingEvent.objects.create(
            organization_id=row.organization_id,
            posting=row,
            from_status=PostingState.QUEUED,
            to_status=row.status,
            attempt=row.attempts,
            message=message[:2000],
        )
        if order_status:
            _mark_orders(orders, order_status, row.organization_id)
    for name in ("status", "external_id", "external_number", "error", "posted_at", "answer"):
        setattr(posting, name, getattr(row, name))
    return True
