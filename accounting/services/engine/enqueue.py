"""Queueing postings on request: selected orders, failed ones again, changed ones as
updates of the ledger's document."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet

from accounting.ledgers.registry import get_provider
from accounting.models import (
    LabelCostMode,
    Posting,
    PostingBatch,
    PostingKind,
    PostingState,
    SaleDocumentType,
)
from accounting.services import fees as fees_module
from accounting.services import summaries, withdrawals
from accounting.services.documents import idempotency_key
from accounting.services.engine.claim import _event
from accounting.services.engine.create import (
    PostingSpec,
    _create_postings,
    _label_specs,
    _reopen,
    _sale_specs,
)
from accounting.services.engine.drain import _queue_drains_on_commit
from accounting.services.engine.eligibility import (
    _label_costs_for,
    _settings_of,
    active_ledger,
    eligible_orders,
)
from sales.models import Order, ShippingCost
from unify.core.audit import audit_record
from unify.core.exceptions import DomainError
from unify.core.stored_text import gettext as _
from unify.tenancy.models import Organization

logger = logging.getLogger(__name__)


def posting_enqueue_orders(
    *,
    organization: Organization,
    order_ids: Iterable[int] | QuerySet | None = None,
    user=None,
    origin: str = PostingBatch.Origin.SELECTED,
    include_label_costs: bool = True,
) -> PostingBatch:
    """Queue the eligible ones of these orders (ids or a queryset of the organization's
    orders) for posting to the organization's ledger. Orders already posted, ignored,
    cancelled or outside the posting settings are counted as not eligible; failed ones are
    queued again. Returns the batch whose progress a page can show."""
    connection = active_ledger(organization)
    if connection is None:
        raise DomainError(
            "no ledger", user_message=_("Connect a ledger on the Accounting tab first.")
        )
    ps = _settings_of(connection)
    if isinstance(order_ids, QuerySet):
        requested = order_ids.filter(organization=organization)
    else:
        requested = Order.objects.filter(organization=organization, pk__in=list(order_ids or ()))
    requested_ids = set(requested.values_list("pk", flat=True))
    eligible = list(
        eligible_orders(organization=organization, posting_settings=ps)
        .filter(pk__in=requested_ids)
        .only(*summaries.SUMMARY_ORDER_FIELDS)
    )
    tz = organization.tzinfo
    with transaction.atomic():
        batch = PostingBatch.objects.create(
            organization=organization,
            ledger_connection=connection,
            origin=origin,
            requested_by=user if getattr(user, "is_authenticated", False) else None,
        )
        if ps.document_type == SaleDocumentType.DAILY_SUMMARY:
            specs = summaries.summary_specs(eligible, tz, PostingSpec)
        else:
            specs = _sale_specs(eligible)
        created, existing = _create_postings(connection, ps, specs, batch)
        reopened = _reopen(existing, batch, user)
        # A summary of a day not over yet waits for it, outside the click's progress.
        held = summaries.hold_open_days(created + reopened, tz)
        Posting.objects.filter(pk__in=held).update(batch=None)
        labels_created: list[int] = []
        if include_label_costs and ps.label_cost_mode != LabelCostMode.OFF and eligible:
            costs = _label_costs_for(organization, ps, [o.pk for o in eligible])
            label_created, label_existing = _create_postings(
                connection, ps, _label_specs(costs), batch
            )
            labels_created = label_created + _reopen(label_existing, batch, user)
            # Fulfillment fees go with label costs, exactly like them (accounting.services.fees).
            owed = fees_module.fees_for(organization, [o.pk for o in eligible]).select_related(
                "order"
            )
            fee_created, fee_existing = _create_postings(
                connection, ps, fees_module.fee_specs(owed, PostingSpec), batch
            )
            labels_created += fee_created + _reopen(fee_existing, batch, user)
        # A posted order whose later label costs go now is not "already posted" for this click.
        completed = (
            set(Posting.objects.filter(pk__in=labels_created).values_list("order_id", flat=True))
            if labels_created
            else set()
        )
        done_existing = sum(
            1
            for p in existing
            if not p.is_open and p.pk not in reopened and p.order_id not in completed
        )
        batch.total = len(created) + len(reopened) + len(labels_created) - len(held)
        batch.not_eligible = (
            len(requested_ids)
            - len(eligible)
            + (done_existing if ps.document_type != SaleDocumentType.DAILY_SUMMARY else 0)
        )
        batch.save(update_fields=["total", "not_eligible", "updated_at"])
        # Not stored: what the click found already queued (waiting for the ledger, say).
        batch.already_queued = sum(1 for p in existing if p.is_open)
        batch.waiting_for_day_end = len(held)
        if batch.total:
            audit_record(
                action="posting.queued",
                organization=organization,
                actor=user,
                target=batch,
                metadata={"origin": origin, "documents": batch.total},
            )
            _queue_drains_on_commit(connection)
    return batch


def posting_retry_failed(
    *,
    organization: Organization,
    posting_ids: Iterable[int] | None = None,
    order_ids: Iterable[int] | None = None,
    user=None,
) -> PostingBatch | None:
    """Queue failed postings again: the given ones, those of the given orders, or (neither
    given) every failed posting of the organization's ledger."""
    connection = active_ledger(organization)
    if connection is None:
        raise DomainError(
            "no ledger", user_message=_("Connect a ledger on the Accounting tab first.")
        )
    qs = Posting.objects.filter(
        organization=organization, ledger_connection=connection, status=PostingState.FAILED
    )
    if posting_ids is not None:
        qs = qs.filter(pk__in=list(posting_ids))
    if order_ids is not None:
        qs = qs.filter(order_id__in=list(order_ids))
    failed = list(qs)
    if not failed:
        return None
    with transaction.atomic():
        batch = PostingBatch.objects.create(
            organization=organization,
            ledger_connection=connection,
            origin=PostingBatch.Origin.RETRY,
            requested_by=user if getattr(user, "is_authenticated", False) else None,
        )
        reopened = _reopen(failed, batch, user)
        batch.total = len(reopened)
        batch.save(update_fields=["total", "updated_at"])
        audit_record(
            action="posting.retry",
            organization=organization,
            actor=user,
            target=batch,
            metadata={"documents": batch.total},
        )
        _queue_drains_on_commit(connection)
    return batch


