"""What the dashboard shows. Other apps contribute through small selector functions so the
dashboard never reaches into their tables directly."""

from __future__ import annotations

from accounting import dashboard as accounting_dashboard
from connections import dashboard as connections_dashboard
from sales import dashboard as sales_dashboard
from sales.views_dashboard import charts_context as dashboard_charts_context
from unify.tenancy.models import Organization

# Each is a callable(organization) -> dict merged into the summary: the "Needs your
# attention" counts (``attention``: key, count, label, url) and notes (``needs_attention``),
# the connection count, the times of the last sync and posting, and the getting-started
# state.
DASHBOARD_CONTRIBUTORS = (
    connections_dashboard.dashboard_attention,
    sales_dashboard.dashboard_attention,
    accounting_dashboard.dashboard_attention,
)

__all__ = ["dashboard_charts_context", "dashboard_summary"]


def dashboard_summary(*, organization: Organization) -> dict:
    """Every contributor's keys; lists (``needs_attention``) add up instead of replacing
    each other."""
    summary: dict = {"needs_attention": [], "attention": []}
    for contributor in DASHBOARD_CONTRIBUTORS:
        for key, value in contributor(organization=organization).items():
            if isinstance(value, list) and isinstance(summary.get(key), list):
                summary[key] = summary[key] + value
            else:
                summary[key] = value
    summary["getting_started"] = _getting_started(summary)
    summary["all_caught_up"] = (
        summary.get("connection_count", 0) > 0
        and not summary["attention"]
        and not summary["needs_attention"]
    )
    return summary


def _getting_started(summary: dict) -> list[dict] | None:
    """The three first steps with their state, until all three are done."""
    steps = [
        {"key": "store", "done": summary.get("connection_count", 0) > 0},
        {"key": "ledger", "done": bool(summary.get("ledger_connected"))},
        {
            "key": "post",
            "done": bool(summary.get("has_orders")) and bool(summary.get("has_postings")),
        },
    ]
    if all(step["done"] for step in steps):
        return None
    return steps
