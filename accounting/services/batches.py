"""Posting claimed documents together, for ledgers that take many per request
(``LedgerProvider.batch_size`` > 1).

Exactly once holds as for one document at a time (see ``engine``): every posting of the
batch is claimed and marked sent before anything leaves; the ledger gets the batch with an
idempotency key derived from its postings' own keys; each answer is recorded per posting,
fenced on its lease. A posting whose earlier attempt may have reached the ledger is looked
up first (all such postings of the batch in a few requests) and completed with what is
found. One refused document fails alone with the ledger's words; the others post.

Updates and removals of posted documents, and postings of a connection that is not active,
go through the one-at-a-time path.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounting.ledgers.as_dict import document_as_dict
from accounting.ledgers.base import PostingResult, RequestNotSent, memo_marker
from accounting.models import LedgerStatus, PostingState
from accounting.services import faults, open_day
from accounting.services.connections import ledger_mark_needs_reauth
from accounting.services.engine import (
    Claim,
    _Context,
    _fail_internal,
    _is_voided_label_removal,
    _record,
    _release,
    _retry_later,
    _wait_for_ledger,
    build_or_release,
    posting_execute,
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


@dataclass(slots=True)
class _Ready:
    claim: Claim
    doc: Any
    content_hash: str
    covered: list[int]
    document: dict[str, Any]


def _build_or_release(claim: Claim, ctx: _Context) -> _Ready | None:
    """The posting's document, or None after releasing the posting (skipped, failed)."""
    built = build_or_release(claim, ctx)
    if built is None:
        return None
    doc, content_hash, covered = built
    return _Ready(claim, doc, content_hash, covered, document_as_dict(doc))


def _settle(ready: _Ready, ctx: _Context, outcome: PostingResult | Exception) -> None:
    claim = ready.claim
    if isinstance(outcome, PostingResult):
        _record(claim, ctx, outcome, ready.document, ready.content_hash, ready.covered)
        return
    if isinstance(outcome, RequestNotSent):
        # Never sent: back to the queue as if not claimed.
        _release(
            claim,
            status=PostingState.PENDING,
            message=_("Waiting for the ledger's rate limit; trying again shortly."),
            detail=str(outcome),
            next_attempt_at=timezone.now(),
            restore_sent=True,
            attempts_delta=-1,
        )
    elif getattr(outcome, "reached_ledger", False) and isinstance(
        outcome, ProviderAuthError | ProviderRateLimited
    ):
        # The document is in the ledger (its second half, a payment, is what waits): the
        # posting waits too, still marked sent, so the next attempt looks it up first.
        if isinstance(outcome, ProviderAuthError):
            ledger_mark_needs_reauth(connection_id=ctx.connection.pk)
            ctx.connection.status = LedgerStatus.NEEDS_REAUTH
        wait = float(getattr(outcome, "retry_after", 300.0))
        _release(
            claim,
            status=PostingState.PENDING,
            message=_("Waiting for the ledger; the document is in it, its payment is not yet."),
            detail=str(outcome),
            next_attempt_at=timezone.now() + timedelta(seconds=wait),
            restore_sent=False,
            attempts_delta=-1,
        )
    elif getattr(outcome, "daily", False):
        retry_after = float(getattr(outcome, "retry_after", 3600.0))
        _release(
            claim,
            status=PostingState.PENDING,
            message=_(
                "The daily limit of requests to %(ledger)s is spent; posting resumes when it "
                "allows."
            )
            % {"ledger": ctx.connection.get_provider_display()},
            detail=str(outcome),
            next_attempt_at=timezone.now() + timedelta(seconds=retry_after),
            restore_sent=True,
            attempts_delta=-1,
        )
    elif isinstance(outcome, ProviderAuthError | ProviderRateLimited):
        _wait_for_ledger(claim, ctx, outcome)
    elif isinstance(outcome, ProviderRejected) and _posted_on_first_open_day(ready, ctx, outcome):
        return
    elif isinstance(outcome, ProviderRejected):
        _release(
            claim,
            status=PostingState.FAILED,
            message=outcome.user_message,
            detail=str(outcome),
            restore_sent=True,
            order_status=OrderPostingStatus.FAILED,
            hold_reason=outcome.hold_reason,
        )
    elif isinstance(outcome, IntegrationError):
        if not _retry_later(claim, outcome):
            _release(
                claim,
                status=PostingState.FAILED,
                message=outcome.user_message,
                detail=str(outcome),
                restore_sent=False,
                order_status=OrderPostingStatus.FAILED,
            )
    else:
        logger.error("posting %s failed unexpectedly: %r", claim.posting.pk, outcome)
        _fail_internal(
            claim,
            outcome,
            _("Unify could not post this document (an internal error). Support has the details."),
            restore_sent=False,
        )