def posting_update_changed(
    *, organization: Organization, posting_ids: Iterable[int], user=None
) -> PostingBatch | None:
    """Re-post changed documents as updates of the ledger's document (where the ledger
    allows edits): a new revision with its own idempotency key."""
    connection = active_ledger(organization)
    if connection is None:
        raise DomainError(
            "no ledger", user_message=_("Connect a ledger on the Accounting tab first.")
        )
    if not get_provider(connection.provider).supports_update:
        raise DomainError(
            "no updates",
            user_message=_("%(ledger)s does not allow posted documents to be changed.")
            % {"ledger": connection.get_provider_display()},
        )
    with transaction.atomic():
        postings = list(
            Posting.objects.select_for_update().filter(
                organization=organization,
                ledger_connection=connection,
                pk__in=list(posting_ids),
                status=PostingState.POSTED,
                needs_review=True,
            )
        )
        if not postings:
            return None
        batch = PostingBatch.objects.create(
            organization=organization,
            ledger_connection=connection,
            origin=PostingBatch.Origin.UPDATE,
            requested_by=user if getattr(user, "is_authenticated", False) else None,
            total=len(postings),
        )
        voided = set(
            ShippingCost.objects.filter(
                pk__in=[p.shipping_cost_id for p in postings if p.shipping_cost_id], voided=True
            ).values_list("pk", flat=True)
        )
        merged = set(
            Order.objects.filter(
                pk__in=[p.order_id for p in postings if p.order_id], merged_into__isnull=False
            ).values_list("pk", flat=True)
        )
        for posting in postings:
            posting.revision += 1
            posting.idempotency_key = idempotency_key(
                connection_id=connection.pk,
                kind=posting.kind,
                source_reference=posting.source_reference,
                revision=posting.revision,
            )
            posting.status = PostingState.PENDING
            posting.next_attempt_at = None
            posting.batch = batch
            posting.save(
                update_fields=[
                    "revision",
                    "idempotency_key",
                    "status",
                    "next_attempt_at",
                    "batch",
                    "updated_at",
                ]
            )
            if posting.kind == PostingKind.SHIPPING_COST and posting.shipping_cost_id in voided:
                message = _("Removal from the ledger queued: the label was voided.")
            elif posting.kind == PostingKind.SALE and posting.order_id in merged:
                message = _("Removal from the ledger queued: the order was merged.")
            elif withdrawals.is_withdrawn_sale(posting, _settings_of(connection)):
                message = _("Removal from the ledger queued: the order was withdrawn.")
            else:
                message = _("Update queued.")
            _event(posting, PostingState.POSTED, message, user=user)
        audit_record(
            action="posting.update_queued",
            organization=organization,
            actor=user,
            target=batch,
            metadata={"documents": len(postings)},
        )
        _queue_drains_on_commit(connection)
    return batch
