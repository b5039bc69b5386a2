"""Background actions of the Sales tab on "all N filtered" orders: started, executed in
leased chunks, and queued again when nobody works on them.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from sales.filters import OrderFilters, apply_filters
from sales.models import BulkActionKind, BulkActionStatus, Order, OrderBulkAction
from sales.services.order_ignore import _actor_id, _audit_orders, _ignore_ids, _unignore_ids
from sales.services.order_posting import orders_post
from sales.services.order_reimport import orders_reimport
from unify.core.audit import audit_record, client_ip
from unify.core.exceptions import DomainError
from unify.core.stored_text import gettext as _
from unify.tenancy.models import Organization

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1000
REIMPORT_CHUNK_SIZE = 10


def _task_queue() -> str | None:
    return getattr(settings, "SALES_TASK_QUEUE", "") or None


def order_bulk_action_start(
    *,
    organization: Organization,
    kind: str,
    actor: Any = None,
    filters: OrderFilters | None = None,
    order_ids: Sequence[int] = (),
    request=None,
) -> OrderBulkAction:
    """Record the action and queue its task once the transaction commits. ``filters`` means
    every order of the filter set (as it is when the task runs); else ``order_ids``."""
    if kind not in BulkActionKind.values:
        raise ValueError(f"unknown bulk action {kind!r}")
    if filters is None and not order_ids:
        raise DomainError("nothing selected", user_message=_("Select at least one order first."))
    ids: list[int] = []
    if filters is None:
        # Only the organization's own orders are ever recorded, whatever the form said.
        ids = sorted(
            Order.objects.filter(organization=organization, pk__in=list(order_ids)).values_list(
                "pk", flat=True
            )
        )
        if not ids:
            raise DomainError(
                "nothing selected", user_message=_("Select at least one order first.")
            )
    with transaction.atomic():
        action = OrderBulkAction.objects.create(
            organization=organization,
            kind=kind,
            filters=filters.to_json() if filters is not None else {},
            order_ids=ids,
            total=len(ids),
            requested_by=actor if _actor_id(actor) else None,
            requested_ip=client_ip(request),
        )
        audit_record(
            action=f"sales.bulk_{kind}.requested",
            organization=organization,
            actor=actor,
            target=action,
            metadata={
                "scope": "filtered" if filters is not None else "selected",
                "orders": len(ids),
            },
            request=request,
        )
        _enqueue(organization_id=organization.pk, action_id=action.pk)
    return action


def _enqueue(*, organization_id: int, action_id: int) -> None:
    from sales.tasks_tab import order_bulk_action_task

    kwargs = {"organization_id": organization_id, "action_id": action_id}
    transaction.on_commit(
        lambda: order_bulk_action_task.apply_async(kwargs=kwargs, queue=_task_queue())
    )


@dataclass(frozen=True, slots=True)
class BulkExecuteResult:
    action: OrderBulkAction
    continue_later: bool = False


@dataclass(frozen=True, slots=True)
class _Lease:
    token: str
    seconds: float

    def until(self) -> datetime:
        return timezone.now() + timedelta(seconds=self.seconds)


def _lease_seconds() -> float:
    return float(getattr(settings, "SALES_BULK_ACTION_LEASE_SECONDS", 300.0))


def _action_orders(action: OrderBulkAction, organization: Organization) -> QuerySet:
    queryset = Order.objects.filter(organization=organization)
    if action.order_ids:
        return queryset.filter(pk__in=action.order_ids)
    return apply_filters(
        queryset, OrderFilters.from_json(action.filters), organization=organization
    )


def _finish(action: OrderBulkAction, status: str, error: str | None = None) -> None:
    action.status = status
    if error is not None:
        action.error = error
    action.finished_at = timezone.now()
    action.lease_token = ""
    action.lease_until = None
    action.save(
        update_fields=["status", "error", "finished_at", "lease_token", "lease_until", "updated_at"]
    )


def _locked(action_id: int, organization_id: int) -> OrderBulkAction:
    return OrderBulkAction.objects.select_for_update().get(
        pk=action_id, organization_id=organization_id
    )


def _holds(action: OrderBulkAction, lease: _Lease) -> bool:
    """Whether this task still works on the (locked) action: the recovery task may have handed
    it to a fresh task after this one's lease ran out."""
    return action.is_open and action.lease_token == lease.token


def _claim(action_id: int, organization_id: int, lease: _Lease) -> OrderBulkAction | None:
    """Take the action's lease under its row lock: None when it is finished or another
    delivery of the task holds a live lease."""
    with transaction.atomic():
        action = _locked(action_id, organization_id)
        now = timezone.now()
        if not action.is_open or (action.lease_until is not None and action.lease_until > now):
            return None
        action.lease_token = lease.token
        action.lease_until = now + timedelta(seconds=lease.seconds)
        if action.status == BulkActionStatus.QUEUED:
            action.status = BulkActionStatus.RUNNING
            action.started_at = now
            if not action.order_ids:
                organization = Organization.objects.get(pk=organization_id)
                action.total = _action_orders(action, organization).count()
        action.save()
    return action


