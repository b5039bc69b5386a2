"""Orders from a shop's order file (shipping-expense mode): stored under the shipping-expense
connection they were uploaded for, then matched with the label costs waiting for them.

An order-file order is identified within its connection by its store and order number
(``order_file_external_id``): order numbers are only unique per store. Its source store
is the connection's store whose name the file's ``store`` column gives (case and surrounding
spaces ignored), else the store the merchant chose for the upload, else the connection's only
store; when none of these says, the order has no store and only labels without a store can
match it (never guessed by number alone).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from connections.models import ConnectionMode, SourceStore, StoreConnection
from connections.sources.base import SourceOrder
from sales.models import Order, OrderSource
from sales.services import matching
from sales.services.upsert import (
    PageResult,
    orders_flag_changed_after_posting,
    orders_map_sources,
    orders_write_mapped,
)
from unify.core.exceptions import DomainError, TenantScopeError
from unify.core.stored_text import gettext as _
from unify.tenancy.scoping import org_scope


@dataclass(slots=True)
class FileImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    costs_matched: int = 0
    # Store names in the file that are none of the connection's stores.
    unknown_stores: set[str] = field(default_factory=set)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (order ref, reason)


def store_name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def order_upsert_from_file(
    *,
    connection: StoreConnection,
    orders: Sequence[SourceOrder],
    default_store: SourceStore | None = None,
    synced_at: datetime | None = None,
) -> FileImportResult:
    """Upsert orders parsed from a shop's order file under ``connection`` (a shipping-expense
    connection), then match waiting label costs to them. Uploading the same orders again
    updates them. Call inside the upload's transaction (it opens its own otherwise)."""
    if connection.mode != ConnectionMode.SHIPPING_EXPENSE:
        raise DomainError(
            "order files belong to shipping-expense connections",
            user_message=_("Order files can only be uploaded for a shipping-expense connection."),
        )
    if default_store is not None and default_store.connection_id != connection.pk:
        raise TenantScopeError("default store of another connection")
    organization_id = connection.organization_id
    synced_at = synced_at or timezone.now()
    result = FileImportResult()
    issues: list[tuple[str, str, str, str]] = []
    with org_scope(organization_id), transaction.atomic():
        stores = list(SourceStore.objects.filter(connection_id=connection.pk))
        by_name = {store_name_key(s.name): s for s in stores}
        fallback = default_store or (stores[0] if len(stores) == 1 else None)

        def store_for(source: SourceOrder) -> tuple[int | None, str]:
            named = by_name.get(store_name_key(source.store_name or ""))
            if named is None and source.store_name:
                result.unknown_stores.add(source.store_name)
            store = named or fallback
            return (store.pk if store is not None else None), (source.store_name or "")

        mapped = orders_map_sources(
            orders,
            organization_id=organization_id,
            connection_id=connection.pk,
            origin=OrderSource.ORDER_FILE,
            store_for=store_for,
            currency=connection.currency,
            synced_at=synced_at,
            issues=issues,
        )
        existing_rows = Order.objects.filter(
            connection_id=connection.pk, external_id__in=list(mapped)
        ).values_list(
            "external_id", "pk", "raw_hash", "content_hash", "lines_hash", "posting_status"
        )
        existing = {ext: tuple(rest) for ext, *rest in existing_rows}
        page = PageResult()
        changed = orders_write_mapped(
            mapped,
            existing,
            conflict="organization_id, connection_id, external_id",
            result=page,
        )
        orders_flag_changed_after_posting(changed)
        result.created, result.updated, result.unchanged = (
            page.created,
            page.updated,
            page.unchanged,
        )
        if page.order_ids:
            result.costs_matched = matching.shipping_costs_match_order_files(
                organization_id=organization_id,
                cost_filter=Q(connection_id=connection.pk),
                numbers=[item.values["number"] for item in mapped.values()],
            )
            matching.order_label_totals_refresh(
                organization_id=organization_id, order_ids=page.order_ids
            )
        result.problems = [(ref, reason) for _k, ref, reason, _raw in issues]
    return result
