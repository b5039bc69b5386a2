from __future__ import annotations

from django.http import HttpRequest

from unify.tenancy.selectors import memberships_of


def organization(request: HttpRequest) -> dict:
    org = getattr(request, "organization", None)
    user = getattr(request, "user", None)
    memberships = []
    if user is not None and user.is_authenticated:
        memberships = getattr(request, "user_memberships", None)  # read by the middleware
        if memberships is None:
            memberships = list(memberships_of(user=user))
    return {
        "organization": org,
        "membership": getattr(request, "membership", None),
        "user_memberships": memberships,
    }
