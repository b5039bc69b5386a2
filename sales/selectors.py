"""Reads of the import: runs, progress, issues, unmatched label costs. Each takes the
organization explicitly and only returns its rows."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Count, DecimalField, F, OuterRef, QuerySet, Subquery, Sum

from connections.models import ConnectionMode, ConnectionStatus, SourceStore, StoreConnection
from sales.models import (
    BILLED_TO_OTHERS,
    OPEN_SYNC_STATUSES,
    ImportIssue,
    Order,
    ShippingCost,
    SyncRun,
)
from unify.tenancy.models import Organization, Role

HISTORY_LENGTH = 10


def sync_runs_for(
    *, organization: Organization, connection: StoreConnection, limit: int = HISTORY_LENGTH
) -> list[SyncRun]:
    return list(
        SyncRun.objects.filter(organization=organization, connection=connection).order_by(
            "-created_at", "-pk"
        )[:limit]
    )


def sync_run_get(*, organization: Organization, run_id: int) -> SyncRun:
    return SyncRun.objects.select_related("connection").get(organization=organization, pk=run_id)


def import_issues_for(*, organization: Organization, run: SyncRun, limit: int = 200) -> QuerySet:
    return ImportIssue.objects.filter(organization=organization, run=run).order_by("pk")[:limit]


def unmatched_shipping_costs(
    *, organization: Organization, connection: StoreConnection | None = None
) -> QuerySet:
    """Label costs (not voided) still waiting for their order (labels bought without an
    order never get one: see ``orderless_label_costs``)."""
    queryset = ShippingCost.objects.filter(
        organization=organization, order__isnull=True, voided=False
    ).exclude(order_external_id="")
    if connection is not None:
        queryset = queryset.filter(connection=connection)
    return queryset.order_by("-create_date", "-pk")


@dataclass(frozen=True, slots=True)
class OrderlessLabels:
    """A connection's labels that are not an order's own cost."""

    count: int  # bought without an order, not voided, the merchant's cost
    total: Decimal
    billed_to_others: int  # billed to the recipient or a third party


def orderless_label_costs(
    *, organization: Organization, connection: StoreConnection
) -> OrderlessLabels:
    labels = ShippingCost.objects.filter(
        organization=organization, connection=connection, voided=False
    )
    orderless = labels.filter(order_external_id="").exclude(bill_to_party__in=BILLED_TO_OTHERS)
    total = orderless.aggregate(
        total=Sum(
            F("cost") + F("insurance"), output_field=DecimalField(max_digits=14, decimal_places=2)
        )
    )["total"]
    return OrderlessLabels(
        count=orderless.count(),
        total=total or Decimal("0.00"),
        billed_to_others=labels.filter(bill_to_party__in=BILLED_TO_OTHERS).count(),
    )


@dataclass(frozen=True, slots=True)
class SyncState:
    connection: StoreConnection
    current: SyncRun | None  # the open run, else the latest one
    can_sync: bool

    @property
    def running(self) -> bool:
        return self.current is not None and self.current.is_open


def sync_state(*, organization: Organization, connection: StoreConnection) -> SyncState:
    current = (
        SyncRun.objects.filter(
            organization=organization, connection=connection, status__in=OPEN_SYNC_STATUSES
        ).first()
        or SyncRun.objects.filter(organization=organization, connection=connection)
        .order_by("-created_at", "-pk")
        .first()
    )
    return SyncState(
        connection=connection,
        current=current,
        can_sync=connection.status == ConnectionStatus.ACTIVE,
    )


def sync_states(*, organization: Organization) -> list[SyncState]:
    """Every connection that can sync (or did), for the Sales tab."""
    connections = StoreConnection.objects.filter(organization=organization).exclude(
        status=ConnectionStatus.DISABLED
    )
    return [sync_state(organization=organization, connection=c) for c in connections]


def last_sync_time(run: SyncRun | None):
    """When the connection last synced, as every screen shows it: the latest run's end, or,
    while a run is open, its start (a first import counts from the moment it began)."""
    if run is None:
        return None
    if run.is_open:
        return run.started_at or run.created_at
    return run.finished_at or run.started_at or run.created_at


def connection_sync_overview(
    *, organization: Organization, connection_ids: list[int]
) -> dict[int, dict[str, Any]]:
    """For the connections list (``connections.selectors.connection_overviews``): each
    connection's order count, its last sync taken from its latest run (so the list, the
    connection page and the import card agree) and its next sync; ``sync_running`` and
    ``last_run`` reach the template as ``overview.extra``."""
    connections = list(
        StoreConnection.objects.filter(organization=organization, pk__in=connection_ids).annotate(
            latest_run_id=Subquery(
                SyncRun.objects.filter(organization=organization, connection=OuterRef("pk"))
                .order_by("-created_at", "-pk")
                .values("pk")[:1]
            )
        )
    )
    runs = SyncRun.objects.in_bulk(
        [c.latest_run_id for c in connections if c.latest_run_id is not None]
    )
    counts = dict(
        Order.objects.filter(organization=organization, connection_id__in=connection_ids)
        .order_by()
        .values("connection_id")
        .annotate(n=Count("id"))
        .values_list("connection_id", "n")
    )
    overview = {}
    for connection in connections:
        run = runs.get(connection.latest_run_id)
        overview[connection.pk] = {
            "order_count": counts.get(connection.pk, 0),
            "last_sync_at": last_sync_time(run) or connection.last_sync_at,
            "next_sync_at": connection.next_sync_at,
            "sync_running": run is not None and run.is_open,
            "last_run": run,
        }
    return overview


def connection_sync_panel_context(*, connection: StoreConnection, request) -> dict[str, Any]:
    """Context for ``sales/_connection_sync_panel.html`` on the connection page."""
    organization = request.organization
    context: dict[str, Any] = {
        "sync": sync_state(organization=organization, connection=connection),
        "sync_runs": sync_runs_for(organization=organization, connection=connection),
        "can_sync_now": request.membership.has_role(Role.MEMBER),
    }
    context["orderless_labels"] = orderless_label_costs(
        organization=organization, connection=connection
    )
    if connection.mode == ConnectionMode.SHIPPING_EXPENSE:
        unmatched = unmatched_shipping_costs(organization=organization, connection=connection)
        page = Paginator(unmatched.defer("raw"), UNMATCHED_PAGE_SIZE).get_page(
            request.GET.get("unmatched_page")
        )
        stores = {
            str(external_id): label
            for external_id, label in _store_labels(
                organization=organization, connection=connection
            )
        }
        for cost in page.object_list:
            cost.store_label = stores.get(cost.store_external_id, cost.store_external_id)
        context["unmatched_count"] = page.paginator.count
        context["unmatched_page"] = page
    return context


UNMATCHED_PAGE_SIZE = 50


def _store_labels(*, organization: Organization, connection: StoreConnection):
    for store in SourceStore.objects.filter(organization=organization, connection=connection):
        yield store.external_id, str(store)
