"""The posting engine: exactly once, whatever crashes or is delivered twice.

The life of a :class:`~accounting.models.Posting`:

1. **Created** (``pending``) for an eligible order, label cost or day, one row per
   (ledger connection, kind, source reference) - a unique constraint, so a second request to
   post the same thing finds the existing row. Its idempotency key and document number are
   fixed here.
2. **Claimed** by one worker: ``SELECT ... FOR UPDATE SKIP LOCKED`` on a due row, which
   becomes ``in_flight`` with a lease (``lease_until``) and a fresh ``lease_token``.
   ``sent_at`` is set in the same write: from now on the ledger may hold the document even
   if we never hear back.
3. **Sent** with the stored idempotency key (QBO ``requestid``). When the previous attempt
   may have reached the ledger (``sent_at`` was already set: a crash, a timeout, a lease
   that ran out), the document is first **looked up** by its number and our marker.
4. **Recorded** (``posted``) by an update fenced on the lease token: a worker whose lease
   was taken over records nothing; the new owner finds the document in its look-up.

Errors: a refused token marks the connection ``needs_reauth`` (owners are told) and the
posting waits; throttling and outages are retried with backoff; a refusal of the document
itself, or a document that cannot be built, fails with the ledger's or our own words.
"""

from __future__ import annotations

import contextvars
import dataclasses
import json
import logging
import random
import uuid
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounting.ledgers.as_dict import document_as_dict
from accounting.ledgers.base import (
    DocumentKind,
    ExternalRef,
    LedgerAdapter,
    RemovalResult,
    RemovalUnsupported,
    ResultStatus,
    customer_claims,
    memo_marker,
)
from accounting.ledgers.registry import get_provider
from accounting.models import (
    LabelCostMode,
    LedgerConnection,
    LedgerReference,
    LedgerStatus,
    Posting,
    PostingBatch,
    PostingEvent,
    PostingKind,
    PostingSettings,
    PostingState,
    PostingTrigger,
    SaleDocumentType,
)
from accounting.services import faults, labels, open_day, summaries, withdrawals
from accounting.services import fees as fees_module
from accounting.services import late_labels as late_labels_module
from accounting.services.connections import ledger_adapter, ledger_mark_needs_reauth
from accounting.services.documents import (
    DocumentBuildError,
    LedgerFacts,
    build_expense_document,
    build_sale_document,
    build_summary_document,
    fit_document_number,
    idempotency_key,
    summary_totals,
)
from accounting.services.mappings import settings_stamp
from sales.models import FulfillmentFee, Order, OrderLine, ShippingCost
from sales.models import PostingStatus as OrderPostingStatus
from unify.core.audit import audit_record
from unify.core.exceptions import (
    DomainError,
    IntegrationError,
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
)
from unify.core.stored_text import db_text
from unify.core.stored_text import gettext as _
from unify.notifications import events as notification_events
from unify.tenancy.models import Organization

logger = logging.getLogger(__name__)

CANCELLED_STATUSES = ("cancelled", "canceled")


# ---------------------------------------------------------------------------------------------
# Which ledger, which orders
# ---------------------------------------------------------------------------------------------


def active_ledger(organization: Organization) -> LedgerConnection | None:
    """The organization's ledger (connected or waiting to be reconnected), if any."""
    return (
        LedgerConnection.objects.filter(organization=organization)
        .exclude(status=LedgerStatus.DISABLED)
        .first()
    )


def _settings_of(connection: LedgerConnection) -> PostingSettings:
    ps, _created = PostingSettings.objects.get_or_create(
        ledger_connection=connection, defaults={"organization_id": connection.organization_id}
    )
    return ps


def _day_start(day: date, tz) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def eligible_orders(*, organization: Organization, posting_settings: PostingSettings) -> QuerySet:
    """Orders the settings allow to be posted: never ignored or cancelled ones."""
    ps = posting_settings
    qs = (
        Order.objects.filter(
            organization=organization,
            is_ignored=False,
            is_cancelled=False,
            merged_into__isnull=True,
        )
        .exclude(status__in=CANCELLED_STATUSES)
        .exclude(posting_status__in=(OrderPostingStatus.IGNORED, OrderPostingStatus.MERGED))
    )
    if ps.eligible_statuses:
        qs = qs.filter(status__in=ps.eligible_statuses)
    if ps.start_date:
        qs = qs.filter(order_date__gte=_day_start(ps.start_date, organization.tzinfo))
    if ps.store_ids:
        qs = qs.filter(source_store_id__in=ps.store_ids)
    return qs


