"""Removing a posted document from the ledger: a voided label's cost, a merged order's or
a withdrawn order's sale, an emptied day's summary."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounting.ledgers.base import DocumentKind, ExternalRef, RemovalResult, RemovalUnsupported
from accounting.models import (
    LabelCostMode,
    Posting,
    PostingKind,
    PostingSettings,
    PostingState,
    SaleDocumentType,
)
from accounting.services import faults, summaries, withdrawals
from accounting.services.engine.claim import Claim, _event, _fenced
from accounting.services.engine.context import _Context
from accounting.services.engine.release import _release, _retry_later, _wait_for_ledger
from sales.models import Order, ShippingCost
from sales.models import PostingStatus as OrderPostingStatus
from unify.core.exceptions import (
    IntegrationError,
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
)
from unify.core.stored_text import gettext as _
from unify.tenancy.models import Organization

logger = logging.getLogger(__name__)


def _is_voided_label_removal(posting: Posting) -> bool:
    """A label cost already in the ledger (queued again by "Update in the ledger") whose
    label has been voided since: its document is taken out, not updated."""
    return (
        posting.kind == PostingKind.SHIPPING_COST
        and bool(posting.external_id)
        and posting.revision > 0
        and posting.shipping_cost_id is not None
        and ShippingCost.objects.filter(pk=posting.shipping_cost_id, voided=True).exists()
    )


def _is_merged_order_removal(posting: Posting) -> bool:
    """A sale already in the ledger (queued again by "Update in the ledger") whose order was
    merged into another since: its document is taken out (the other order carries it)."""
    return (
        posting.kind == PostingKind.SALE
        and bool(posting.external_id)
        and posting.revision > 0
        and posting.order_id is not None
        and Order.objects.filter(pk=posting.order_id, merged_into__isnull=False).exists()
    )


def _posted_kind(posting: Posting, ps: PostingSettings) -> DocumentKind:
    """The kind of document that was posted (the settings may have changed since)."""
    try:
        return DocumentKind(str((posting.document or {}).get("kind", "")))
    except ValueError:
        if posting.kind == PostingKind.SALE:
            invoice = ps.document_type == SaleDocumentType.INVOICE_PAYMENT
            return DocumentKind.INVOICE_PAYMENT if invoice else DocumentKind.SALES_RECEIPT
        bill = ps.label_cost_mode == LabelCostMode.BILL
        return DocumentKind.BILL if bill else DocumentKind.EXPENSE


def _keep_flagged(claim: Claim, message: str, detail: str = "") -> None:
    """The removal did not happen: the document stays posted and listed for review."""
    _release(
        claim,
        status=PostingState.POSTED,
        message=message,
        detail=detail,
        restore_sent=True,
        extra={
            "sent_at": None,
            "needs_review": True,
            "error": message[:4000],
            "error_detail": detail[:4000],
        },
    )


def _execute_removal(claim: Claim, ctx: _Context) -> None:
    """Delete the posted document of a voided label (see :meth:`LedgerAdapter.remove`).

    Exactly once like a post: the claim's lease keeps a second worker away, the record is
    fenced on the lease token, and a retry after an unknown outcome finds the document gone,
    which counts as removed. Only the stored ledger id is used."""
    posting = claim.posting
    ledger = ctx.connection.get_provider_display()
    existing = ExternalRef(
        external_id=posting.external_id,
        number=posting.external_number,
        revision=posting.external_revision,
        secondary_id=posting.secondary_external_id,
    )
    withdrawn = posting.kind == PostingKind.SALE and not _is_merged_order_removal(posting)
    try:
        result = ctx.adapter.remove(
            _posted_kind(posting, ctx.settings), existing, idempotency_key=posting.idempotency_key
        )
    except RemovalUnsupported as exc:
        if withdrawn:
            _keep_flagged(claim, withdrawals.removal_unsupported_message(ledger), str(exc))
            return
        if posting.kind == PostingKind.SALE:
            message = _(
                "The order was merged into another order, but %(ledger)s does not let Unify "
                "remove posted documents. Remove this sale in %(ledger)s."
            )
        else:
            message = _(
                "The label was voided, but %(ledger)s does not let Unify remove posted "
                "documents. Remove the expense in %(ledger)s."
            )
        _keep_flagged(claim, message % {"ledger": ledger}, detail=str(exc))
        return
    except (ProviderAuthError, ProviderRateLimited) as exc:
        _wait_for_ledger(claim, ctx, exc)
        return
    except ProviderRejected as exc:
        if withdrawn:
            message = withdrawals.removal_refused_message(ledger, exc.user_message)
            _keep_flagged(claim, message, detail=str(exc))
            return
        if posting.kind == PostingKind.SALE:
            message = _(
                "The order was merged into another order, but %(ledger)s refused to delete "
                "this sale: %(reason)s Remove it in %(ledger)s by hand (an invoice with a "
                "payment needs the payment deleted first), or try the update again afterwards."
            )
        elif posting.kind == PostingKind.SUMMARY:
            message = _(
                "No order of this day is left to summarise, but %(ledger)s refused to remove "
                "the journal: %(reason)s Remove it in %(ledger)s by hand, or try the update "
                "again afterwards."
            )
        else:
            message = _(
                "The label was voided, but %(ledger)s refused to delete the expense: "
                "%(reason)s Remove it in %(ledger)s by hand (a bill with a payment needs the "
                "payment deleted first), or try the update again afterwards."
            )
        _keep_flagged(
            claim, message % {"ledger": ledger, "reason": exc.user_message}, detail=str(exc)
        )
        return
    except IntegrationError as exc:
        # A delete that may have happened: the next attempt reads the document first.
        if not _retry_later(claim, exc):
            _keep_flagged(claim, exc.user_message, detail=str(exc))
        return
    except Exception as exc:
        logger.exception("removing posting %s failed unexpectedly", posting.pk)
        _keep_flagged(
            claim,
            _("Unify could not remove this document (an internal error). Support has the details."),
            detail=f"{type(exc).__name__}: {exc}",
        )
        return
    faults.fault_point(faults.AFTER_LEDGER_ANSWER)
    _record_removal(claim, ledger, result)


def removed_fields(result: RemovalResult, message: str, now) -> dict[str, Any]:
    """The posting's fields once its document is out of the ledger (status "removed", the
    lease released, the ledger's answer and the reason kept)."""
    return {
        "status": PostingState.REMOVED,
        "lease_token": "",
        "lease_until": None,
        "next_attempt_at": None,
        "sent_at": None,
        "answer": dict(result.answer),
        "needs_review": False,
        "error": message,
        "error_detail": "",
        "updated_at": now,
    }


