"""Executing one claimed posting: look it up when an earlier attempt may have reached the
ledger, else send it; record the outcome (see the package docstring)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from accounting.ledgers.as_dict import document_as_dict
from accounting.ledgers.base import ExternalRef, memo_marker
from accounting.models import LedgerConnection, LedgerStatus, Posting, PostingState
from accounting.services import faults, open_day, summaries, withdrawals
from accounting.services.engine.build import build_or_release
from accounting.services.engine.claim import Claim
from accounting.services.engine.context import _Context
from accounting.services.engine.record import _record
from accounting.services.engine.release import (
    _fail_internal,
    _release,
    _retry_later,
    _wait_for_ledger,
)
from accounting.services.engine.removal import (
    _execute_removal,
    _is_merged_order_removal,
    _is_voided_label_removal,
)
from sales.models import PostingStatus as OrderPostingStatus
from unify.core.exceptions import (
    IntegrationError,
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
)
from unify.core.stored_text import gettext as _

logger = logging.getLogger(__name__)


def posting_execute(*, claim: Claim, ctx: _Context | None = None) -> Posting:
    """Send one claimed posting and record the outcome (see the package docstring)."""
    posting = claim.posting
    ctx = ctx or _Context(LedgerConnection.objects.get(pk=posting.ledger_connection_id))
    if ctx.connection.status != LedgerStatus.ACTIVE:
        _release(
            claim,
            status=PostingState.PENDING,
            message=_("Waiting until the ledger is reconnected."),
            next_attempt_at=timezone.now() + timedelta(minutes=5),
            restore_sent=True,
            attempts_delta=-1,
        )
        return posting
    if (
        _is_voided_label_removal(posting)
        or _is_merged_order_removal(posting)
        or withdrawals.is_withdrawn_sale(posting, ctx.settings)
        or summaries.is_emptied(posting, ctx.organization, ctx.settings)
    ):
        _execute_removal(claim, ctx)
        return posting
    built = build_or_release(claim, ctx)
    if built is None:
        return posting
    doc, content_hash, covered_orders = built
    is_update = bool(posting.external_id) and posting.revision > 0
    document = document_as_dict(doc)
    try:
        result = None
        if claim.prior_sent and not is_update:
            found = ctx.adapter.find_document(
                kind=doc.kind, reference=doc.reference, marker=memo_marker(getattr(doc, "memo", ""))
            )
            if found is not None:
                result = ctx.adapter.complete(doc, found)
        if result is None:
            if is_update:
                result = ctx.adapter.update(
                    doc,
                    ExternalRef(
                        external_id=posting.external_id,
                        number=posting.external_number,
                        revision=posting.external_revision,
                        secondary_id=posting.secondary_external_id,
                    ),
                )
            else:
                result, posted = open_day.post(
                    ctx.adapter, doc, enabled=ctx.settings.post_on_first_open_day
                )
                if posted is not doc:  # re-dated: the books were closed for its date
                    doc, document = posted, document_as_dict(posted)
    except (ProviderAuthError, ProviderRateLimited) as exc:
        _wait_for_ledger(claim, ctx, exc)
        return posting
    except ProviderRejected as exc:
        _release(
            claim,
            status=PostingState.FAILED,
            message=exc.user_message,
            detail=str(exc),
            restore_sent=True,
            order_status=OrderPostingStatus.FAILED,
            hold_reason=exc.hold_reason,
        )
        return posting
    except IntegrationError as exc:
        if not _retry_later(claim, exc):
            _release(
                claim,
                status=PostingState.FAILED,
                message=exc.user_message,
                detail=str(exc),
                restore_sent=False,
                order_status=OrderPostingStatus.FAILED,
            )
        return posting
    except Exception as exc:
        logger.exception("posting %s failed unexpectedly", posting.pk)
        _fail_internal(
            claim,
            exc,
            _("Unify could not post this document (an internal error). Support has the details."),
            restore_sent=False,
        )
        return posting
    faults.fault_point(faults.AFTER_LEDGER_ANSWER)
    _record(claim, ctx, result, document, content_hash, covered_orders)
    return posting