def order_ineligibility(order: Order, ps: PostingSettings, tz) -> str:
    """Why ``order`` may not be posted now ("" when it may)."""
    if order.is_ignored or order.posting_status == OrderPostingStatus.IGNORED:
        return _("The order is ignored.")
    if order.is_cancelled or order.status in CANCELLED_STATUSES:
        return _("The order is cancelled.")
    if order.merged_into_id is not None:
        return _("The order was merged into another order in ShipStation, which is posted.")
    if ps.eligible_statuses and order.status not in ps.eligible_statuses:
        return _("Orders with status “%(status)s” are not posted (see the posting settings).") % {
            "status": order.status
        }
    if ps.start_date and order.order_date and order.order_date < _day_start(ps.start_date, tz):
        return _("The order is older than the posting start date.")
    if ps.store_ids and order.source_store_id not in ps.store_ids:
        return _("The order's store is not posted (see the posting settings).")
    return ""


def _label_costs_for(
    organization: Organization, ps: PostingSettings, order_ids: Iterable[int]
) -> QuerySet:
    qs = ShippingCost.objects.filter(organization=organization, order_id__in=list(order_ids))
    return labels.merchant_paid(qs.filter(voided=False).exclude(order__is_ignored=True))


# ---------------------------------------------------------------------------------------------
# Creating postings
# ---------------------------------------------------------------------------------------------


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


def posting_after_import(organization_id: int, connection_id: int, run_id: int | None) -> int:
    """Called when an import of store connection ``connection_id`` finished: flag what
    changed after posting and, when the ledger posts automatically, queue what is new.
    Returns the number of documents queued."""
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return 0
    ledger = active_ledger(organization)
    if ledger is None:
        return 0
    ps = _settings_of(ledger)
    posting_flag_changes(organization=organization, ledger=ledger)
    if ps.trigger != PostingTrigger.AFTER_IMPORT:
        return 0
    batch = _enqueue_unposted(
        organization=organization,
        ledger=ledger,
        ps=ps,
        store_connection_id=connection_id,
        origin=PostingBatch.Origin.AFTER_IMPORT,
    )
    return batch.total if batch else 0


def _enqueue_unposted(
    *,
    organization: Organization,
    ledger: LedgerConnection,
    ps: PostingSettings,
    store_connection_id: int | None,
    origin: str,
) -> PostingBatch | None:
    orders = eligible_orders(organization=organization, posting_settings=ps)
    if store_connection_id is not None:
        orders = orders.filter(connection_id=store_connection_id)
    if ps.document_type == SaleDocumentType.DAILY_SUMMARY:
        # A day not over yet gets its summary posting now, waiting for the day to end.
        orders = orders.exclude(posting_status=OrderPostingStatus.POSTED)
        summaries.queue_corrections(organization=organization, ledger=ledger, ps=ps)
        order_ids = summaries.orders_without_summary(orders, ledger, organization.tzinfo)
    else:
        # A skipped sale, or one withdrawn and taken out, posts again once eligible again.
        orders = orders.exclude(
            pk__in=Posting.objects.filter(ledger_connection=ledger, kind=PostingKind.SALE)
            .exclude(status__in=(PostingState.SKIPPED, PostingState.REMOVED))
            .values("order_id")
        )
        order_ids = list(orders.values_list("pk", flat=True))
    # Label costs that arrived after their order was posted (see late_labels).
    late_labels = []
    if ps.label_cost_mode != LabelCostMode.OFF:
        late_labels = list(
            labels.merchant_paid(
                late_labels_module.unposted_label_costs(
                    organization=organization, ledger=ledger, ps=ps
                )
            ).defer("raw")
        )
        # Labels without an order: a shipping expense of their own.
        late_labels += list(
            labels.orderless_label_costs_to_post(
                organization=organization,
                ledger=ledger,
                posting_settings=ps,
                connection_id=store_connection_id,
            )
        )
    if not order_ids and not late_labels:
        return None
    batch = posting_enqueue_orders(organization=organization, order_ids=order_ids, origin=origin)
    if late_labels:
        with transaction.atomic():
            created, _existing = _create_postings(ledger, ps, _label_specs(late_labels), batch)
            if created:
                PostingBatch.objects.filter(pk=batch.pk).update(total=batch.total + len(created))
                batch.total += len(created)
                _queue_drains_on_commit(ledger)
    return batch


