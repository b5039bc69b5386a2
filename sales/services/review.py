"""Writes of the Sales tab: ignore / un-ignore orders, re-import orders from ShipStation, post
them (through the accounting app), and the background actions on "all N filtered".

Ignored orders are never posted: only orders that are not in the ledger (not posted, or
failed) can be ignored; un-ignoring puts them back to "failed" when their last posting
attempt failed, else to "not posted". Both are conditional UPDATEs, so a posting that runs at
the same moment never sees a half-applied state, and repeating one changes nothing.

Every changed order gets its own audit event (``sales.order.ignored`` ...), so the order's
page shows who did what even when the change came from a background action on 200,000
orders; those events are written in bulk, one INSERT per chunk.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Exists, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from connections.models import ConnectionMode, ConnectionStatus, SourceStore, StoreConnection
from sales.filters import OrderFilters, apply_filters
from sales.models import (
    BulkActionKind,
    BulkActionStatus,
    Order,
    OrderBulkAction,
    OrderSource,
    PostingStatus,
)
from unify.core.audit import audit_record, client_ip
from unify.core.exceptions import (
    DomainError,
    IntegrationError,
    ProviderAuthError,
    ProviderRateLimited,
)
from unify.core.models import AuditEvent
from unify.core.stored_text import gettext as _
from unify.tenancy.models import Organization

logger = logging.getLogger(__name__)

IGNORABLE = (PostingStatus.NOT_POSTED, PostingStatus.FAILED)
CHUNK_SIZE = 1000
REIMPORT_CHUNK_SIZE = 10


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

    failed = Posting.all_orgs.filter(
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


# --- posting (the accounting app owns it; the Sales tab only asks) ---------------------------


def ledger_connected(*, organization: Organization) -> bool:
    """Whether the organization has a ledger the Sales tab can post to."""
    from accounting.services import active_ledger

    return active_ledger(organization) is not None


def ledgers_available() -> list[str]:
    """The names of the ledgers a merchant can connect today ("QuickBooks Online"), for the
    prompts that send them to the Accounting tab (never one that is still "coming soon")."""
    from accounting.ledgers.registry import ledger_cards

    return [str(card["name"]) for card in ledger_cards() if card["available"]]


def orders_post(
    *,
    organization: Organization,
    orders: Sequence[int] | QuerySet,
    actor: Any = None,
    all_filtered: bool = False,
) -> Any:
    """Queue these orders for posting; returns the accounting app's batch. Raises
    ``DomainError`` (with a message for the merchant) when no ledger is connected."""
    from accounting.models import PostingBatch
    from accounting.services import posting_enqueue_orders

    origin = PostingBatch.Origin.FILTERED if all_filtered else PostingBatch.Origin.SELECTED
    return posting_enqueue_orders(
        organization=organization, order_ids=orders, user=actor, origin=origin
    )


def orders_retry_failed(
    *, organization: Organization, order_ids: Sequence[int] | None, actor: Any = None
) -> Any:
    """Queue the failed postings of these orders (all failed ones when ``order_ids`` is None)
    again. Returns the batch, or None when nothing had failed."""
    from accounting.services import posting_retry_failed

    return posting_retry_failed(
        organization=organization,
        order_ids=list(order_ids) if order_ids is not None else None,
        user=actor,
    )


# --- re-import from ShipStation ----------------------------------------------------------------


@dataclass
class ReimportResult:
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # order id -> reason for the merchant

    @property
    def done(self) -> int:
        return len(self.updated) + len(self.unchanged) + len(self.failed)


AdapterFactory = Callable[[StoreConnection], Any]


def _default_adapter(connection: StoreConnection) -> Any:
    from sales.services.sync import default_adapter_factory

    return default_adapter_factory(connection)


def _with_rate_limit_retries(call: Callable[[], Any], *, attempts: int = 3) -> Any:
    for attempt in range(attempts):
        try:
            return call()
        except ProviderRateLimited as exc:
            if attempt == attempts - 1:
                raise
            time.sleep(min(60.0, max(0.1, float(exc.retry_after or 1.0))))
    return None  # pragma: no cover - the loop returns or raises


def _fetch_source_order(adapter: Any, order: Order, store_external_id: int | None) -> Any:
    """The order as its source has it now (the source's provider knows how to find it);
    None when the source no longer has it."""
    from connections.sources.registry import source_provider

    return source_provider(adapter.key).order_refetch(
        adapter,
        external_id=order.external_id,
        number=order.number,
        order_date=order.order_date,
        store_external_id=store_external_id,
        call=_with_rate_limit_retries,
    )


def _fetch_source_labels(adapter: Any, order: Order) -> list[Any]:
    from connections.sources.registry import source_provider

    return source_provider(adapter.key).order_labels_refetch(
        adapter, external_id=order.external_id, call=_with_rate_limit_retries
    )


def _order_filter(connection: StoreConnection):
    from sales.services.upsert import OrderFilter, StoreInfo

    stores = {
        str(external_id): StoreInfo(pk=pk, name=name, included=included)
        for pk, external_id, name, included in SourceStore.objects.filter(
            organization_id=connection.organization_id, connection_id=connection.pk
        ).values_list("pk", "external_id", "name", "included")
    }
    return OrderFilter(statuses=frozenset(), stores=stores)


def orders_reimport(
    *,
    organization: Organization,
    order_ids: Sequence[int],
    actor_id: int | None = None,
    ip: str | None = None,
    adapter_factory: AdapterFactory | None = None,
) -> ReimportResult:
    """Read these orders and their labels from ShipStation again and write what changed,
    through the import's own page upserts (unchanged orders are not written at all)."""
    from sales.services.notify import connection_needs_credentials
    from sales.services.upsert import order_upsert_page, shipping_cost_upsert_page

    factory = adapter_factory or _default_adapter
    result = ReimportResult()
    orders = list(
        Order.objects.filter(organization=organization, pk__in=list(order_ids))
        .select_related("source_store")
        .defer("raw")
        .order_by("pk")
    )
    by_connection: dict[int, list[Order]] = {}
    for order in orders:
        if order.source != OrderSource.SHIPSTATION or order.connection_id is None:
            result.failed[order.pk] = _("Not imported from ShipStation.")
            continue
        by_connection.setdefault(order.connection_id, []).append(order)
    connections = {
        c.pk: c
        for c in StoreConnection.objects.filter(organization=organization, pk__in=by_connection)
    }
    for connection_id, its_orders in by_connection.items():
        connection = connections.get(connection_id)
        if connection is None or connection.status != ConnectionStatus.ACTIVE:
            for order in its_orders:
                result.failed[order.pk] = _(
                    "The store connection is not active: reconnect it on the Connections tab."
                )
            continue
        try:
            adapter = factory(connection)
        except ProviderAuthError as exc:
            connection_needs_credentials(connection=connection, reason=str(exc))
            for order in its_orders:
                result.failed[order.pk] = exc.user_message
            continue
        order_filter = _order_filter(connection)
        for index, order in enumerate(its_orders):
            store_external = order.source_store.external_id if order.source_store else None
            try:
                source = _fetch_source_order(adapter, order, store_external)
                labels = _fetch_source_labels(adapter, order) if source is not None else []
            except ProviderAuthError as exc:
                connection_needs_credentials(connection=connection, reason=str(exc))
                for rest in its_orders[index:]:
                    result.failed[rest.pk] = exc.user_message
                break
            except IntegrationError as exc:
                result.failed[order.pk] = exc.user_message
                continue
            if source is None:
                result.failed[order.pk] = _("ShipStation no longer has this order.")
                continue
            now = timezone.now()
            with transaction.atomic():
                page = order_upsert_page(
                    organization_id=organization.pk,
                    connection_id=connection.pk,
                    orders=[source],
                    order_filter=order_filter,
                    currency=connection.currency or "USD",
                    run_id=None,
                    synced_at=now,
                )
                costs = shipping_cost_upsert_page(
                    organization_id=organization.pk,
                    connection_id=connection.pk,
                    shipments=labels,
                    match_order_files=connection.mode == ConnectionMode.SHIPPING_EXPENSE,
                    run_id=None,
                    synced_at=now,
                )
                changed = bool(page.created or page.updated or costs.created or costs.updated)
                Order.objects.filter(organization=organization, pk=order.pk).update(
                    last_synced_at=now
                )
                (result.updated if changed else result.unchanged).append(order.pk)
                _audit_orders(
                    organization_id=organization.pk,
                    action="sales.order.reimported",
                    order_ids=[order.pk],
                    actor_id=actor_id,
                    ip=ip,
                    metadata={"changed": changed},
                )
    return result


# --- background actions --------------------------------------------------------------------


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
        # ShipStation is asked outside any transaction; the checkpoint moves after the writes.
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
