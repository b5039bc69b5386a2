"""What the dashboard shows. Other apps contribute through small selector functions so the
dashboard never reaches into their tables directly."""

from __future__ import annotations

from django.utils.module_loading import import_string

from unify.tenancy.models import Organization

# Each entry is a callable(organization) -> dict merged into the summary; apps append theirs.
DASHBOARD_CONTRIBUTORS: list[str] = [
    "connections.selectors.dashboard_summary",
]


def dashboard_summary(*, organization: Organization) -> dict:
    summary: dict = {}
    for path in DASHBOARD_CONTRIBUTORS:
        try:
            contributor = import_string(path)
        except ImportError:
            continue
        summary.update(contributor(organization=organization))
    return summary