def posting_flag_changes(*, organization: Organization, ledger: LedgerConnection) -> int:
    """List posted documents whose source changed since for review: edited orders
    (the import sets ``changed_after_posting``) and voided label costs (which "Update in the
    ledger" then removes from the ledger); and flag orders that got a label after they were
    posted (its cost is a document of its own, see ``late_labels``)."""
    changed_orders = Order.objects.filter(
        organization=organization, changed_after_posting=True
    ).values("pk")
    unflagged = Posting.objects.filter(
        ledger_connection=ledger, status=PostingState.POSTED, needs_review=False
    )
    now = timezone.now()
    merged_orders = Order.objects.filter(
        organization=organization, merged_into__isnull=False
    ).values("pk")
    flagged = unflagged.filter(kind=PostingKind.SALE, order_id__in=merged_orders).update(
        needs_review=True, error=_order_merged_message(ledger), updated_at=now
    )
    flagged += unflagged.filter(kind=PostingKind.SALE, order_id__in=changed_orders).update(
        needs_review=True, updated_at=now
    )
    flagged += unflagged.filter(kind=PostingKind.SHIPPING_COST, shipping_cost__voided=True).update(
        needs_review=True, error=_label_voided_message(ledger), updated_at=now
    )
    flagged += summaries.flag_changed(
        organization=organization, ledger=ledger, ps=_settings_of(ledger)
    )
    withdrawals.withdrawals_flag(ledger=ledger, ps=_settings_of(ledger))
    flagged += late_labels_module.late_labels_flag(
        organization=organization, ledger=ledger, ps=_settings_of(ledger)
    )
    return flagged


def _label_voided_message(ledger: LedgerConnection) -> str:
    if get_provider(ledger.provider).supports_update:
        return _(
            "The label was voided after its cost was posted. “Update selected in the ledger” "
            "removes the expense from %(ledger)s."
        ) % {"ledger": ledger.get_provider_display()}
    return _(
        "The label was voided after its cost was posted. Remove the expense in %(ledger)s."
    ) % {"ledger": ledger.get_provider_display()}


def _order_merged_message(ledger: LedgerConnection) -> str:
    if get_provider(ledger.provider).supports_update:
        return _(
            "The order was merged into another order in ShipStation after it was posted; that "
            "order carries the sale now. “Update selected in the ledger” removes this document "
            "from %(ledger)s."
        ) % {"ledger": ledger.get_provider_display()}
    return _(
        "The order was merged into another order in ShipStation after it was posted; that "
        "order carries the sale now. Remove this document in %(ledger)s."
    ) % {"ledger": ledger.get_provider_display()}


def posting_run_scheduled(*, now: datetime | None = None) -> int:
    """Queue what is due for organizations whose ledger posts on a schedule."""
    now = now or timezone.now()
    queued = 0
    from unify.tenancy.rls import rls_bypass
    from unify.tenancy.scoping import org_scope

    with rls_bypass("beat-fanout"):  # which organizations are due; each is served in its scope
        due = list(
            PostingSettings.all_orgs.filter(
                trigger=PostingTrigger.SCHEDULE, ledger_connection__status=LedgerStatus.ACTIVE
            ).select_related("ledger_connection", "organization")
        )

    for ps in due:
        interval = timedelta(minutes=max(15, ps.schedule_interval_minutes))
        if ps.last_scheduled_at and ps.last_scheduled_at + interval > now:
            continue
        with org_scope(ps.organization_id):
            PostingSettings.objects.filter(pk=ps.pk).update(last_scheduled_at=now)
            batch = _enqueue_unposted(
                organization=ps.organization,
                ledger=ps.ledger_connection,
                ps=ps,
                store_connection_id=None,
                origin=PostingBatch.Origin.SCHEDULE,
            )
            queued += batch.total if batch else 0
    return queued


