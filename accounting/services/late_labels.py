"""Labels bought after their order was posted: a second label, a return label.

The order's sale (or its day's summary) is already in the ledger; the new label's cost is
not. After every import :func:`late_labels_flag` marks such orders "Changed after posting"
and writes the reason into the order's audit trail, once per label. The cost itself goes the
way of every label cost, as its own expense or bill (``_label_specs`` in the engine): queued
at once when the ledger posts after each import, with the next run when it posts on a
schedule, and when the merchant posts the order when posting is by hand. When the last of
an order's label costs is recorded, the order reads "Posted" again
(:func:`late_labels_settle`, called by the engine's ``_record``), unless the order itself was
edited meanwhile: that still needs its update.

``changed_after_posting`` stays reserved for edits of the order itself (those need the sale
updated in the ledger); a late label changes only ``posting_status``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy

from accounting.models import (
    LabelCostMode,
    LedgerConnection,
    Posting,
    PostingKind,
    PostingSettings,
    PostingState,
    PostingTrigger,
    SaleDocumentType,
)
from sales.models import Order, ShippingCost
from sales.models import PostingStatus as OrderPostingStatus
from unify.core.audit import audit_record
from unify.tenancy.models import Organization

AUDIT_ACTION = "sales.order.label_after_posting"
POSTED_ORDER_STATUSES = (OrderPostingStatus.POSTED, OrderPostingStatus.CHANGED)


def unposted_label_costs(
    *, organization: Organization, ledger: LedgerConnection, ps: PostingSettings
) -> QuerySet:
    """Label costs of posted orders that have no posting in this ledger: bought after the
    order was posted, or from before label costs were posted at all."""
    if ps.document_type == SaleDocumentType.DAILY_SUMMARY:
        # Summaries do not name their orders: the order's own status says it was posted.
        posted = Q(order__posting_status__in=POSTED_ORDER_STATUSES)
    else:
        posted = Q(
            Exists(
                Posting.objects.filter(
                    ledger_connection=ledger,
                    kind=PostingKind.SALE,
                    status=PostingState.POSTED,
                    order_id=OuterRef("order_id"),
                )
            )
        )
    return (
        ShippingCost.objects.filter(posted, organization=organization, voided=False)
        .exclude(order__isnull=True)
        .exclude(order__is_ignored=True)
        .exclude(
            Exists(Posting.objects.filter(ledger_connection=ledger, shipping_cost=OuterRef("pk")))
        )
    )


def _posted_at(
    organization: Organization,
    ledger: LedgerConnection,
    ps: PostingSettings,
    costs: list[ShippingCost],
) -> dict[int, datetime | None]:
    """When each cost's order went into the ledger (None: not known)."""
    if ps.document_type == SaleDocumentType.DAILY_SUMMARY:
        from accounting.services.documents import order_day, summary_store_key

        tz = organization.tzinfo
        days = dict(
            (
                ((key, day), at)
                for key, day, at in Posting.objects.filter(
                    ledger_connection=ledger, kind=PostingKind.SUMMARY, status=PostingState.POSTED
                ).values_list("summary_store_key", "summary_date", "posted_at")
            )
        )
        return {c.pk: days.get((summary_store_key(c.order), order_day(c.order, tz))) for c in costs}
    sales = dict(
        Posting.objects.filter(
            ledger_connection=ledger,
            kind=PostingKind.SALE,
            status=PostingState.POSTED,
            order_id__in={c.order_id for c in costs},
        ).values_list("order_id", "posted_at")
    )
    return {c.pk: sales.get(c.order_id) for c in costs}


def _bought_after(cost: ShippingCost, posted_at: datetime | None) -> bool:
    # Imported after the posting: it was not there to be posted with its order. (Older ones
    # without a posting date from before label costs were posted at all are not "changes".)
    return posted_at is not None and cost.created_at >= posted_at


def _already_flagged(organization: Organization, costs: Iterable[ShippingCost]) -> set[int]:
    targets = {f"sales.order:{c.order_id}" for c in costs}
    if not targets:
        return set()
    from unify.core.models import AuditEvent

    return {
        int(metadata.get("shipping_cost_id", 0))
        for metadata in AuditEvent.objects.filter(
            organization=organization, action=AUDIT_ACTION, target__in=targets
        ).values_list("metadata", flat=True)
    }