def _continue_later(action: OrderBulkAction, lease: _Lease) -> BulkExecuteResult:
    """Give the lease back with the checkpoint committed, so the continuation task (queued by
    the caller) can claim the action at once."""
    with transaction.atomic():
        action = _locked(action.pk, action.organization_id)
        if not _holds(action, lease):
            return BulkExecuteResult(action)
        action.lease_token = ""
        action.lease_until = None
        action.save(update_fields=["lease_token", "lease_until", "updated_at"])
    return BulkExecuteResult(action, continue_later=True)


def order_bulk_action_execute(
    *,
    organization_id: int,
    action_id: int,
    budget_seconds: float = 120.0,
    chunk_size: int = CHUNK_SIZE,
) -> BulkExecuteResult:
    """Work through the action in chunks of orders taken in id order. Safe to run twice (a
    redelivered task, or one queued again by ``order_bulk_actions_recover``): the task first
    takes the action's lease under its row lock, and a second delivery returns while that
    lease lives; every chunk is committed under the lock only while the lease is still ours.
    Returns ``continue_later`` when the time budget ran out."""
    organization = Organization.objects.get(pk=organization_id)
    deadline = time.monotonic() + budget_seconds
    lease = _Lease(token=uuid.uuid4().hex, seconds=max(_lease_seconds(), budget_seconds + 60.0))
    action = _claim(action_id, organization_id, lease)
    if action is None:
        return BulkExecuteResult(
            OrderBulkAction.objects.get(pk=action_id, organization_id=organization_id)
        )
    try:
        if action.kind == BulkActionKind.POST:
            return BulkExecuteResult(_execute_post(action, organization, lease))
        if action.kind == BulkActionKind.REIMPORT:
            return _execute_reimport(action, organization, deadline, lease)
        return _execute_flag(action, organization, deadline, chunk_size, lease)
    except DomainError as exc:
        with transaction.atomic():
            action = _locked(action_id, organization_id)
            if _holds(action, lease):
                _finish(action, BulkActionStatus.FAILED, exc.user_message)
        return BulkExecuteResult(action)
    except Exception:
        logger.exception("bulk action %s failed", action_id)
        with transaction.atomic():
            action = _locked(action_id, organization_id)
            if _holds(action, lease):
                _finish(
                    action,
                    BulkActionStatus.FAILED,
                    _("The action stopped because of an error on our side. Orders done so far "
                      "stay done; start it again to finish the rest."),
                )  # fmt: skip
        raise


def _execute_flag(
    action: OrderBulkAction,
    organization: Organization,
    deadline: float,
    chunk_size: int,
    lease: _Lease,
) -> BulkExecuteResult:
    change = _ignore_ids if action.kind == BulkActionKind.IGNORE else _unignore_ids
    audit_action = (
        "sales.order.ignored" if action.kind == BulkActionKind.IGNORE else "sales.order.unignored"
    )
    while True:
        with transaction.atomic():
            action = _locked(action.pk, organization.pk)
            if not _holds(action, lease):
                return BulkExecuteResult(action)
            ids = list(
                _action_orders(action, organization)
                .filter(pk__gt=action.last_order_id)
                .order_by("pk")
                .values_list("pk", flat=True)[:chunk_size]
            )
            if not ids:
                _finish(action, BulkActionStatus.SUCCEEDED)
                return BulkExecuteResult(action)
            changed = change(organization_id=organization.pk, order_ids=ids)
            _audit_orders(
                organization_id=organization.pk,
                action=audit_action,
                order_ids=changed,
                actor_id=action.requested_by_id,
                ip=action.requested_ip,
                metadata={"bulk_action": action.pk},
            )
            action.done += len(ids)
            action.changed += len(changed)
            action.total = max(action.total, action.done)
            action.last_order_id = ids[-1]
            action.lease_until = lease.until()
            action.save(
                update_fields=[
                    "done", "changed", "total", "last_order_id", "lease_until", "updated_at"
                ]
            )  # fmt: skip
        if time.monotonic() > deadline:
            return _continue_later(action, lease)


