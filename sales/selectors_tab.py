"""Reads of the Sales tab: one page of orders (keyset), the counts and totals of a filter set,
an order's detail, the filter choices and the export rows. Each takes the organization
explicitly and only ever returns its rows. The list, the totals and the order page live in
``selectors_order_list``, ``selectors_order_totals`` and ``selectors_order_detail``; callers
import from here.

Paging is by keyset, never by OFFSET: a page is "the next ``n`` orders after this one in
this sort order", answered from an index whatever the page number. Every sort ends with
``id`` so rows that share a date or a total still have one fixed order; the cursor holds the
last row's sort value and id, signed so a URL cannot be tampered into something else.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from connections.models import ConnectionStatus, StoreConnection
from connections.selectors import store_choices as connection_store_choices
from sales.filters import OrderFilters
from sales.models import OPEN_SYNC_STATUSES, BulkActionStatus, Order, OrderBulkAction, SyncRun
from sales.selectors_order_detail import (
    AUDIT_LABELS,
    LATE_LABEL_ACTION,
    Reconciliation,
    address_lines,
    order_audit_trail,
    order_fulfillment_fees,
    order_get,
    order_label_costs,
    order_lines,
    order_raw_pretty,
    order_reconciliation,
)
from sales.selectors_order_list import (
    AWAITING_POSTING,
    DEFAULT_PAGE_SIZE,
    DEFAULT_SORT,
    LIST_FIELDS,
    PAGE_SIZES,
    SORT_CHOICES,
    SORTS,
    Cursor,
    LedgerLink,
    OrderPage,
    RowCompare,
    SortSpec,
    _ordering,
    cursor_decode,
    cursor_encode,
    ledger_links,
    order_page,
    order_queryset,
    orders_posting_in_progress,
)
from sales.selectors_order_totals import (
    ZERO,
    CurrencyTotals,
    OrderSummary,
    _fee_totals,
    fee_totals_queryset,
    order_summary,
)
from unify.tenancy.models import Organization

__all__ = [
    "AUDIT_LABELS",
    "AWAITING_POSTING",
    "CurrencyTotals",
    "Cursor",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_SORT",
    "EXPORT_FIELDS",
    "EmptyState",
    "LATE_LABEL_ACTION",
    "LIST_FIELDS",
    "LedgerLink",
    "OrderPage",
    "OrderSummary",
    "PAGE_SIZES",
    "Reconciliation",
    "RowCompare",
    "SORTS",
    "SORT_CHOICES",
    "SortSpec",
    "ZERO",
    "fee_totals_queryset",
    "_fee_totals",
    "address_lines",
    "bulk_action_get",
    "bulk_actions_recent",
    "connection_choices",
    "cursor_decode",
    "cursor_encode",
    "ledger_links",
    "order_audit_trail",
    "order_export_rows",
    "order_fulfillment_fees",
    "order_get",
    "order_label_costs",
    "order_lines",
    "order_page",
    "order_queryset",
    "order_raw_pretty",
    "order_reconciliation",
    "order_summary",
    "orders_posting_in_progress",
    "sales_empty_state",
    "store_choices",
]


# --- filter choices and empty states -----------------------------------------------------


def store_choices(*, organization: Organization) -> list[tuple[int, str]]:
    return connection_store_choices(organization=organization)


def connection_choices(*, organization: Organization) -> list[tuple[int, str]]:
    return list(
        StoreConnection.objects.filter(organization=organization)
        .order_by("name", "pk")
        .values_list("pk", "name")
    )


@dataclass(frozen=True, slots=True)
class EmptyState:
    has_connection: bool
    has_orders: bool
    sync_running: bool
    connections: list[StoreConnection]


def sales_empty_state(*, organization: Organization) -> EmptyState:
    """What to tell a merchant whose list is empty without any filter."""
    connections = list(
        StoreConnection.objects.filter(organization=organization).exclude(
            status=ConnectionStatus.DISABLED
        )
    )
    running = SyncRun.objects.filter(
        organization=organization, status__in=OPEN_SYNC_STATUSES
    ).exists()
    return EmptyState(
        has_connection=bool(connections),
        has_orders=Order.objects.filter(organization=organization).exists(),
        sync_running=running,
        connections=connections,
    )


def bulk_actions_recent(*, organization: Organization, limit: int = 3) -> list[OrderBulkAction]:
    """The banners above the list: background actions still running, newest first, then the
    one that finished last, if that was in the last quarter of an hour. A finished action's
    banner gives way to the next one that finishes instead of piling up under it."""
    since = timezone.now() - timedelta(minutes=15)
    actions = OrderBulkAction.objects.filter(organization=organization).select_related(
        "requested_by"
    )
    running = list(
        actions.filter(status__in=(BulkActionStatus.QUEUED, BulkActionStatus.RUNNING)).order_by(
            "-created_at", "-id"
        )[:limit]
    )
    finished = (
        actions.exclude(status__in=(BulkActionStatus.QUEUED, BulkActionStatus.RUNNING))
        .filter(finished_at__gte=since)
        .order_by("-finished_at", "-id")
        .first()
    )
    return running + ([finished] if finished is not None else [])


def bulk_action_get(*, organization: Organization, action_id: int) -> OrderBulkAction:
    return OrderBulkAction.objects.select_related("requested_by").get(
        organization=organization, pk=action_id
    )


# --- export ----------------------------------------------------------------------------------

EXPORT_FIELDS = (
    "id", "number", "order_date", "store_name", "connection__name", "status", "posting_status",
    "is_ignored", "customer_name", "customer_email", "items_count", "currency",
    "lines_subtotal", "discount_total", "tax_total", "shipping_charged", "order_total",
    "amount_paid", "reconciliation_difference", "label_cost_total", "return_label_cost_total",
    "external_id", "order_key", "split_part", "ledger_document",
)  # fmt: skip


def order_export_rows(
    *,
    organization: Organization,
    filters: OrderFilters,
    sort: str = DEFAULT_SORT,
    chunk_size: int = 2000,
) -> Iterator[tuple[Any, ...]]:
    """The filtered orders as tuples of ``EXPORT_FIELDS``, streamed from a server-side cursor
    (PostgreSQL) in chunks, so memory stays flat whatever the number of orders."""
    spec = SORTS.get(sort, SORTS[DEFAULT_SORT])
    from accounting.models import Posting, PostingKind

    # The sale's document number in the ledger: order numbers repeat across stores and
    # split parts, the document number never does.
    document = Posting.objects.filter(
        organization_id=organization.pk, order_id=OuterRef("pk"), kind=PostingKind.SALE
    ).order_by("-id")
    queryset = (
        order_queryset(organization=organization, filters=filters)
        .annotate(ledger_document=Subquery(document.values("document_number")[:1]))
        .order_by(*_ordering(spec, spec.descending))
        .values_list(*EXPORT_FIELDS)
    )
    return queryset.iterator(chunk_size=chunk_size)