def late_labels_flag(
    *, organization: Organization, ledger: LedgerConnection, ps: PostingSettings
) -> int:
    """Flag orders whose label was bought after they were posted, once per label, with the
    reason in the order's audit trail. Returns how many labels were newly flagged."""
    if ps.label_cost_mode == LabelCostMode.OFF:
        return 0
    candidates = list(
        unposted_label_costs(organization=organization, ledger=ledger, ps=ps)
        .select_related("order")
        .defer("raw", "order__raw")
        .order_by("pk")
    )
    if not candidates:
        return 0
    posted_at = _posted_at(organization, ledger, ps, candidates)
    late = [c for c in candidates if _bought_after(c, posted_at[c.pk])]
    seen = _already_flagged(organization, late)
    late = [c for c in late if c.pk not in seen]
    if not late:
        return 0
    with transaction.atomic():
        Order.objects.filter(
            pk__in={c.order_id for c in late}, posting_status=OrderPostingStatus.POSTED
        ).update(posting_status=OrderPostingStatus.CHANGED)
        for cost in late:
            _record_reason(organization, ps, cost)
    # Posted meanwhile by another way in (the merchant's Post, a scheduled run) before the
    # order was flagged: then nothing is left to wait for.
    posted = set(
        Posting.objects.filter(
            ledger_connection=ledger,
            shipping_cost_id__in=[c.pk for c in late],
            status=PostingState.POSTED,
        ).values_list("shipping_cost_id", flat=True)
    )
    if posted:
        _settle(
            organization_id=organization.pk,
            ledger_connection_id=ledger.pk,
            order_ids={c.order_id for c in late} - {c.order_id for c in late if c.pk not in posted},
        )
    return len(late)


def _record_reason(organization: Organization, ps: PostingSettings, cost: ShippingCost) -> None:
    audit_record(
        action=AUDIT_ACTION,
        organization=organization,
        target=f"sales.order:{cost.order_id}",
        metadata={
            "shipping_cost_id": cost.pk,
            "is_return": cost.is_return,
            "cost": str(cost.total),
            "currency": cost.order.currency,
            "carrier": cost.carrier,
            "tracking_number": cost.tracking_number,
            "trigger": ps.trigger,
        },
    )


_REASONS = {
    (False, PostingTrigger.AFTER_IMPORT): gettext_lazy(
        "Changed after posting: another label was bought after the order was posted "
        "(%(amount)s, %(label)s). Its cost is posted as a document of its own."
    ),
    (True, PostingTrigger.AFTER_IMPORT): gettext_lazy(
        "Changed after posting: a return label was bought after the order was posted "
        "(%(amount)s, %(label)s). Its cost is posted as a document of its own."
    ),
    (False, PostingTrigger.SCHEDULE): gettext_lazy(
        "Changed after posting: another label was bought after the order was posted "
        "(%(amount)s, %(label)s). Its cost is posted as a document of its own with the next "
        "scheduled posting."
    ),
    (True, PostingTrigger.SCHEDULE): gettext_lazy(
        "Changed after posting: a return label was bought after the order was posted "
        "(%(amount)s, %(label)s). Its cost is posted as a document of its own with the next "
        "scheduled posting."
    ),
    (False, PostingTrigger.MANUAL): gettext_lazy(
        "Changed after posting: another label was bought after the order was posted "
        "(%(amount)s, %(label)s). Post the order to add its cost to the ledger as a document "
        "of its own."
    ),
    (True, PostingTrigger.MANUAL): gettext_lazy(
        "Changed after posting: a return label was bought after the order was posted "
        "(%(amount)s, %(label)s). Post the order to add its cost to the ledger as a document "
        "of its own."
    ),
}


SETTLE_WAITING_STATES = (PostingState.PENDING, PostingState.IN_FLIGHT, PostingState.FAILED)


def late_labels_settle(*, posting: Posting, order_ids: Sequence[int]) -> None:
    """``posting`` (a label cost) was just recorded as posted: its order, flagged for a label
    bought after posting, reads "Posted" again once no other label cost of the order waits
    or failed, unless the order itself was edited meanwhile (that still needs its update).

    Run as a statement of its own after the record committed: two label costs of one order
    recorded at the same moment by two workers each see the other one posted, or the later
    of the two checks does (a check inside the recording statement would see neither)."""
    _settle(
        organization_id=posting.organization_id,
        ledger_connection_id=posting.ledger_connection_id,
        order_ids=order_ids,
    )


def _settle(*, organization_id: int, ledger_connection_id: int, order_ids: Iterable[int]) -> int:
    # Runs in the organization's scope (a drain's writer thread in a copy of the drain's
    # context); for_org fails loudly in another organization's.
    waiting = Posting.objects.for_org(organization_id).filter(
        ledger_connection_id=ledger_connection_id,
        kind=PostingKind.SHIPPING_COST,
        order_id=OuterRef("pk"),
        status__in=SETTLE_WAITING_STATES,
    )
    return (
        Order.objects.for_org(organization_id)
        .filter(
            pk__in=list(order_ids),
            posting_status=OrderPostingStatus.CHANGED,
            changed_after_posting=False,
        )
        .exclude(Exists(waiting))
        .update(posting_status=OrderPostingStatus.POSTED)
    )


def late_label_reason(metadata: dict) -> str:
    """The audit trail's words for one flagged label (see :func:`late_labels_flag`)."""
    trigger = metadata.get("trigger")
    if trigger not in (PostingTrigger.AFTER_IMPORT, PostingTrigger.SCHEDULE):
        trigger = PostingTrigger.MANUAL
    label = " ".join(
        part for part in (metadata.get("carrier", ""), metadata.get("tracking_number", "")) if part
    )
    return str(_REASONS[(bool(metadata.get("is_return")), trigger)]) % {
        "amount": f"{metadata.get('cost', '')} {metadata.get('currency', '')}".strip(),
        "label": label or "—",
    }