# ---------------------------------------------------------------------------------------------
# Claiming and executing
# ---------------------------------------------------------------------------------------------


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


# Results a drain's sender may have handed to its writer thread and not yet seen recorded.
RECORD_BACKLOG = 4


class _Context:
    """What executing postings of one connection needs, loaded once per drain."""

    def __init__(self, connection: LedgerConnection) -> None:
        self.connection = connection
        self.organization = Organization.objects.get(pk=connection.organization_id)
        self.tz = self.organization.tzinfo
        self.settings = _settings_of(connection)
        self._settings_stamp = self.settings.updated_at
        self.provider = get_provider(connection.provider)
        self.facts = LedgerFacts(
            connection_id=connection.pk,
            doc_number_max_length=self.provider.doc_number_max_length,
        )
        self._adapter: LedgerAdapter | None = None
        self._refs: dict[str, str] | None = None
        self._claims: dict[str, str] | None = None
        self._refs_seen = 0  # the newest LedgerReference loaded
        self.orders: dict[int, Order] = {}
        self.lines: dict[int, list[OrderLine]] = {}
        catalog = connection.catalog or {}
        self.account_kinds = {a["id"]: a.get("kind", "") for a in catalog.get("accounts", [])}
        # Set by a drain: results are recorded by a writer thread (its own database
        # connection) while the next document is built and sent.
        self._recorder: ThreadPoolExecutor | None = None
        self._pending: deque[Future] = deque()

    # -- recording in the background ----------------------------------------------------------

    def record_in_background(self) -> None:
        """From now on ``_record`` hands its statement to a writer thread. Safe for exactly
        once: a result not yet recorded when the process dies is a posting ``in_flight``
        whose lease runs out, and the next attempt looks the document up in the ledger
        before sending anything (as after any crash between the answer and the commit)."""
        if self._recorder is None:
            self._recorder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="posting-rec")

    @property
    def records_in_background(self) -> bool:
        return self._recorder is not None

    def record_later(self, job, *args) -> None:
        assert self._recorder is not None
        # A few results in hand at most: the writer keeps up, or the sender waits for it.
        while len(self._pending) >= RECORD_BACKLOG:
            self._pending.popleft().result()  # re-raises the writer's error here
        # In the caller's context: its org_scope() (and so the database's row-level security
        # setting on the writer's own connection) applies to the writer's statements too.
        self._pending.append(self._recorder.submit(contextvars.copy_context().run, job, *args))

    def flush(self) -> None:
        """Wait until every result handed to the writer is recorded (its errors re-raised)."""
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return
        try:
            self.flush()
        finally:
            recorder.submit(_close_thread_connection).result()
            recorder.shutdown(wait=True)

    @property
    def adapter(self) -> LedgerAdapter:
        if self._adapter is None:
            self._adapter = ledger_adapter(self.connection)
        return self._adapter

    @property
    def refs(self) -> dict[str, str]:
        if self._refs is None:
            self._refs = {}
            self._load_refs()
        return self._refs

    def refresh_settings(self) -> None:
        """Mapping changes apply to every posting built afterwards: settings saved while
        this drain runs are read again (and the references they made stale forgotten)."""
        stamp = settings_stamp(self.connection.pk)
        if stamp == self._settings_stamp:
            return
        self.settings = _settings_of(self.connection)
        self._settings_stamp = self.settings.updated_at
        self._refs = self._claims = None
        self._refs_seen = 0

    @property
    def claims(self) -> dict[str, str]:
        """Ledger customer id -> the buyer (by email) that holds it in Unify's map."""
        if self._claims is None:
            self._claims = customer_claims(self.refs)
        return self._claims

    def refresh_refs(self) -> None:
        """Add the references other drains of this connection recorded since the last look
        (one query): drains running at once then find a customer or item another one just
        created instead of each creating it again (a duplicate name, then a query)."""
        if self._refs is not None:  # else loaded in full when first needed
            self._load_refs()

    def _load_refs(self) -> None:
        assert self._refs is not None
        rows = LedgerReference.objects.filter(
            ledger_connection=self.connection, pk__gt=self._refs_seen
        ).values_list("pk", "key", "external_id")
        for pk, key, external_id in rows:
            self._refs[key] = external_id
            self._refs_seen = max(self._refs_seen, pk)
            self._claims = None  # a claim may have come with them

    def prefetch(self, postings: list[Posting]) -> None:
        """Load the orders and lines of a batch of sale postings in two queries."""
        ids = [p.order_id for p in postings if p.kind == PostingKind.SALE and p.order_id]
        self.orders = Order.objects.in_bulk(ids) if ids else {}
        self.lines: dict[int, list[OrderLine]] = {pk: [] for pk in self.orders}
        if ids:
            for line in OrderLine.objects.filter(order_id__in=ids).order_by("order_id", "position"):
                self.lines[line.order_id].append(line)

    def order_and_lines(self, order_id: int) -> tuple[Order | None, list[OrderLine]]:
        order = self.orders.pop(order_id, None)
        if order is not None:
            return order, self.lines.pop(order_id, [])
        order = Order.objects.filter(pk=order_id).first()
        if order is None:
            return None, []
        return order, list(OrderLine.objects.filter(order=order).order_by("position"))

    def remember(self, resolved: Mapping[str, str]) -> None:
        new = {k: v for k, v in resolved.items() if self.refs.get(k) != v}
        if not new:
            return
        LedgerReference.objects.bulk_create(
            [
                LedgerReference(
                    organization_id=self.connection.organization_id,
                    ledger_connection=self.connection,
                    key=key[:300],
                    external_id=value,
                )
                # In key order: two drains inserting overlapping keys then wait for each
                # other instead of deadlocking on the unique index.
                for key, value in sorted(new.items())
            ],
            ignore_conflicts=True,
        )
        self.refs.update(new)
        self.claims.update(customer_claims(new))


