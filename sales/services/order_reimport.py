"""Re-import of single orders and their labels from their source, written when they changed."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from connections.models import ConnectionMode, ConnectionStatus, SourceStore, StoreConnection
from connections.sources.provider import SourceProvider
from connections.sources.registry import UnknownSourceProvider, source_provider
from sales.models import Order
from sales.services.order_ignore import _audit_orders
from unify.core.exceptions import IntegrationError, ProviderAuthError, ProviderRateLimited
from unify.core.stored_text import gettext as _
from unify.tenancy.models import Organization


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


def _source_of(order: Order) -> SourceProvider | None:
    try:
        return source_provider(order.source)
    except UnknownSourceProvider:
        return None


def _fetch_source_order(adapter: Any, order: Order, store_external_id: int | None) -> Any:
    """The order as its source has it now (the source's provider knows how to find it);
    None when the source no longer has it."""
    return source_provider(adapter.key).order_refetch(
        adapter,
        external_id=order.external_id,
        number=order.number,
        order_date=order.order_date,
        store_external_id=store_external_id,
        call=_with_rate_limit_retries,
    )


def _fetch_source_labels(adapter: Any, order: Order) -> list[Any]:
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
    """Read these orders and their labels from their source again and write what changed,
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
        provider = _source_of(order)
        if provider is None or provider.adapter_class is None or order.connection_id is None:
            # Only an order read through a source's API can be read again (not a file's).
            result.failed[order.pk] = _(
                "Orders from this source (%(source)s) cannot be re-imported."
            ) % {"source": provider.name if provider is not None else order.source}
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
                result.failed[order.pk] = _("%(source)s no longer has this order.") % {
                    "source": source_provider(adapter.key).name
                }
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
                    origin=order.source,
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
