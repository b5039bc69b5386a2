from __future__ import annotations

from django.http import HttpRequest


def notifications(request: HttpRequest) -> dict:
    """The bell's unread count, on every page of an organization the person belongs to."""
    membership = getattr(request, "membership", None)
    if membership is None or getattr(request, "support_view_as", False):
        return {}
    # Read inside the organization's scope (the page's view runs in it): with row-level
    # security the database shows the notifications of that organization only.
    from unify.notifications.services import unread_count

    count = unread_count(organization_id=membership.organization_id, user_id=membership.user_id)
    return {"notifications_unread": count}
