"""The record of documents sent to a ledger together in one request (ledger-neutral).

A batch is recorded, members and exact body, before it is sent; until its answer has been
read it is "open", and a document that is a member of an open batch is only ever sent again
inside that identical batch, under the same request id (the ledger replays its answer).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounting.models import LedgerConnection, LedgerRequestBatch, LedgerRequestMember


@dataclass(frozen=True, slots=True)
class OpenBatch:
    batch_id: int
    request_id: str
    body: str
    members: dict[str, str]  # idempotency key -> bId


def record(*, connection_id: int, body: str, members: Sequence[tuple[str, str]]) -> OpenBatch:
    """Record a batch (``members``: ``(idempotency key, bId)``) before it is sent. Like every
    function here, in the connection's organization's scope (the posting drain)."""
    organization_id = (
        LedgerConnection.objects.filter(pk=connection_id)
        .values_list("organization_id", flat=True)
        .get()
    )
    with transaction.atomic():
        batch = LedgerRequestBatch.objects.create(
            organization_id=organization_id, ledger_connection_id=connection_id, body=body
        )
        LedgerRequestMember.objects.bulk_create(
            LedgerRequestMember(organization_id=organization_id, batch=batch, key=k, b_id=b)
            for k, b in members
        )
    return OpenBatch(batch.pk, batch.request_id, body, dict(members))


def open_batches(*, connection_id: int, keys: Iterable[str]) -> list[OpenBatch]:
    """The unanswered batches of this connection holding any of ``keys`` whose outcome has
    not been read yet (oldest first)."""
    keys = list(keys)
    if not keys:
        return []
    ids = set(
        LedgerRequestMember.objects.filter(
            key__in=keys,
            answered_at__isnull=True,
            batch__ledger_connection_id=connection_id,
            batch__answered_at__isnull=True,
        ).values_list("batch_id", flat=True)
    )
    if not ids:
        return []
    members: dict[int, dict[str, str]] = {}
    for batch_id, key, b_id in LedgerRequestMember.objects.filter(batch_id__in=ids).values_list(
        "batch_id", "key", "b_id"
    ):
        members.setdefault(batch_id, {})[key] = b_id
    return [
        OpenBatch(b.pk, b.request_id, b.body, members.get(b.pk, {}))
        for b in LedgerRequestBatch.objects.filter(pk__in=ids).order_by("pk")
    ]


def mark_answered(batch_id: int, keys: Iterable[str] | None = None) -> None:
    """The answer was read for the members ``keys`` (their outcomes are in the caller's
    hands), or for all of them (``None``: the whole request was refused). A member whose
    outcome was read is sent again, if ever, in a new batch; the others, claimed by another
    drain meanwhile, still get the identical batch again and Intuit's replay of its answer
    (the first send may have been throttled, and this one the first to create them). The
    batch is answered when every member is."""
    now = timezone.now()
    members = LedgerRequestMember.objects.filter(batch_id=batch_id, answered_at__isnull=True)
    if keys is not None:
        members = members.filter(key__in=list(keys))
    members.update(answered_at=now)
    if (
        keys is None
        or not LedgerRequestMember.objects.filter(
            batch_id=batch_id, answered_at__isnull=True
        ).exists()
    ):
        LedgerRequestBatch.objects.filter(pk=batch_id, answered_at__isnull=True).update(
            answered_at=now
        )
