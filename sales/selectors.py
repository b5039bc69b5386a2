"""Reads of the import: runs, progress, issues, unmatched label costs. Each takes the
organization explicitly and only returns its rows."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, F, QuerySet, Sum

from connections.models import ConnectionMode, ConnectionStatus, StoreConnection
from sales.models import (
    BILLED_TO_OTHERS,
    OPEN_SYNC_STATUSES,
    ImportIssue,
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
        context["unmatched_count"] = unmatched.count()
        context["unmatched_costs"] = list(unmatched[:20])
    return context
