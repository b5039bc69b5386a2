"""A deliberately leaky URLconf: proves tests/test_isolation_walk.py catches real leaks.
Never included by unify/urls.py; only tests set it as ROOT_URLCONF."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import include, path

from unify.tenancy.decorators import require_role
from unify.tenancy.models import Membership, Role


@require_role(Role.MEMBER)
def leaky_member_remove(request, membership_id: int):
    # The bug under test: looks the membership up by id alone, not within request.organization.
    membership = Membership.objects.get(pk=membership_id)
    if request.method == "POST":
        membership.delete()
    return HttpResponse(membership.user.email)


def unprotected_page(request):
    return HttpResponse("tenant data outside /o/")


urlpatterns = [
    path("reports/", unprotected_page, name="reports"),
    path(
        "o/<slug:org_slug>/",
        include([path("leak/<int:membership_id>/", leaky_member_remove, name="leak")]),
    ),
]
