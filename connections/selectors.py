"""Reads for store connections. Every function takes the organization explicitly and only
returns its rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from connections.models import (
    ConnectionMode,
    ConnectionStatus,
    OrderFileProblem,
    OrderFileUpload,
    SourceStore,
    StoreConnection,
)
from connections.sources.registry import source_provider
from sales import selectors as sales_selectors
from unify.tenancy.models import Organization


def connections_for(*, organization: Organization) -> QuerySet[StoreConnection]:
    return (
        StoreConnection.objects.for_org(organization)
        .annotate(store_count=Count("stores"))
        .order_by("name", "pk")
    )


def connection_get(*, organization: Organization, connection_id: int) -> StoreConnection:
    """Raises ``StoreConnection.DoesNotExist`` for another organization's id."""
    return (
        StoreConnection.objects.for_org(organization)
        .select_related("organization")
        .get(pk=connection_id)
    )


def stores_for(*, connection: StoreConnection) -> QuerySet[SourceStore]:
    return (
        SourceStore.objects.for_org(connection.organization_id)
        .filter(connection=connection)
        .order_by("-active", "name", "pk")
    )


def store_choices(*, organization: Organization) -> list[tuple[int, str]]:
    """Every source store of the organization as ``(id, label)`` for a select, by name.

    Two connections often carry stores of the same name ("Amazon", "Shopify" in each
    source account); with more than one connection every label names its connection
    ("Amazon (Amazon) · East warehouse"), so the choices can be told apart."""
    rows = list(
        SourceStore.objects.for_org(organization)
        .order_by("name", "connection__name", "pk")
        .values_list("pk", "name", "marketplace_name", "connection_id", "connection__name")
    )
    several = len({row[3] for row in rows}) > 1
    choices = []
    for pk, name, market, _connection_id, connection_name in rows:
        label = f"{name} ({market})" if market else name
        if several:
            label = _("%(store)s · %(connection)s") % {
                "store": label,
                "connection": connection_name,
            }
        choices.append((pk, label))
    return choices


def source_store_get(*, connection: StoreConnection, store_id: int) -> SourceStore:
    return SourceStore.objects.for_org(connection.organization_id).get(
        connection=connection, pk=store_id
    )


def connection_plan_block(connection: StoreConnection) -> str | None:
    """Why the plan no longer lets this connection sync (after a downgrade), or ``None``.

    Data is never deleted on a downgrade; what the plan does not cover is paused: a
    shipping-expense connection on a plan without that mode, and connections beyond the
    plan's number (the oldest ones keep working).
    """
    return _plan_block(connection, connection.organization, None)


def connection_plan_blocks(
    *,
    organization: Organization,
    connections: list[StoreConnection],
    every_active: bool = False,
) -> dict[int, str | None]:
    """:func:`connection_plan_block` of each of the organization's ``connections``, with
    the plan's covered connections read once (a page listing them all); not read at all
    when ``connections`` are all of its connections but the disconnected ones
    (``every_active``)."""
    if every_active:
        oldest = sorted(
            (c for c in connections if c.status != ConnectionStatus.DISABLED),
            key=lambda c: (c.created_at, c.pk),
        )
        allowed_ids = [c.pk for c in oldest[: organization.plan_rules.max_store_connections]]
    else:
        allowed_ids = _covered_ids(organization.pk, organization.plan_rules)
    return {c.pk: _plan_block(c, organization, allowed_ids) for c in connections}


def _covered_ids(organization_id: int, plan) -> list[int]:
    """The connections the plan covers: the oldest ones, up to its number."""
    return list(
        StoreConnection.objects.for_org(organization_id)
        .exclude(status=ConnectionStatus.DISABLED)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[: plan.max_store_connections]
    )


def _plan_block(
    connection: StoreConnection, organization: Organization, allowed_ids: list[int] | None
) -> str | None:
    if connection.status == ConnectionStatus.DISABLED:
        return None
    plan = organization.plan_rules
    if connection.mode == ConnectionMode.SHIPPING_EXPENSE and not plan.shipping_expense_mode:
        return _(
            "Shipping-expense mode is not part of your %(plan)s plan, so this connection does "
            "not sync. Its data is kept. Upgrade to Pro or Advanced to resume."
        ) % {"plan": plan.name}
    if allowed_ids is None:
        allowed_ids = _covered_ids(connection.organization_id, plan)
    if connection.pk not in allowed_ids:
        return ngettext(
            "Your %(plan)s plan includes %(limit)s store connection; this one is beyond "
            "that, so it does not sync. Its data is kept. Disconnect another connection or "
            "upgrade.",
            "Your %(plan)s plan includes %(limit)s store connections; this one is beyond "
            "that, so it does not sync. Its data is kept. Disconnect another connection or "
            "upgrade.",
            plan.max_store_connections,
        ) % {"plan": plan.name, "limit": plan.max_store_connections}
    return None


