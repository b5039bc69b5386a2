"""The dashboard's "Needs your attention" counts of the connections side: connections whose
keys their source no longer accepts, and connections paused by the plan. Each count is the
number of rows the connections list shows in that state."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import ngettext

from connections.models import ConnectionStatus
from connections.selectors import connection_plan_blocks, dashboard_connections, dashboard_summary
from connections.sources.registry import source_provider
from unify.tenancy.models import Organization


def dashboard_attention(*, organization: Organization) -> dict[str, Any]:
    """The counts, and the connection count and notes (``dashboard_summary``), from one
    read of the connections."""
    connections = dashboard_connections(organization=organization)
    blocks = connection_plan_blocks(
        organization=organization, connections=connections, every_active=True
    )
    url = reverse("connections:list", kwargs={"org_slug": organization.slug})
    items = []
    needing = [c for c in connections if c.status == ConnectionStatus.NEEDS_CREDENTIALS]
    keys = len(needing)
    if keys:
        # Named after their sources (the providers' names), as the connections list does.
        sources = ", ".join(sorted({str(source_provider(c.provider).name) for c in needing}))
        items.append(
            {
                "key": "keys",
                "count": keys,
                "label": ngettext(
                    "connection needs new %(provider)s keys",
                    "connections need new %(provider)s keys",
                    keys,
                )
                % {"provider": sources},
                "url": url,
            }
        )
    # As the list shows it: a connection needing keys may be beyond the plan as well.
    paused = sum(1 for c in connections if blocks[c.pk] is not None)
    if paused:
        items.append(
            {
                "key": "plan_paused",
                "count": paused,
                "label": ngettext(
                    "connection paused by your plan", "connections paused by your plan", paused
                ),
                "url": url,
            }
        )
    return {
        "attention": items,
        **dashboard_summary(organization=organization, connections=connections, blocks=blocks),
    }
