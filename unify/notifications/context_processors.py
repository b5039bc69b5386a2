from __future__ import annotations

from django.http import HttpRequest


def notifications(request: HttpRequest) -> dict:
    """The bell's unread count, on every page of an organization the person belongs to."""
    membership = getattr(request, "membership", None)
    if membership is None or getattr(request, "support_view_as", False):
        return {}
    from unify.notifications.services import unread_count

    return {
        "notifications_unread": unread_count(
            organization_id=membership.organization_id, user_id=membership.user_id
        )
    }