def _posted_on_first_open_day(ready: _Ready, ctx: _Context, refusal: ProviderRejected) -> bool:
    """Refused for closed books with "post on the first open day" on: the re-dated document
    is posted alone and its outcome settled (see ``open_day``). False when it does not apply."""
    try:
        later = open_day.first_open_day_version(
            ctx.adapter, ready.doc, refusal, enabled=ctx.settings.post_on_first_open_day
        )
    except IntegrationError as exc:
        _settle(ready, ctx, exc)
        return True
    if later is None:
        return False
    redated = _Ready(ready.claim, later, ready.content_hash, ready.covered, document_as_dict(later))
    try:
        outcome: Any = ctx.adapter.post(later)
    except IntegrationError as exc:
        outcome = exc
    _settle(redated, ctx, outcome)
    return True


def posting_execute_batch(*, claims: list[Claim], ctx: _Context) -> int:
    """Send claimed postings of one connection together and record each outcome. Returns
    how many postings were handled."""
    if not claims:
        return 0
    single = [
        c
        for c in claims
        if ctx.connection.status != LedgerStatus.ACTIVE
        or _is_voided_label_removal(c.posting)
        or (c.posting.external_id and c.posting.revision > 0)
    ]
    for claim in single:
        posting_execute(claim=claim, ctx=ctx)
    ready = [r for c in claims if c not in single if (r := _build_or_release(c, ctx)) is not None]
    if not ready:
        return len(claims)
    adapter = ctx.adapter
    # Answers may have been lost: look those documents up before sending anything again.
    lookups = [r for r in ready if r.claim.prior_sent]
    if lookups:
        try:
            found = adapter.find_many(
                [
                    (r.doc.kind, r.doc.reference, memo_marker(getattr(r.doc, "memo", "")))
                    for r in lookups
                ]
            )
        except IntegrationError as exc:
            for r in ready:
                _settle(r, ctx, exc)
            return len(claims)
        completed = [r for r in lookups if (r.doc.kind, r.doc.reference) in found]
        for r in completed:
            try:
                outcome: Any = adapter.complete(r.doc, found[(r.doc.kind, r.doc.reference)])
            except IntegrationError as exc:
                outcome = exc
            faults.fault_point(faults.AFTER_LEDGER_ANSWER)
            _settle(r, ctx, outcome)
        ready = [r for r in ready if r not in completed]
    if not ready:
        return len(claims)
    # Nothing leaves so late that a lease could run out before the answer is recorded.
    margin = timedelta(
        seconds=min(
            ctx.provider.read_timeout_seconds() + 10,
            float(settings.ACCOUNTING_POSTING_LEASE_SECONDS) / 2,
        )
    )
    earliest = min(r.claim.posting.lease_until for r in ready) - margin
    send_by = time.monotonic() + (earliest - timezone.now()).total_seconds()
    try:
        outcomes: list[Any] = adapter.post_many([r.doc for r in ready], send_by=send_by)
    except Exception as exc:  # noqa: BLE001 - an adapter bug fails the batch, not the drain
        logger.exception("posting a batch of %s documents failed unexpectedly", len(ready))
        outcomes = [exc] * len(ready)
    faults.fault_point(faults.AFTER_LEDGER_ANSWER)
    for r, outcome in zip(ready, outcomes, strict=True):
        _settle(r, ctx, outcome)
    return len(claims)
