"""Queueing postings automatically: after an import, on a schedule; and flagging posted
documents whose source changed since."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounting.ledgers.registry import get_provider
from accounting.models import (
    LabelCostMode,
    LedgerConnection,
    LedgerStatus,
    Posting,
    PostingBatch,
    PostingKind,
    PostingSettings,
    PostingState,
    PostingTrigger,
    SaleDocumentType,
)
from accounting.services import labels, summaries, withdrawals
from accounting.services import late_labels as late_labels_module
from accounting.services.documents import source_name
from accounting.services.engine.create import _create_postings, _label_specs
from accounting.services.engine.drain import _queue_drains_on_commit
from accounting.services.engine.eligibility import _settings_of, active_ledger, eligible_orders
from accounting.services.engine.enqueue import posting_enqueue_orders
from sales.models import Order
from sales.models import PostingStatus as OrderPostingStatus
from unify.core.stored_text import gettext as _
from unify.tenancy.models import Organization

logger = logging.getLogger(__name__)


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
    merged = Order.objects.filter(organization=organization, merged_into__isnull=False)
    flagged = 0
    # One message per source the orders were merged in (it names the source).
    for source in merged.order_by().values_list("source", flat=True).distinct():
        flagged += unflagged.filter(
            kind=PostingKind.SALE, order_id__in=merged.filter(source=source).values("pk")
        ).update(
            needs_review=True,
            error=_order_merged_message(ledger, source_name(source)),
            updated_at=now,
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


def _order_merged_message(ledger: LedgerConnection, source: str) -> str:
    """``source``: the name of the source the orders were merged in."""
    values = {"ledger": ledger.get_provider_display(), "source": source}
    if get_provider(ledger.provider).supports_update:
        return (
            _(
                "The order was merged into another order in %(source)s after it was posted; that "
                "order carries the sale now. “Update selected in the ledger” removes this document "
                "from %(ledger)s."
            )
            % values
        )
    return (
        _(
            "The order was merged into another order in %(source)s after it was posted; that "
            "order carries the sale now. Remove this document in %(ledger)s."
        )
        % values
    )


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