class _Skip(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def build_or_release(claim: Claim, ctx: _Context) -> tuple[Any, str, list[int]] | None:
    """The posting's document, its content hash and the orders it covers; or None after
    releasing the posting (skipped with the reason, or failed with a message for the
    merchant). Shared by the one-by-one path and the request batches."""
    posting = claim.posting
    try:
        doc, content_hash, covered_orders = _build(ctx, posting)
    except summaries.DayStillOpen as wait:
        _wait_for_day_end(claim, wait)
        return None
    except _Skip as skip:
        _release(claim, status=PostingState.SKIPPED, message=skip.reason, restore_sent=True)
        return None
    except DocumentBuildError as exc:
        _release(
            claim,
            status=PostingState.FAILED,
            message=exc.user_message,
            restore_sent=True,
            order_status=OrderPostingStatus.FAILED,
            hold_reason=exc.hold_reason,
        )
        return None
    except Exception as exc:
        logger.exception("building the document of posting %s failed", posting.pk)
        _release(
            claim,
            status=PostingState.FAILED,
            message=_(
                "Unify could not build this document (an internal error). Support has the details."
            ),
            detail=f"{type(exc).__name__}: {exc}",
            restore_sent=True,
            order_status=OrderPostingStatus.FAILED,
        )
        return None
    return doc, content_hash, covered_orders


def _build(ctx: _Context, posting: Posting):
    """(document, content hash, orders it covers)."""
    ps = ctx.settings
    if posting.kind == PostingKind.SALE:
        order, lines = ctx.order_and_lines(posting.order_id)
        if order is None:
            raise _Skip(_("The order no longer exists."))
        reason = order_ineligibility(order, ps, ctx.tz)
        if reason:
            raise _Skip(reason)
        doc = build_sale_document(
            order=order,
            lines=lines,
            posting_settings=ps,
            facts=ctx.facts,
            document_number=posting.document_number,
            idempotency_key=posting.idempotency_key,
            source_reference=posting.source_reference,
            refs=ctx.refs,
            tz=ctx.tz,
            claims=ctx.claims,
        )
        return doc, order.content_hash, [order.pk]
    if posting.kind == PostingKind.SHIPPING_COST:
        cost = ShippingCost.objects.filter(pk=posting.shipping_cost_id).first()
        if cost is None:
            raise _Skip(_("The label cost no longer exists."))
        if cost.voided:
            raise _Skip(_("The label was voided."))
        order = Order.objects.filter(pk=cost.order_id).first() if cost.order_id else None
        if order is not None and order.is_ignored:
            raise _Skip(_("The order is ignored."))
        doc = build_expense_document(
            cost=cost,
            order=order,
            posting_settings=ps,
            facts=ctx.facts,
            document_number=posting.document_number,
            idempotency_key=posting.idempotency_key,
            source_reference=posting.source_reference,
            refs=ctx.refs,
            tz=ctx.tz,
        )
        if doc.payment_account_id:
            doc = dataclasses.replace(
                doc, payment_account_type=ctx.account_kinds.get(doc.payment_account_id, "")
            )
        return doc, cost.raw_hash, []
    if posting.kind == PostingKind.FULFILLMENT_FEE:
        fee = FulfillmentFee.objects.filter(pk=posting.fulfillment_fee_id).first()
        if fee is None:
            raise _Skip(_("The fulfillment fee no longer exists."))
        if fee.voided:
            raise _Skip(_("The fulfillment was voided."))
        order = Order.objects.filter(pk=fee.order_id).first() if fee.order_id else None
        if order is not None and order.is_ignored:
            raise _Skip(_("The order is ignored."))
        doc = fees_module.build_fee_document(
            fee=fee,
            order=order,
            posting_settings=ps,
            facts=ctx.facts,
            document_number=posting.document_number,
            idempotency_key=posting.idempotency_key,
            source_reference=posting.source_reference,
            refs=ctx.refs,
            tz=ctx.tz,
        )
        if doc.payment_account_id:
            doc = dataclasses.replace(
                doc, payment_account_type=ctx.account_kinds.get(doc.payment_account_id, "")
            )
        return doc, str(fee.fee), []
    summaries.check_day_closed(posting, ctx.tz)
    orders = summaries.summary_orders(ctx.organization, ps, posting)
    if not orders:
        raise _Skip(_("No orders to summarise for this day."))
    totals = summary_totals(orders, ps)
    store_name = orders[0][0].store_name or "ShipStation"
    doc = build_summary_document(
        totals=totals,
        day=posting.summary_date,
        store_name=store_name,
        currency=orders[0][0].currency or "USD",
        posting_settings=ps,
        facts=ctx.facts,
        document_number=posting.document_number,
        idempotency_key=posting.idempotency_key,
        source_reference=posting.source_reference,
    )
    return doc, summaries.summary_hash(orders), [o.pk for o, _lines in orders]


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


def posting_execute(*, claim: Claim, ctx: _Context | None = None) -> Posting:
    """Send one claimed posting and record the outcome (see the module docstring)."""
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
        _release(
            claim,
            status=PostingState.FAILED,
            message=_(
                "Unify could not post this document (an internal error). Support has the details."
            ),
            detail=f"{type(exc).__name__}: {exc}",
            restore_sent=False,
            order_status=OrderPostingStatus.FAILED,
        )
        return posting
    faults.fault_point(faults.AFTER_LEDGER_ANSWER)
    _record(claim, ctx, result, document, content_hash, covered_orders)
    return posting


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


def _close_thread_connection() -> None:
    """Close the calling thread's own database connection (the proxy resolves per thread)."""
    db_connection.close()


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


# ---------------------------------------------------------------------------------------------
# Removing: a posted label cost whose label was voided
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Draining and sweeping
# ---------------------------------------------------------------------------------------------


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
    margin = timedelta(seconds=min(float(settings.QBO_TIMEOUT_READ) + 10, lease / 2))
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
        size = min(batch_size, max_postings - done) if max_postings else batch_size
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
