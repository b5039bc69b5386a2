"""Recording a ledger's answer for a claimed posting, fenced on its lease token: in one
statement on PostgreSQL (or by the drain's writer thread), with the ORM elsewhere."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from accounting.ledgers.base import ResultStatus
from accounting.models import Posting, PostingEvent, PostingKind, PostingState
from accounting.services import faults, summaries
from accounting.services import late_labels as late_labels_module
from accounting.services.engine.claim import Claim, _fenced
from accounting.services.engine.context import _Context
from accounting.services.engine.release import _set_orders_status
from sales.models import PostingStatus as OrderPostingStatus
from unify.core.stored_text import db_text
from unify.core.stored_text import gettext as _

logger = logging.getLogger(__name__)


def _record(
    claim: Claim,
    ctx: _Context,
    result,
    document: dict[str, Any],
    content_hash: str,
    covered_orders: list[int],
) -> None:
    posting = claim.posting
    now = timezone.now()
    status = PostingState.QUEUED if result.status == ResultStatus.QUEUED else PostingState.POSTED
    fields: dict[str, Any] = {
        "status": status,
        "lease_token": "",
        "lease_until": None,
        "next_attempt_at": None,
        "sent_at": None if status == PostingState.POSTED else now,
        "external_id": result.external_id,
        "external_number": result.number,
        "external_revision": result.revision,
        "secondary_external_id": result.secondary_id or posting.secondary_external_id,
        "deep_link": result.deep_link,
        "document": document,
        "answer": dict(result.answer),
        "content_hash": content_hash or "",
        "needs_review": False,
        "error": "",
        "error_detail": "",
        "posted_at": now if status == PostingState.POSTED else None,
        "updated_at": now,
    }
    mismatch = result.answer.get("TotalMatches") is False
    if mismatch:
        fields["needs_review"] = True
        fields["error"] = _(
            "The ledger computed a different total than the order's; please review it."
        )
    message = _("Posted as %(number)s.") % {"number": result.number or result.external_id}
    if claim.prior_sent and result.answer.get("found"):
        message = _("Found in the ledger after an interrupted attempt (%(number)s).") % {
            "number": result.number or result.external_id
        }
    queued = status == PostingState.QUEUED
    if queued:
        # An asynchronous ledger answers later (accounting.services.posting_record_result):
        # its orders are marked then, from the list kept with the posting.
        fields["answer"] = {**fields["answer"], "orders": list(covered_orders)}
        message = _("Queued for %(ledger)s.") % {"ledger": ctx.connection.get_provider_display()}
    kinds_with_orders = (PostingKind.SALE, PostingKind.SUMMARY)
    orders = covered_orders if posting.kind in kinds_with_orders and not queued else []
    if (
        posting.kind == PostingKind.SHIPPING_COST
        and posting.order_id
        and status == PostingState.POSTED
    ):
        # A label bought after its order was posted flagged the order; its cost is in now.
        settle = [posting.order_id]
    else:
        settle = []
    if ctx.records_in_background:
        ctx.record_later(_record_job, claim, fields, message, orders, settle)
        recorded = True  # as far as this thread knows; the writer logs a lost lease
    elif db_connection.vendor == "postgresql" and not db_connection.in_atomic_block:
        recorded = _record_in_one_statement(claim, fields, message, orders)
        if recorded and settle:
            late_labels_module.late_labels_settle(posting=posting, order_ids=settle)
    else:
        recorded = _record_with_orm(claim, fields, message, orders, settle)
    if not recorded:
        _lease_lost(posting)
        return
    for key, value in fields.items():
        setattr(posting, key, value)
    if posting.kind == PostingKind.SUMMARY and status == PostingState.POSTED:
        summaries.release_dropped(posting, covered_orders, ctx.tz)
    ctx.remember(result.resolved)


def _lease_lost(posting: Posting) -> None:
    # Our lease ran out and another worker owns the posting now: it looks the document up
    # before sending, so it records this same document.
    logger.info("posting %s: lease lost before recording", posting.pk)


def _record_job(
    claim: Claim, fields: dict[str, Any], message: str, orders: list[int], settle: Sequence[int]
) -> None:
    """``_record``'s statement, run by a drain's writer thread."""
    faults.fault_point(faults.WRITER_BEFORE_RECORD)
    if not _record_in_one_statement(claim, fields, message, orders):
        _lease_lost(claim.posting)
    elif settle:
        # A statement of its own, after the record committed (see late_labels_settle).
        late_labels_module.late_labels_settle(posting=claim.posting, order_ids=settle)


def _record_with_orm(
    claim: Claim,
    fields: dict[str, Any],
    message: str,
    orders: list[int],
    settle: Sequence[int] = (),
) -> bool:
    with transaction.atomic():
        if not _fenced(claim).update(**fields):
            return False
        posting = claim.posting
        PostingEvent.objects.create(
            organization_id=posting.organization_id,
            posting=posting,
            from_status=PostingState.IN_FLIGHT,
            to_status=fields["status"],
            attempt=posting.attempts,
            message=message[:2000],
        )
        _set_orders_status(orders, OrderPostingStatus.POSTED, clear_changed=True)
        if settle:
            late_labels_module.late_labels_settle(posting=posting, order_ids=settle)
    return True


# The posting, its event and its orders' status in one statement (one round trip, atomic on
# its own): this runs once per document, between the ledger's answer and our commit, so it
# is both the hot path and the window a crash can hit.
_RECORD_SQL = """
WITH up AS (
    UPDATE accounting_posting SET
        status = %(status)s, lease_token = '', lease_until = NULL, next_attempt_at = NULL,
        sent_at = %(sent_at)s, external_id = %(external_id)s,
        external_number = %(external_number)s, external_revision = %(external_revision)s,
        secondary_external_id = %(secondary_external_id)s, deep_link = %(deep_link)s,
        document = %(document)s::jsonb, answer = %(answer)s::jsonb,
        content_hash = %(content_hash)s, needs_review = %(needs_review)s, error = %(error)s,
        error_detail = '', posted_at = %(posted_at)s, updated_at = %(now)s
    WHERE id = %(id)s AND lease_token = %(token)s AND status = 'in_flight'
    RETURNING id, organization_id, attempts
), event AS (
    INSERT INTO accounting_postingevent
        (created_at, updated_at, organization_id, posting_id, from_status, to_status, attempt,
         message, actor_id)
    SELECT %(now)s, %(now)s, organization_id, id, 'in_flight', %(status)s, attempts,
        %(message)s, NULL
    FROM up
), orders AS (
    UPDATE sales_order SET posting_status = 'posted', changed_after_posting = false
    WHERE id = ANY(%(orders)s) AND organization_id = %(organization_id)s
        AND posting_status <> 'ignored' AND EXISTS (SELECT 1 FROM up)
)
SELECT count(*) FROM up
"""


def _record_in_one_statement(
    claim: Claim, fields: dict[str, Any], message: str, orders: list[int]
) -> bool:
    posting = claim.posting
    params = {
        **{k: v for k, v in fields.items() if k not in ("document", "answer", "updated_at")},
        "error": db_text(fields["error"]),
        "document": json.dumps(fields["document"], cls=DjangoJSONEncoder),
        "answer": json.dumps(fields["answer"], cls=DjangoJSONEncoder),
        "now": fields["updated_at"],
        "id": posting.pk,
        "token": claim.token,
        "message": db_text(message[:2000]),
        "orders": list(orders),
        "organization_id": posting.organization_id,
    }
    with db_connection.cursor() as cursor:
        cursor.execute(_RECORD_SQL, params)
        (count,) = cursor.fetchone()
    return bool(count)
