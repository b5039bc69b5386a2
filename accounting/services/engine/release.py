"""Releasing a claimed posting without a result: waiting (day end, ledger access, rate
limit), retrying with backoff, or failed; fenced on the lease token."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounting.models import LedgerStatus, PostingKind, PostingState
from accounting.services import summaries
from accounting.services.connections import ledger_mark_needs_reauth
from accounting.services.engine.claim import Claim, _event, _fenced
from accounting.services.engine.context import _Context
from sales.models import Order
from sales.models import PostingStatus as OrderPostingStatus
from unify.core.exceptions import IntegrationError, ProviderAuthError, ProviderRateLimited
from unify.core.stored_text import gettext as _
from unify.notifications import events as notification_events

logger = logging.getLogger(__name__)


def _backoff(attempts: int) -> timedelta:
    base = float(settings.ACCOUNTING_POSTING_BACKOFF_SECONDS)
    ceiling = float(settings.ACCOUNTING_POSTING_BACKOFF_MAX_SECONDS)
    seconds = min(ceiling, base * (2 ** max(0, attempts - 1)))
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311 - jitter only


def _set_orders_status(order_ids: Iterable[int], status: str, *, clear_changed: bool) -> None:
    ids = list(order_ids)
    if not ids:
        return
    fields: dict[str, Any] = {"posting_status": status}
    if clear_changed:
        fields["changed_after_posting"] = False
    Order.objects.filter(pk__in=ids).exclude(posting_status=OrderPostingStatus.IGNORED).update(
        **fields
    )


def _release(
    claim: Claim,
    *,
    status: str,
    message: str,
    detail: str = "",
    next_attempt_at: datetime | None = None,
    restore_sent: bool,
    attempts_delta: int = 0,
    order_status: str | None = None,
    extra: Mapping[str, Any] | None = None,
    hold_reason: str = "",
) -> None:
    posting = claim.posting
    fields: dict[str, Any] = {
        "status": status,
        "lease_token": "",
        "lease_until": None,
        "next_attempt_at": next_attempt_at,
        "updated_at": timezone.now(),
    }
    if status in (PostingState.FAILED, PostingState.SKIPPED):
        fields["error"] = message[:4000]
        fields["error_detail"] = detail[:4000]
    if status == PostingState.FAILED:
        fields["hold_reason"] = hold_reason
    if restore_sent and not claim.prior_sent:
        # This attempt never reached the point where the ledger could hold the document.
        fields["sent_at"] = None
    if attempts_delta:
        fields["attempts"] = max(0, posting.attempts + attempts_delta)
    fields.update(extra or {})
    with transaction.atomic():
        if not _fenced(claim).update(**fields):
            return  # our lease was taken over: the new owner decides
        for key, value in fields.items():
            setattr(posting, key, value)
        _event(posting, PostingState.IN_FLIGHT, message or detail)
        if order_status and posting.kind == PostingKind.SALE and posting.order_id:
            _set_orders_status([posting.order_id], order_status, clear_changed=False)
        if status == PostingState.FAILED:  # given up: the members hear of the run once
            notification_events.posting_failed(posting)


def _fail_internal(claim: Claim, exc: BaseException, message: str, *, restore_sent: bool) -> None:
    """Unify's own error (not the ledger's refusal): the posting fails with ``message`` for
    the merchant and the exception, for support, as its detail."""
    _release(
        claim,
        status=PostingState.FAILED,
        message=message,
        detail=f"{type(exc).__name__}: {exc}",
        restore_sent=restore_sent,
        order_status=OrderPostingStatus.FAILED,
    )


def _wait_for_day_end(claim: Claim, wait: summaries.DayStillOpen) -> None:
    """A summary claimed before its day closed goes back to waiting, unsent and uncounted."""
    _release(
        claim,
        status=PostingState.PENDING,
        message=wait.reason,
        next_attempt_at=wait.until,
        restore_sent=True,
        attempts_delta=-1,
        extra={"error": wait.reason[:4000]},
    )


def _wait_for_ledger(
    claim: Claim, ctx: _Context, exc: ProviderAuthError | ProviderRateLimited
) -> None:
    """The ledger refused our access (the connection needs reconnecting; owners are told) or
    its rate limit was reached: the posting waits, and the attempt does not count."""
    if isinstance(exc, ProviderAuthError):
        ledger_mark_needs_reauth(connection_id=ctx.connection.pk)
        ctx.connection.status = LedgerStatus.NEEDS_REAUTH
        message = _("The ledger refused Unify's access; waiting until it is reconnected.")
        wait = timedelta(minutes=5)
    else:
        message = _("The ledger's rate limit was reached; trying again shortly.")
        wait = timedelta(seconds=exc.retry_after)
    _release(
        claim,
        status=PostingState.PENDING,
        message=message,
        detail=str(exc),
        next_attempt_at=timezone.now() + wait,
        restore_sent=True,
        attempts_delta=-1,
    )


def _retry_later(claim: Claim, exc: IntegrationError) -> bool:
    """Queue another attempt, with backoff, when the error is retryable and attempts are
    left; False when the caller must give up."""
    posting = claim.posting
    if not exc.retryable or posting.attempts >= int(settings.ACCOUNTING_POSTING_MAX_ATTEMPTS):
        return False
    _release(
        claim,
        status=PostingState.PENDING,
        message=_("The ledger did not answer properly; trying again."),
        detail=str(exc),
        next_attempt_at=timezone.now() + _backoff(posting.attempts),
        restore_sent=False,
    )
    return True
