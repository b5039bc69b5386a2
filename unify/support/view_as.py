"""Read-only "view as merchant": a support person opens an organization's pages exactly as
its owner sees them, to answer a question without a database shell.

Started from the support console (a confirmed POST, logged as ``support.view_as_started``),
it lasts for the session and for that one organization. Every page seen is written to the
organization's activity log (``support.viewed``, with its path), which the owners see; a
banner on every page says so. Every write is refused (403): any method but GET and HEAD,
and the GET pages that hand something out (the CSV export) or start a flow (ledger OAuth).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext as _

from unify.core.audit import audit_record
from unify.core.middleware import staff_has_mfa
from unify.tenancy.models import Membership, Organization, Role

SESSION_KEY = "support_view_as"
READ_METHODS = ("GET", "HEAD")
# Pages that read but hand out data or start a flow: refused like a write (support never
# exports a merchant's orders or carries off a ledger's set-up file).
REFUSED_VIEWS = (
    "sales:export",
    "connections:order_file_problems_csv",
    "accounting:connect",
    "accounting:qbd:qwc",
)


def view_as_start(request: HttpRequest, organization: Organization) -> None:
    request.session[SESSION_KEY] = organization.pk
    audit_record(
        action="support.view_as_started",
        organization=organization,
        actor=request.user,
        target=organization,
        request=request,
    )


def view_as_stop(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)


def view_as_membership(request: HttpRequest, slug: str) -> Membership | None:
    """An unsaved owner membership for a staff member viewing ``slug`` as its merchant, or
    ``None`` (the caller answers 404). Raises ``PermissionDenied`` for a write."""
    user = request.user
    org_id = request.session.get(SESSION_KEY)
    if org_id is None or not (user.is_active and user.is_staff) or not staff_has_mfa(user):
        return None
    organization = Organization.objects.filter(pk=org_id, slug=slug).first()
    if organization is None:
        return None
    match = getattr(request, "resolver_match", None)
    view_name = match.view_name if match is not None else ""
    if request.method not in READ_METHODS or view_name in REFUSED_VIEWS:
        audit_record(
            action="support.view_as_refused",
            organization=organization,
            actor=user,
            target=organization,
            metadata={"method": request.method, "path": request.path[:200]},
            request=request,
        )
        raise PermissionDenied(_("Read-only: you are viewing as the merchant."))
    request.support_view_as = True
    if not request.headers.get("HX-Request"):
        audit_record(
            action="support.viewed",
            organization=organization,
            actor=user,
            target=organization,
            metadata={"page": "view_as", "path": request.path[:200]},
            request=request,
        )
    return Membership(organization=organization, user=user, role=Role.OWNER)
