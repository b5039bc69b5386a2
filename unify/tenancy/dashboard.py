"""What the dashboard shows. Other apps contribute through small selector functions so the
dashboard never reaches into their tables directly."""

from __future__ import annotations

from django.utils.module_loading import import_string

from unify.tenancy.models import Organization

# Each entry is a callable(organization) -> dict merged into the summary; apps append theirs.
DASHBOARD_CONTRIBUTORS: list[str] = [
    "connections.selectors.dashboard_summary",
    "accounting.selectors.dashboard_summary",
]


def dashboard_summary(*, organization: Organization) -> dict:
    """Every contributor's keys; lists (``needs_attention``) add up instead of replacing
    each other."""
    summary: dict = {"needs_attention": []}
    for path in DASHBOARD_CONTRIBUTORS:
        try:
            contributor = import_string(path)
        except ImportError:
            continue
        for key, value in contributor(organization=organization).items():
            if isinstance(value, list) and isinstance(summary.get(key), list):
                summary[key] = summary[key] + value
            else:
                summary[key] = value
    return summary
