"""Draining a connection's due postings (one at a time, or together for ledgers that take
many per request) and the sweep that starts drains."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from accounting.models import LedgerConnection, LedgerStatus, Posting, PostingState
from accounting.services.engine.claim import Claim, _claimable, posting_claim_batch
from accounting.services.engine.context import _Context
from accounting.services.engine.execute import posting_execute
from accounting.services.engine.release import _release
from unify.core.stored_text import gettext as _
from unify.notifications import events as notification_events

logger = logging.getLogger(__name__)


def posting_drain(
    *,
    ledger_connection_id: int,
    time_budget_seconds: float = 240.0,
    max_postings: int = 0,
    batch_size: int | None = None,
) -> int:
    """Execute due postings of one connection until none is left or the budget is spent.
    Returns how many were executed."""
    import time as _time

    started = _time.monotonic()
    connection = LedgerConnection.objects.filter(pk=ledger_connection_id).first()
    if connection is None or connection.status != LedgerStatus.ACTIVE:
        return 0
    ctx = _Context(connection)
    if db_connection.vendor == "postgresql" and not db_connection.in_atomic_block:
        ctx.record_in_background()
    try:
        return _drain(ctx, started, time_budget_seconds, max_postings, batch_size)
    finally:
        ctx.close()


def _drain(
    ctx: _Context,
    started: float,
    time_budget_seconds: float,
    max_postings: int,
    batch_size: int | None,
) -> int:
    import time as _time

    connection = ctx.connection
    ledger_connection_id = connection.pk
    # Never start a claimed posting so late that its lease could run out during the call.
    lease = float(settings.ACCOUNTING_POSTING_LEASE_SECONDS)
    margin = timedelta(seconds=min(ctx.provider.read_timeout_seconds() + 10, lease / 2))
    batch_size = batch_size or int(getattr(settings, "ACCOUNTING_POSTING_CLAIM_BATCH", 25))
    # A ledger that takes many documents per request (Xero) gets them claimed together.
    together = int(getattr(ctx.provider, "batch_size", 1))
    if together > 1:
        batch_size = max(batch_size, together)
    done = 0
    while True:
        if _time.monotonic() - started > time_budget_seconds:
            break
        if max_postings and done >= max_postings:
            break
        if ctx.provider.posting_paused_until(connection.company_id):
            notification_events.daily_limit_reached(connection)
            break  # the ledger's daily limit is spent; the sweep resumes after it
        ctx.refresh_settings()
        round_size = ctx.adapter.next_claim_size(batch_size) if together > 1 else batch_size
        size = min(round_size, max_postings - done) if max_postings else round_size
        claims = posting_claim_batch(
            ledger_connection_id=ledger_connection_id,
            organization_id=connection.organization_id,
            limit=max(1, size),
        )
        if not claims:
            break
        ctx.prefetch([c.posting for c in claims])
        ctx.refresh_refs()
        if together > 1:
            from accounting.services.batches import posting_execute_batch

            live = [c for c in claims if c.posting.lease_until - margin >= timezone.now()]
            done += posting_execute_batch(claims=live, ctx=ctx)
            if ctx.connection.status != LedgerStatus.ACTIVE:
                return done
            continue
        for index, claim in enumerate(claims):
            if claim.posting.lease_until - margin < timezone.now():
                continue  # another worker takes it over once the lease has run out
            posting_execute(claim=claim, ctx=ctx)
            done += 1
            if ctx.connection.status != LedgerStatus.ACTIVE:
                _release_unsent(claims[index + 1 :])
                return done
    return done


def _release_unsent(claims: list[Claim]) -> None:
    """The ledger stopped answering (access refused) with these claimed but not sent: they
    wait like the one that found out, instead of sitting under a lease until it runs out
    (a reconnection then sends them at once)."""
    wait_until = timezone.now() + timedelta(minutes=5)
    for claim in claims:
        _release(
            claim,
            status=PostingState.PENDING,
            message=_("Waiting until the ledger is reconnected."),
            next_attempt_at=wait_until,
            restore_sent=True,
            attempts_delta=-1,
        )


def has_due_postings(ledger_connection_id: int) -> bool:
    return (
        Posting.objects.filter(ledger_connection_id=ledger_connection_id)
        .filter(_claimable(timezone.now()))
        .exists()
    )


def _queue_drains_on_commit(connection: LedgerConnection) -> None:
    from accounting.tasks import queue_drains

    organization_id, connection_id = connection.organization_id, connection.pk
    transaction.on_commit(lambda: queue_drains(organization_id, connection_id))


def posting_sweep() -> int:
    """Start drains for every connection with due work (retries whose time has come,
    leases of dead workers that ran out). Returns the number of connections."""
    from accounting.tasks import queue_drains
    from unify.tenancy.rls import rls_bypass

    now = timezone.now()
    due = (
        Posting.all_orgs.filter(ledger_connection__status=LedgerStatus.ACTIVE)
        .filter(_claimable(now))
        .values_list("organization_id", "ledger_connection_id")
        .distinct()
    )
    with rls_bypass("beat-fanout"):  # which organizations have work; drains run in scope
        pairs = list(due)
    for organization_id, connection_id in pairs:
        queue_drains(organization_id, connection_id)
    return len(pairs)
