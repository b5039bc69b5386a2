"""Resolves the organization of every tenant URL (``/o/<org_slug>/...``).

For a view whose URL carries ``org_slug`` it checks that the signed-in user is a member,
sets ``request.organization`` and ``request.membership``, enters the org scope and the
organization's time zone (every date shown) for the rest of the request and resets both when
the response is done. Anyone else gets a 404, so an outsider cannot even learn that the
organization exists. The ``org_slug`` keyword is
consumed here; views read ``request.organization``.
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from unify.tenancy.scoping import reset_org_scope, set_org_scope
from unify.tenancy.selectors import membership_among, memberships_of

TENANT_PREFIX = "/o/"


class OrganizationMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.organization = None
        request.membership = None
        request._org_scope_token = None
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
            if request._org_scope_token is not None:
                reset_org_scope(request._org_scope_token)
                request._org_scope_token = None

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        slug = view_kwargs.pop("org_slug", None)
        if slug is None:
            if request.path_info.startswith(TENANT_PREFIX):
                # A tenant path whose pattern forgot <org_slug>: refuse rather than guess.
                raise Http404
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        # All the person's memberships in one query: the organization menu shows them too.
        request.user_memberships = list(memberships_of(user=request.user))
        membership = membership_among(request.user_memberships, slug)
        if membership is None:
            # Support staff viewing the organization as its merchant (read-only, audited).
            from unify.support.view_as import view_as_membership

            membership = view_as_membership(request, slug)
        if membership is None:
            raise Http404
        request.organization = membership.organization
        request.membership = membership
        if request.session.get("last_org") != slug:
            # Remembered for the home page; only written when it changes, not on every page.
            request.session["last_org"] = slug
        request._org_scope_token = set_org_scope(membership.organization.pk)
        # Every date on a tenant page (and in its forms) is in the organization's time zone.
        timezone.activate(membership.organization.tzinfo)
        return None


# URL namespaces whose staff-only views work across organizations (row-level security bypass
# of the same name; each request logged with the staff member's id).
STAFF_CONSOLES = {"admin": "admin", "support": "support"}


class RowLevelSecurityMiddleware:
    """No request inherits a row-level security bypass (a test's fixture, a caller's block):
    it starts suspended. The admin and the support console, for active staff, run in their
    named bypass (``unify.tenancy.rls``), which is logged; their tenant views and changes are
    written to the organization's activity log by the views themselves."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from unify.tenancy.rls import enter_bypass, leave_bypass

        token = enter_bypass(None)
        request._rls_bypass_token = None
        try:
            return self.get_response(request)
        finally:
            if request._rls_bypass_token is not None:
                leave_bypass(request._rls_bypass_token)
            leave_bypass(token)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        from unify.tenancy.rls import enter_bypass, logger

        match = request.resolver_match
        name = STAFF_CONSOLES.get(match.namespaces[0]) if match and match.namespaces else None
        user = getattr(request, "user", None)
        if name is None or user is None or not (user.is_authenticated and user.is_active):
            return None
        if not user.is_staff:
            return None
        logger.info("rls bypass %s by user %s: %s", name, user.pk, match.view_name)
        request._rls_bypass_token = enter_bypass(name)
        return None
