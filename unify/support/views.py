"""The support console (``/support/``): find an organization, see what happened to it, run
a confirmed safe action. Staff with a second factor only (404 for anyone else); every page
and every action is written to the organization's activity log, which its owners see."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from unify.core.audit import audit_record
from unify.support import selectors
from unify.support.access import support_staff_required
from unify.support.services import ACTIONS, SupportActionRefused, support_action_run
from unify.support.view_as import view_as_start, view_as_stop
from unify.tenancy.models import Organization
from unify.tenancy.plans import PlanKey


def _organization(organization_id: int) -> Organization:
    try:
        return Organization.objects.get(pk=organization_id)
    except Organization.DoesNotExist:
        raise Http404 from None


def _viewed(request: HttpRequest, organization: Organization, page: str, **extra) -> None:
    audit_record(
        action="support.viewed",
        organization=organization,
        actor=request.user,
        target=organization,
        metadata={"page": page, **extra},
        request=request,
    )


@support_staff_required
@require_http_methods(["GET"])
def home(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:100]
    hits = selectors.search(q) if q else []
    for hit in hits:  # each organization shown in the results learns it was looked up
        _viewed(request, hit.organization, "support.search", found_by=hit.reasons)
    return render(request, "support/home.html", {"q": q, "hits": hits})


@support_staff_required
@require_http_methods(["GET"])
def organization_page(request: HttpRequest, organization_id: int) -> HttpResponse:
    organization = _organization(organization_id)
    order_number = request.GET.get("order", "").strip()[:100]
    _viewed(request, organization, "support.organization", order=order_number or None)
    context = selectors.organization_overview(organization=organization, order_number=order_number)
    context["locked_out"] = selectors.members_locked_out(request, context["members"])
    return render(
        request,
        "support/organization.html",
        {
            "org": organization,
            "actions": ACTIONS.values(),
            "plans": PlanKey.choices,
            **context,
        },
    )


@support_staff_required
@require_http_methods(["GET", "POST"])
def action(request: HttpRequest, organization_id: int, action: str) -> HttpResponse:
    """GET: the confirmation page; POST (the confirmation): run it."""
    organization = _organization(organization_id)
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404
    data = request.POST if request.method == "POST" else request.GET
    if request.method == "POST":
        try:
            message = support_action_run(
                organization=organization, action=action, data=data, request=request
            )
        except SupportActionRefused as exc:
            messages.error(request, exc.user_message)
        else:
            messages.success(request, message)
        return redirect("support:organization", organization_id=organization.pk)
    _viewed(request, organization, "support.confirm", action=action)
    context = selectors.organization_overview(organization=organization)
    return render(
        request,
        "support/confirm.html",
        {
            "org": organization,
            "spec": spec,
            "connection_id": data.get("connection_id", ""),
            "plan": data.get("plan", ""),
            "plans": PlanKey.choices,
            "connections": context["connections"],
            "invitations": context["invitations"],
            "members": context["members"],
            "membership_id": data.get("membership_id", ""),
            "from_date": data.get("from_date", ""),
        },
    )


@support_staff_required
@require_http_methods(["POST"])
def view_as(request: HttpRequest, organization_id: int) -> HttpResponse:
    """Open the organization's dashboard as its merchant sees it (read-only, audited)."""
    organization = _organization(organization_id)
    view_as_start(request, organization)
    return redirect("tenancy:dashboard", org_slug=organization.slug)


@support_staff_required
@require_http_methods(["POST"])
def view_as_end(request: HttpRequest) -> HttpResponse:
    view_as_stop(request)
    return redirect("support:home")
