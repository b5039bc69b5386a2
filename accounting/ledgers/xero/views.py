"""Xero's own connect views: the OAuth callback (exchange, then the organisations the login
reaches) and the organisation picker. Thin: the rules are in the provider and in
``accounting.services.connections``.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from accounting.ledgers.registry import get_provider
from accounting.ledgers.xero.pending import PendingChoice, pending_read, pending_store
from accounting.services import connections as ledger_services
from unify.core.error_reports import sensitive_get_parameters
from unify.core.exceptions import DomainError, IntegrationError
from unify.tenancy.decorators import require_role
from unify.tenancy.models import Organization, Role
from unify.tenancy.scoping import org_scope
from unify.tenancy.selectors import membership_for

logger = logging.getLogger(__name__)


def _provider():
    return get_provider("xero")


def _home(organization: Organization) -> str:
    return reverse("accounting:home", kwargs={"org_slug": organization.slug})


@sensitive_variables()
def _connect(request: HttpRequest, organization: Organization, tokens, tenant_id: str):
    with org_scope(organization.pk):
        try:
            result = _provider().connect_result(tokens=tokens, tenant_id=tenant_id)
            ledger = ledger_services.ledger_connect_result(
                organization=organization,
                provider_key="xero",
                result=result,
                user=request.user,
                request=request,
            ).connection
        except (DomainError, IntegrationError) as exc:
            messages.error(request, exc.user_message)
            return redirect(_home(organization))
    messages.success(
        request,
        _("Connected to %(company)s. Map your accounts below, then save.")
        % {"company": ledger.company_name or ledger.company_id},
    )
    return redirect(reverse("accounting:settings", kwargs={"org_slug": organization.slug}))


@login_required
@require_GET
@sensitive_get_parameters("code", "state")
@sensitive_variables()
def callback(request: HttpRequest) -> HttpResponse:
    """Where Xero sends the user back: the pending flow's ``state`` must match (one use), the
    user must still be an admin of its organization."""
    try:
        pending = ledger_services.ledger_oauth_pending(
            session=request.session, state=request.GET.get("state", "")
        )
    except DomainError as exc:
        messages.error(request, exc.user_message)
        return redirect("home")
    if pending.get("provider") != "xero":
        raise Http404
    organization = Organization.objects.filter(pk=pending["organization_id"]).first()
    membership = membership_for(user=request.user, slug=organization.slug) if organization else None
    if membership is None or not membership.has_role(Role.ADMIN):
        raise Http404
    organization = membership.organization
    if request.GET.get("error"):
        messages.warning(request, _("The connection was cancelled in Xero."))
        return redirect(_home(organization))
    provider = _provider()
    try:
        tokens = provider.exchange_code(
            code=request.GET.get("code", ""),
            redirect_uri=pending.get("redirect_uri") or provider.redirect_uri(""),
        )
        tenants = provider.tenants(tokens)
    except IntegrationError as exc:
        messages.error(request, exc.user_message)
        return redirect(_home(organization))
    if not tenants:
        messages.error(
            request,
            _("Xero did not connect any organisation. Click Connect again and tick one."),
        )
        return redirect(_home(organization))
    if len(tenants) == 1:
        return _connect(request, organization, tokens, tenants[0].tenant_id)
    pending_store(
        session=request.session,
        choice=PendingChoice(
            organization_id=organization.pk,
            user_id=request.user.pk,
            tokens=tokens,
            tenants=tuple(tenants),
        ),
    )
    return redirect(reverse("accounting:xero_organisation", kwargs={"org_slug": organization.slug}))


@require_role(Role.ADMIN)
@require_http_methods(["GET", "POST"])
@sensitive_variables()
def choose_organisation(request: HttpRequest) -> HttpResponse:
    """The Xero login reached several organisations: which one does Unify post to?"""
    organization = request.organization
    choice = pending_read(
        session=request.session,
        organization_id=organization.pk,
        user_id=request.user.pk,
        consume=request.method == "POST",
    )
    if choice is None:
        messages.info(
            request, _("The choice of Xero organisation has expired. Click Connect again.")
        )
        return redirect(_home(organization))
    tenants = {t.tenant_id: t for t in choice.tenants}
    if request.method == "POST":
        picked = request.POST.get("tenant_id", "")
        if picked not in tenants:
            messages.error(request, _("Choose one of the organisations listed."))
            pending_store(session=request.session, choice=choice)
            return redirect(
                reverse("accounting:xero_organisation", kwargs={"org_slug": organization.slug})
            )
        return _connect(request, organization, choice.tokens, picked)
    return render(
        request,
        "accounting/xero/choose_organisation.html",
        {"tenants": sorted(tenants.values(), key=lambda t: t.name.casefold())},
    )
