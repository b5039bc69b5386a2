"""The dashboard's contributions of the import side (``unify.tenancy.dashboard``): the
"Needs your attention" counts that the Sales tab and the import pages fix (orders changed
after posting, unreadable records of the latest sync, label costs still waiting for their
order), the time of the last sync and whether anything was imported yet.

Every count is the number of rows its link's page lists (tested); the totals come from the
Sales tab's running totals, never from adding up the orders."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, OuterRef, Subquery
from django.urls import reverse
from django.utils.translation import ngettext

from connections.models import ConnectionMode, ConnectionStatus, StoreConnection
from sales.filters import OrderFilters
from sales.models import OPEN_SYNC_STATUSES, ImportIssue, PostingStatus, SyncRun
from sales.selectors import last_sync_time, unmatched_shipping_costs
from sales.selectors_tab import order_summary
from unify.tenancy.models import Organization


def _sales_url(organization: Organization, **params: str) -> str:
    url = reverse("sales:list", kwargs={"org_slug": organization.slug})
    return f"{url}?{urlencode(params)}" if params else url


def dashboard_attention(*, organization: Organization) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    # The counts only (no fees): from the running totals, whatever the number of orders.
    summary = order_summary(organization=organization, filters=OrderFilters(), with_fees=False)
    changed = summary.counts.get(PostingStatus.CHANGED, 0)
    if changed:
        items.append(
            {
                "key": "changed",
                "count": changed,
                "label": ngettext(
                    "order changed after posting", "orders changed after posting", changed
                ),
                "url": _sales_url(organization, posting=PostingStatus.CHANGED),
            }
        )
    # Every connection (the disconnected ones only for the time of the last sync), read once.
    every_connection = list(
        StoreConnection.objects.filter(organization=organization)
        .annotate(
            latest_run_id=Subquery(
                SyncRun.objects.filter(organization=organization, connection=OuterRef("pk"))
                .exclude(status__in=OPEN_SYNC_STATUSES)
                .order_by("-created_at", "-pk")
                .values("pk")[:1]
            )
        )
        .order_by("name", "pk")
    )
    connections = [c for c in every_connection if c.status != ConnectionStatus.DISABLED]
    run_ids = [c.latest_run_id for c in connections if c.latest_run_id is not None]
    issue_counts = dict(
        ImportIssue.objects.filter(organization=organization, run_id__in=run_ids)
        .order_by()
        .values("run_id")
        .annotate(n=Count("pk"))
        .values_list("run_id", "n")
    )
    for connection in connections:
        issues = issue_counts.get(connection.latest_run_id, 0)
        if issues:
            items.append(
                {
                    "key": f"import_issues:{connection.pk}",
                    "count": issues,
                    "label": ngettext(
                        "unreadable record in the last sync of %(name)s",
                        "unreadable records in the last sync of %(name)s",
                        issues,
                    )
                    % {"name": connection.name},
                    "url": reverse(
                        "sales:sync_run_issues",
                        kwargs={"org_slug": organization.slug, "run_id": connection.latest_run_id},
                    ),
                }
            )
    for connection in connections:
        if connection.mode != ConnectionMode.SHIPPING_EXPENSE:
            continue
        unmatched = unmatched_shipping_costs(
            organization=organization, connection=connection
        ).count()
        if unmatched:
            detail = reverse(
                "connections:detail",
                kwargs={"org_slug": organization.slug, "connection_id": connection.pk},
            )
            items.append(
                {
                    "key": f"unmatched:{connection.pk}",
                    "count": unmatched,
                    "label": ngettext(
                        "label cost of %(name)s waiting for its order",
                        "label costs of %(name)s waiting for their orders",
                        unmatched,
                    )
                    % {"name": connection.name},
                    "url": f"{detail}#unmatched",
                }
            )
    last_run = (
        SyncRun.objects.filter(organization=organization).order_by("-created_at", "-pk").first()
    )
    last_connection_sync = max(
        (c.last_sync_at for c in every_connection if c.last_sync_at is not None), default=None
    )
    return {
        "attention": items,
        "last_sync_at": last_sync_time(last_run) or last_connection_sync,
        "has_orders": summary.count_all > 0,
    }