def _execute_reimport(
    action: OrderBulkAction, organization: Organization, deadline: float, lease: _Lease
) -> BulkExecuteResult:
    while True:
        ids = [pk for pk in action.order_ids if pk > action.last_order_id][:REIMPORT_CHUNK_SIZE]
        if not ids:
            with transaction.atomic():
                action = _locked(action.pk, organization.pk)
                if _holds(action, lease):
                    _finish(action, BulkActionStatus.SUCCEEDED)
            return BulkExecuteResult(action)
        # The source is asked outside any transaction; the checkpoint moves after the writes.
        # Should the lease have run out meanwhile, the task now holding it reads this chunk
        # again (a re-import repeated changes nothing) and only its counts are kept.
        result = orders_reimport(
            organization=organization,
            order_ids=ids,
            actor_id=action.requested_by_id,
            ip=action.requested_ip,
        )
        with transaction.atomic():
            action = _locked(action.pk, organization.pk)
            if not _holds(action, lease):
                return BulkExecuteResult(action)
            action.done += len(ids)
            action.changed += len(result.updated)
            action.failed += len(result.failed)
            if result.failed and not action.error:
                pk, reason = next(iter(result.failed.items()))
                action.error = _("Order %(id)s: %(reason)s") % {"id": pk, "reason": reason}
            action.last_order_id = ids[-1]
            action.lease_until = lease.until()
            action.save(
                update_fields=[
                    "done", "changed", "failed", "error", "last_order_id", "lease_until",
                    "updated_at",
                ]
            )  # fmt: skip
        if time.monotonic() > deadline:
            return _continue_later(action, lease)


def _execute_post(
    action: OrderBulkAction, organization: Organization, lease: _Lease
) -> OrderBulkAction:
    # Queuing orders for posting is itself safe to repeat (orders already queued or posted
    # are not eligible again); the lease keeps a second delivery from even trying.
    orders = _action_orders(action, organization)
    requested = orders.count()
    batch = orders_post(
        organization=organization, orders=orders, actor=action.requested_by, all_filtered=True
    )
    with transaction.atomic():
        action = _locked(action.pk, organization.pk)
        if not _holds(action, lease):
            return action
        # Counted in orders, like the rest of the banner: the orders now waiting for the ledger
        # (not the documents queued, which add a label cost or two per order).
        action.total = action.done = requested
        action.changed = max(0, requested - (getattr(batch, "not_eligible", 0) or 0))
        action.save(update_fields=["total", "done", "changed", "updated_at"])
        _finish(action, BulkActionStatus.SUCCEEDED)
    return action


# --- recovery of background actions nobody works on ----------------------------------------


def _bulk_stale_after() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "SALES_BULK_ACTION_STALE_SECONDS", 600.0)))


def _bulk_max_requeues() -> int:
    return int(getattr(settings, "SALES_BULK_ACTION_MAX_REQUEUES", 3))


def order_bulk_actions_recover(*, now: datetime | None = None) -> list[int]:
    """Queue again open actions nobody works on: queued ones whose task message was lost (or
    whose worker died before starting them), running ones whose task's lease ran out (a killed
    worker) or whose continuation was lost. An action already queued again
    ``SALES_BULK_ACTION_MAX_REQUEUES`` times ends failed, with a message the Sales tab shows.
    Returns the ids queued again.

    Safe to run twice, concurrently too: rows are taken with SKIP LOCKED, and an action queued
    again counts as changed just now, so the next run leaves it alone for a while; the task
    itself claims the action's lease before working on it."""
    now = now or timezone.now()
    quiet_since = now - _bulk_stale_after()
    abandoned = OrderBulkAction.all_orgs.filter(
        status__in=(BulkActionStatus.QUEUED, BulkActionStatus.RUNNING)
    ).filter(Q(lease_until__lt=now) | Q(lease_until__isnull=True, updated_at__lt=quiet_since))
    requeued: list[int] = []
    from unify.tenancy.rls import rls_bypass

    # Across organizations: only the actions' state is touched, the work is queued in scope.
    with rls_bypass("beat-fanout"), transaction.atomic():
        for action in abandoned.select_for_update(skip_locked=True).order_by("pk"):
            rows = OrderBulkAction.all_orgs.filter(pk=action.pk)
            if action.requeues >= _bulk_max_requeues():
                rows.update(
                    status=BulkActionStatus.FAILED,
                    error=_(
                        "This action stopped because no background worker took it up, even "
                        "after it was queued again. Orders done so far stay done; start it "
                        "again to finish the rest."
                    ),
                    finished_at=now,
                    lease_token="",
                    lease_until=None,
                    updated_at=now,
                )
                logger.warning(
                    "bulk action %s failed: not taken up after %s re-queues",
                    action.pk,
                    action.requeues,
                )
                continue
            rows.update(
                requeues=action.requeues + 1, lease_token="", lease_until=None, updated_at=now
            )
            _enqueue(organization_id=action.organization_id, action_id=action.pk)
            requeued.append(action.pk)
    return requeued
