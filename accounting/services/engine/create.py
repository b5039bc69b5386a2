"""Creating postings: one row per (ledger connection, kind, source reference), its
idempotency key and document number fixed here; failed and skipped ones reopened."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounting.ledgers.registry import get_provider
from accounting.models import (
    LedgerConnection,
    Posting,
    PostingBatch,
    PostingEvent,
    PostingKind,
    PostingSettings,
    PostingState,
)
from accounting.services import summaries, withdrawals
from accounting.services.documents import fit_document_number, idempotency_key
from sales.models import Order, ShippingCost
from unify.core.stored_text import gettext as _

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PostingSpec:
    kind: str
    source_reference: str
    base_number: str
    order_id: int | None = None
    shipping_cost_id: int | None = None
    summary_date: date | None = None
    summary_store_key: str = ""
    fulfillment_fee_id: int | None = None


def _number_taken(connection: LedgerConnection, number: str) -> bool:
    return Posting.objects.filter(ledger_connection=connection, document_number=number).exists()


def _assign_numbers(
    connection: LedgerConnection, prefix: str, specs: list[PostingSpec]
) -> dict[str, str]:
    """A document number per spec, unique per ledger connection (see fit_document_number)."""
    limit = get_provider(connection.provider).doc_number_max_length
    first = {s.source_reference: fit_document_number(prefix, s.base_number, limit) for s in specs}
    taken = set(
        Posting.objects.filter(
            ledger_connection=connection, document_number__in=list(first.values())
        ).values_list("document_number", flat=True)
    )
    used: set[str] = set()
    numbers: dict[str, str] = {}
    for spec in specs:
        number, attempt = first[spec.source_reference], 0
        while number in taken or number in used:
            attempt += 1
            number = fit_document_number(prefix, spec.base_number, limit, attempt)
            if number not in used and _number_taken(connection, number):
                taken.add(number)
        used.add(number)
        numbers[spec.source_reference] = number
    return numbers


def _new_posting(
    connection: LedgerConnection, spec: PostingSpec, number: str, batch: PostingBatch | None
) -> Posting:
    return Posting(
        organization_id=connection.organization_id,
        ledger_connection=connection,
        kind=spec.kind,
        source_reference=spec.source_reference,
        order_id=spec.order_id,
        shipping_cost_id=spec.shipping_cost_id,
        fulfillment_fee_id=spec.fulfillment_fee_id,
        summary_date=spec.summary_date,
        summary_store_key=spec.summary_store_key,
        batch=batch,
        status=PostingState.PENDING,
        idempotency_key=idempotency_key(
            connection_id=connection.pk,
            kind=spec.kind,
            source_reference=spec.source_reference,
            revision=0,
        ),
        document_number=number,
    )


def _create_postings(
    connection: LedgerConnection,
    ps: PostingSettings,
    specs: list[PostingSpec],
    batch: PostingBatch | None,
) -> tuple[list[int], list[Posting]]:
    """Rows for ``specs`` that have none yet. Returns (ids created, existing postings)."""
    if not specs:
        return [], []
    refs = [s.source_reference for s in specs]
    existing = list(Posting.objects.filter(ledger_connection=connection, source_reference__in=refs))
    have = {(p.kind, p.source_reference) for p in existing}
    new = [s for s in specs if (s.kind, s.source_reference) not in have]
    if not new:
        return [], existing
    numbers = _assign_numbers(connection, ps.document_number_prefix, new)
    Posting.objects.bulk_create(
        [_new_posting(connection, s, numbers[s.source_reference], batch) for s in new],
        ignore_conflicts=True,
    )
    made = dict(
        Posting.objects.filter(
            ledger_connection=connection,
            source_reference__in=[s.source_reference for s in new],
            batch=batch,
        ).values_list("source_reference", "pk")
    )
    created = list(made.values())
    for spec in new:
        if spec.source_reference in made:
            continue
        # Lost a race: either the same source was posted meanwhile (fine), or its document
        # number was taken by another enqueue at the same moment (take the next free one).
        if Posting.objects.filter(
            ledger_connection=connection, kind=spec.kind, source_reference=spec.source_reference
        ).exists():
            continue
        for _attempt in range(20):
            number = _assign_numbers(connection, ps.document_number_prefix, [spec])[
                spec.source_reference
            ]
            posting = _new_posting(connection, spec, number, batch)
            try:
                with transaction.atomic():
                    posting.save()
                created.append(posting.pk)
                break
            except IntegrityError:
                continue
    return [pk for pk in created if pk], existing


def _sale_specs(orders: Iterable[Order]) -> list[PostingSpec]:
    return [
        PostingSpec(
            kind=PostingKind.SALE,
            source_reference=f"order:{o.pk}",
            base_number=o.display_number,
            order_id=o.pk,
        )
        for o in orders
    ]


def _label_specs(costs: Iterable[ShippingCost]) -> list[PostingSpec]:
    return [
        PostingSpec(
            kind=PostingKind.SHIPPING_COST,
            source_reference=f"label:{c.pk}",
            base_number=f"{c.order_number or c.external_id}-L",
            order_id=c.order_id,
            shipping_cost_id=c.pk,
        )
        for c in costs
    ]


def _reopen(postings: Iterable[Posting], batch: PostingBatch | None, user=None) -> list[int]:
    """Failed and skipped postings asked for again go back to the queue (and the sale of an
    order withdrawn after posting, taken out of the ledger since: see ``withdrawals``)."""
    postings = list(postings)
    renewed = withdrawals.withdrawals_reopen(postings) + summaries.reopen(postings)
    reopened_removed = {p.pk for p in renewed}
    ids = []
    for posting in postings:
        if posting.pk in reopened_removed:
            posting.status = PostingState.FAILED
        if posting.status not in (PostingState.FAILED, PostingState.SKIPPED):
            continue
        ids.append(posting.pk)
        PostingEvent.objects.create(
            organization_id=posting.organization_id,
            posting=posting,
            from_status=posting.status,
            to_status=PostingState.PENDING,
            attempt=posting.attempts,
            message=_("Queued again."),
            actor=user if getattr(user, "is_authenticated", False) else None,
        )
    if ids:
        Posting.objects.filter(
            pk__in=ids, status__in=(PostingState.FAILED, PostingState.SKIPPED)
        ).update(
            status=PostingState.PENDING,
            next_attempt_at=None,
            error="",
            batch=batch,
            updated_at=timezone.now(),
        )
    return ids