def _record_removed(claim: Claim, result: RemovalResult, message: str, *, then: Any = None) -> bool:
    """Record a removal: the posting ``removed`` (its ledger ids kept for the record), fenced
    on the lease; ``then(now)`` runs in the same transaction (an order's status, say). False
    when our lease ran out: the new owner finds the document gone and records it itself."""
    posting = claim.posting
    now = timezone.now()
    fields = removed_fields(result, message, now)
    with transaction.atomic():
        if not _fenced(claim).update(**fields):
            logger.info("posting %s: lease lost before recording the removal", posting.pk)
            return False
        if then is not None:
            then(now)
        for key, value in fields.items():
            setattr(posting, key, value)
        _event(posting, PostingState.IN_FLIGHT, message)
    return True


def _record_removal(claim: Claim, ledger: str, result: RemovalResult) -> None:
    posting = claim.posting
    if posting.kind == PostingKind.SUMMARY:
        message = summaries.removal_message(ledger, already=result.already_removed)
        tz = Organization.objects.get(pk=posting.organization_id).tzinfo
        _record_removed(
            claim, result, message, then=lambda _now: summaries.release_dropped(posting, (), tz)
        )
        return
    if posting.kind == PostingKind.SALE:
        if _is_merged_order_removal(posting):
            _record_merged_order_removal(claim, ledger, result)
        else:
            withdrawals.withdrawals_record(claim, ledger, result)
        return
    if result.already_removed:
        message = _(
            "Removed from %(ledger)s: the label was voided (the document was already gone)."
        ) % {"ledger": ledger}
    else:
        message = _("Removed from %(ledger)s: the label was voided.") % {"ledger": ledger}
    _record_removed(claim, result, message)


def _record_merged_order_removal(claim: Claim, ledger: str, result: RemovalResult) -> None:
    """The sale of a merged order is out of the ledger: the posting is removed and the order
    is marked merged, never to be posted again."""
    posting = claim.posting
    if result.already_removed:
        message = _(
            "Removed from %(ledger)s: the order was merged into another order (the document "
            "was already gone)."
        ) % {"ledger": ledger}
    else:
        message = _("Removed from %(ledger)s: the order was merged into another order.") % {
            "ledger": ledger
        }

    def mark_merged(now) -> None:
        Order.objects.filter(pk=posting.order_id).update(
            posting_status=OrderPostingStatus.MERGED, changed_after_posting=False, updated_at=now
        )

    _record_removed(claim, result, message, then=mark_merged)
