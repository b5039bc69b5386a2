"""Which listings a sync run reads, from when, and how often a connection syncs (settings
read at call time).
"""

from __future__ import annotations

from datetime import UTC, datetime
from datetime import time as dt_time
from typing import Any

from django.conf import settings

from connections.models import ConnectionMode, StoreConnection
from sales.models import SyncPhase
from unify.tenancy.models import Organization

KEYSET_PHASES = (SyncPhase.ORDERS, SyncPhase.LABELS_CREATED)
# Labels first: an order written after its labels is written once, with its label totals,
# instead of once for itself and again for each page of labels that names it.
PHASE_ORDER = (SyncPhase.LABELS_CREATED, SyncPhase.LABELS_VOIDED, SyncPhase.ORDERS)


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def sync_interval_minutes(connection: StoreConnection, organization: Organization) -> int:
    """The connection's auto-sync interval, never below what the plan allows."""
    return max(
        int(connection.sync_interval_minutes or 0),
        int(organization.plan_rules.min_sync_interval_minutes),
    )


def _phases_for(connection: StoreConnection) -> list[str]:
    if connection.mode == ConnectionMode.SHIPPING_EXPENSE:
        return [SyncPhase.LABELS_CREATED, SyncPhase.LABELS_VOIDED]
    if not connection.pull_label_costs:
        return [SyncPhase.ORDERS]
    return list(PHASE_ORDER)


def _watermark(connection: StoreConnection) -> datetime | None:
    if connection.mode == ConnectionMode.SHIPPING_EXPENSE:
        return connection.shipments_watermark
    return connection.orders_watermark


def _initial_start(connection: StoreConnection, organization: Organization) -> datetime:
    """Midnight of the connection's start date in the organization's time zone."""
    start = datetime.combine(connection.import_start_date, dt_time(), tzinfo=organization.tzinfo)
    return start.astimezone(UTC)
