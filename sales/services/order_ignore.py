"""Ignoring and un-ignoring orders on the Sales tab (see ``sales.services.review``): conditional
UPDATEs and one audit event per changed order, written in bulk.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Case, Exists, OuterRef, Value, When
from django.utils import timezone

from sales.models import Order, PostingStatus
from unify.core.audit import client_ip
from unify.core.models import AuditEvent
from unify.tenancy.models import Organization

IGNORABLE = (PostingStatus.NOT_POSTED, PostingStatus.FAILED)


def _actor_id(actor: Any) -> int | None:
    return actor.pk if getattr(actor, "is_authenticated", False) else None


def _audit_orders(
    *,
    organization_id: int,
    action: str,
    order_ids: Sequence[int],
    actor_id: int | None,
    ip: str | None,
    metadata: dict[str, Any] | None = None,
) -> None:
    """One audit event per order, in one INSERT (``audit_record`` writes one row per call,
    which a background action over 200,000 orders cannot afford)."""
    if not order_ids:
        return
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                organization_id=organization_id,
                actor_id=actor_id,
                action=action,
                target=f"sales.order:{pk}",
                metadata=metadata or {},
                ip=ip,
            )
            for pk in order_ids
        ],
        batch_size=1000,
    )


def _ignore_ids(*, organization_id: int, order_ids: Sequence[int]) -> list[int]:
    """Ignore the ignorable ones of these orders; returns the ids that changed."""
    with transaction.atomic():
        changed = list(
            Order.objects.select_for_update()
            .filter(
                organization_id=organization_id,
                pk__in=list(order_ids),
                posting_status__in=IGNORABLE,
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if changed:
            Order.objects.filter(organization_id=organization_id, pk__in=changed).update(
                is_ignored=True, posting_status=PostingStatus.IGNORED, updated_at=timezone.now()
            )
    return changed


def _unignore_status() -> Case | Value:
    """ "failed" when the order's last posting attempt failed, else "not posted"."""
    from accounting.models import Posting, PostingKind, PostingState

    failed = Posting.objects.filter(  # in the scope of the orders it is used with
        order_id=OuterRef("pk"),
        kind__in=(PostingKind.SALE, PostingKind.SUMMARY),
        status=PostingState.FAILED,
    )
    return Case(
        When(Exists(failed), then=Value(PostingStatus.FAILED)),
        default=Value(PostingStatus.NOT_POSTED),
    )


def _unignore_ids(*, organization_id: int, order_ids: Sequence[int]) -> list[int]:
    with transaction.atomic():
        changed = list(
            Order.objects.select_for_update()
            .filter(
                organization_id=organization_id,
                pk__in=list(order_ids),
                posting_status=PostingStatus.IGNORED,
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if changed:
            Order.objects.filter(organization_id=organization_id, pk__in=changed).update(
                is_ignored=False, posting_status=_unignore_status(), updated_at=timezone.now()
            )
    return changed


def orders_ignore(
    *, organization: Organization, order_ids: Sequence[int], actor: Any = None, request=None
) -> int:
    """Ignore these orders of the organization (ids of other organizations are skipped).
    Returns how many changed; posted orders cannot be ignored and are left alone."""
    with transaction.atomic():
        changed = _ignore_ids(organization_id=organization.pk, order_ids=order_ids)
        _audit_orders(
            organization_id=organization.pk,
            action="sales.order.ignored",
            order_ids=changed,
            actor_id=_actor_id(actor),
            ip=client_ip(request),
        )
    return len(changed)


def orders_unignore(
    *, organization: Organization, order_ids: Sequence[int], actor: Any = None, request=None
) -> int:
    with transaction.atomic():
        changed = _unignore_ids(organization_id=organization.pk, order_ids=order_ids)
        _audit_orders(
            organization_id=organization.pk,
            action="sales.order.unignored",
            order_ids=changed,
            actor_id=_actor_id(actor),
            ip=client_ip(request),
        )
    return len(changed)