def connection_can_sync(connection: StoreConnection) -> bool:
    """Active, holding keys and covered by the plan: what the scheduler and "Sync now" ask."""
    return (
        connection.status == ConnectionStatus.ACTIVE
        and connection.credentials is not None
        and connection_plan_block(connection) is None
    )


def effective_sync_interval(connection: StoreConnection) -> int:
    """The saved interval, raised to the plan's minimum after a downgrade."""
    return max(
        connection.sync_interval_minutes,
        connection.organization.plan_rules.min_sync_interval_minutes,
    )


@dataclass(slots=True)
class ConnectionOverview:
    connection: StoreConnection
    order_count: int | None
    last_sync_at: datetime | None
    next_sync_at: datetime | None
    plan_block: str | None
    extra: dict[str, Any] = field(default_factory=dict)


def connection_overviews(*, organization: Organization) -> list[ConnectionOverview]:
    connections = list(connections_for(organization=organization))
    # The import's figures per connection (order count, last/next sync; extra keys reach the
    # templates as ``overview.extra``).
    sync = sales_selectors.connection_sync_overview(
        organization=organization, connection_ids=[c.pk for c in connections]
    )
    result = []
    for connection in connections:
        info = dict(sync.get(connection.pk, {}))
        result.append(
            ConnectionOverview(
                connection=connection,
                order_count=info.pop("order_count", None),
                last_sync_at=info.pop("last_sync_at", connection.last_sync_at),
                next_sync_at=info.pop("next_sync_at", connection.next_sync_at),
                plan_block=connection_plan_block(connection),
                extra=info,
            )
        )
    return result


def dashboard_connections(*, organization: Organization) -> list[StoreConnection]:
    """The organization's connections that are not disconnected, each knowing its
    organization (no query per connection for it)."""
    connections = list(
        StoreConnection.objects.for_org(organization).exclude(status=ConnectionStatus.DISABLED)
    )
    for connection in connections:
        connection.organization = organization
    return connections


def dashboard_summary(
    *,
    organization: Organization,
    connections: list[StoreConnection] | None = None,
    blocks: dict[int, str | None] | None = None,
) -> dict[str, Any]:
    if connections is None:
        connections = dashboard_connections(organization=organization)
    if blocks is None:
        blocks = connection_plan_blocks(organization=organization, connections=connections)
    needs_attention = [
        _("%(name)s needs new %(provider)s keys.")
        % {"name": c.name, "provider": source_provider(c.provider).name}
        for c in connections
        if c.status == ConnectionStatus.NEEDS_CREDENTIALS
    ]
    needs_attention += [
        _("%(name)s is paused by your plan.") % {"name": c.name}
        for c in connections
        if c.status == ConnectionStatus.ACTIVE and blocks[c.pk] is not None
    ]
    return {"connection_count": len(connections), "needs_attention": needs_attention}


def order_file_uploads_for(*, organization: Organization, limit: int = 10) -> list[OrderFileUpload]:
    return list(
        OrderFileUpload.objects.for_org(organization)
        .select_related("uploaded_by")
        .order_by("-created_at", "-pk")[:limit]
    )


def order_file_upload_get(*, organization: Organization, upload_id: int) -> OrderFileUpload:
    return (
        OrderFileUpload.objects.for_org(organization)
        .select_related("connection", "uploaded_by")
        .get(pk=upload_id)
    )


def order_file_problems(*, upload: OrderFileUpload) -> QuerySet[OrderFileProblem]:
    """Every rejected row of an upload (already scoped by the upload's organization)."""
    return (
        OrderFileProblem.objects.for_org(upload.organization_id)
        .filter(upload=upload)
        .order_by("row", "pk")
    )


def order_file_target_stores(*, organization: Organization) -> QuerySet[SourceStore]:
    """Source stores an order file's shop can be tied to (shipping-expense connections)."""
    return (
        SourceStore.objects.for_org(organization)
        .filter(
            connection__mode=ConnectionMode.SHIPPING_EXPENSE,
        )
        .exclude(connection__status=ConnectionStatus.DISABLED)
        .select_related("connection")
        .order_by("connection__name", "name", "pk")
    )
