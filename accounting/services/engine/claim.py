"""Claiming due postings for one worker: a lease and a fresh token, ``sent_at`` set in the
same write (from then on the ledger may hold the document)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounting.models import Posting, PostingEvent, PostingState

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Claim:
    posting: Posting
    token: str
    prior_sent: bool


def _claimable(now: datetime) -> Q:
    return Q(status=PostingState.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    ) | Q(status=PostingState.IN_FLIGHT, lease_until__lt=now)


def posting_claim(*, ledger_connection_id: int, posting_id: int | None = None) -> Claim | None:
    """Take one due posting (the given one, or the oldest) for this worker, or None."""
    now = timezone.now()
    lease = timedelta(seconds=float(settings.ACCOUNTING_POSTING_LEASE_SECONDS))
    with transaction.atomic():
        qs = Posting.objects.select_for_update(skip_locked=True).filter(
            ledger_connection_id=ledger_connection_id
        )
        if posting_id is not None:
            qs = qs.filter(pk=posting_id)
        posting = qs.filter(_claimable(now)).order_by("pk").first()
        if posting is None:
            return None
        prior_sent = posting.sent_at is not None
        token = uuid.uuid4().hex
        posting.status = PostingState.IN_FLIGHT
        posting.lease_token = token
        posting.lease_until = now + lease
        posting.attempts += 1
        posting.sent_at = now
        posting.save(
            update_fields=[
                "status",
                "lease_token",
                "lease_until",
                "attempts",
                "sent_at",
                "updated_at",
            ]
        )
    return Claim(posting=posting, token=token, prior_sent=prior_sent)


def _event(
    posting: Posting, from_status: str, message: str = "", *, user=None, to_status: str = ""
) -> None:
    PostingEvent.objects.create(
        organization_id=posting.organization_id,
        posting=posting,
        from_status=from_status,
        to_status=to_status or posting.status,
        attempt=posting.attempts,
        message=message[:2000],
        actor=user if getattr(user, "is_authenticated", False) else None,
    )


def _fenced(claim: Claim) -> QuerySet:
    return Posting.objects.filter(
        pk=claim.posting.pk, lease_token=claim.token, status=PostingState.IN_FLIGHT
    )


_CLAIM_SQL = """
WITH picked AS (
    SELECT id, sent_at FROM accounting_posting
    WHERE ledger_connection_id = %(connection)s AND organization_id = %(organization)s
      AND ((status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s))
           OR (status = 'in_flight' AND lease_until < %(now)s))
    ORDER BY id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE accounting_posting AS p SET
    status = 'in_flight', lease_token = %(token)s, lease_until = %(lease_until)s,
    attempts = p.attempts + 1, sent_at = %(now)s, updated_at = %(now)s
FROM picked WHERE p.id = picked.id
RETURNING p.id, picked.sent_at
"""


def posting_claim_batch(
    *, ledger_connection_id: int, organization_id: int, limit: int
) -> list[Claim]:
    """Up to ``limit`` due postings for this worker. On PostgreSQL one statement claims them
    all (``FOR UPDATE SKIP LOCKED`` inside an ``UPDATE``); elsewhere one at a time."""
    if db_connection.vendor != "postgresql" or db_connection.in_atomic_block:
        claims = []
        for _i in range(limit):
            claim = posting_claim(ledger_connection_id=ledger_connection_id)
            if claim is None:
                break
            claims.append(claim)
        return claims
    now = timezone.now()
    token = uuid.uuid4().hex
    lease_until = now + timedelta(seconds=float(settings.ACCOUNTING_POSTING_LEASE_SECONDS))
    with db_connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL,
            {
                "connection": ledger_connection_id,
                "organization": organization_id,
                "now": now,
                "limit": limit,
                "token": token,
                "lease_until": lease_until,
            },
        )
        prior = dict(cursor.fetchall())
    if not prior:
        return []
    postings = Posting.objects.filter(pk__in=list(prior)).order_by("pk")
    return [Claim(posting=p, token=token, prior_sent=prior[p.pk] is not None) for p in postings]
