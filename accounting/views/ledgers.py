"""Accounting tab home: the ledger cards, and connecting (OAuth start and callback), testing,
disconnecting a ledger and reloading its catalog."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounting import selectors
from accounting.ledgers.registry import UnknownLedger, get_provider, ledger_cards, ledger_providers
from accounting.models import LedgerConnection, LedgerStatus, PostingBatch, PostingSettings
from accounting.services import connections as ledger_services
from accounting.views.common import _url
from unify.core.error_reports import sensitive_get_parameters
from unify.core.exceptions import DomainError, IntegrationError, ProviderAuthError
from unify.tenancy.decorators import require_reauthentication, require_role
from unify.tenancy.models import Role
from unify.tenancy.scoping import org_scope
from unify.tenancy.selectors import membership_for

logger = logging.getLogger(__name__)


def _ledger(request: HttpRequest, ledger_connection_id: int) -> LedgerConnection:
    try:
        return selectors.ledger_connection_get(
            organization=request.organization, ledger_connection_id=ledger_connection_id
        )
    except LedgerConnection.DoesNotExist:
        raise Http404 from None


def _redirect_uri(request: HttpRequest, provider_key: str) -> str:
    return get_provider(provider_key).redirect_uri(
        request.build_absolute_uri(
            reverse("ledger_oauth_callback", kwargs={"provider": provider_key})
        )
    )


_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _configured_local_host(request: HttpRequest, provider_key: str) -> str | None:
    """On a developer machine (DEBUG) the configured redirect URI may name the other loopback
    name than the one in the browser (``127.0.0.1`` vs ``localhost``). The session cookie
    holding the OAuth ``state`` is per host, so the callback would be rejected: the flow has
    to start on the configured host. Returns that host's origin, or None when nothing needs
    to move (production, no redirect URI configured, or already on its host)."""
    registered = get_provider(provider_key).redirect_uri("")
    if not settings.DEBUG or not registered:
        return None
    configured = urlsplit(registered)
    here = urlsplit(f"//{request.get_host()}")
    if (
        configured.hostname in _LOOPBACK_HOSTS
        and here.hostname in _LOOPBACK_HOSTS
        and configured.hostname != here.hostname
    ):
        return f"{configured.scheme}://{configured.netloc}"
    return None


@require_role(Role.MEMBER)
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    ledger = selectors.ledger_connection_current(organization=organization)
    counts = selectors.posting_counts(organization=organization, ledger=ledger)
    batches = (
        PostingBatch.objects.filter(organization=organization).order_by("-created_at")[:5]
        if ledger
        else []
    )
    return render(
        request,
        "accounting/home.html",
        {
            "cards": ledger_cards(),
            "ledger": ledger,
            "counts": counts,
            "batches": batches,
            "can_manage": request.membership.has_role(Role.ADMIN),
            "settings_obj": PostingSettings.objects.filter(ledger_connection=ledger).first()
            if ledger
            else None,
            # The ledger's limits forbid posting for now (Xero's daily limit): until when.
            "paused_until": get_provider(ledger.provider).posting_paused_until(ledger.company_id)
            if ledger and ledger.provider in ledger_providers()
            else None,
        },
    )


@require_role(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def connect(request: HttpRequest, provider: str) -> HttpResponse:
    """Start the ledger's OAuth flow. A link (GET), not a form: the CSP's form-action would
    stop a form submission that is redirected to the ledger's host, and starting the flow
    changes nothing but this session's pending state (the user still approves at the
    ledger, and the callback accepts only that state)."""
    try:
        get_provider(provider)
    except UnknownLedger:
        raise Http404 from None
    origin = _configured_local_host(request, provider)
    if origin is not None:
        # Same page on the host the callback will come back to (the user signs in there).
        return redirect(f"{origin}{request.get_full_path()}")
    try:
        url = ledger_services.ledger_oauth_start(
            organization=request.organization,
            provider_key=provider,
            session=request.session,
            redirect_uri=_redirect_uri(request, provider),
        )
    except IntegrationError as exc:
        messages.error(request, exc.user_message)
        return redirect(_url(request, "home"))
    return redirect(url)


@login_required
@require_GET
@sensitive_get_parameters("code", "state")
@sensitive_variables()
def oauth_callback(request: HttpRequest, provider: str) -> HttpResponse:
    """Where the ledger sends the user back. Not under /o/<slug>/ (the redirect URI is
    registered with the ledger once); the organization comes from the session's pending
    flow, whose ``state`` must match, and the user must still be an admin of it."""
    try:
        get_provider(provider)
    except UnknownLedger:
        raise Http404 from None
    try:
        pending = ledger_services.ledger_oauth_pending(
            session=request.session, state=request.GET.get("state", "")
        )
    except DomainError as exc:
        messages.error(request, exc.user_message)
        return redirect("home")
    membership = (
        membership_for(user=request.user, slug=_slug_of(pending["organization_id"]))
        if pending.get("provider") == provider
        else None
    )
    if membership is None or not membership.has_role(Role.ADMIN):
        raise Http404
    organization = membership.organization
    home_url = reverse("accounting:home", kwargs={"org_slug": organization.slug})
    if request.GET.get("error"):
        messages.warning(request, _("The connection was cancelled in the ledger."))
        return redirect(home_url)
    with org_scope(organization.pk):
        try:
            connected = ledger_services.ledger_connect(
                organization=organization,
                provider_key=provider,
                code=request.GET.get("code", ""),
                company_id=get_provider(provider).callback_company_id(request.GET),
                redirect_uri=pending.get("redirect_uri") or _redirect_uri(request, provider),
                user=request.user,
                request=request,
            )
        except (DomainError, IntegrationError) as exc:
            messages.error(request, exc.user_message)
            return redirect(home_url)
    ledger = connected.connection
    company = ledger.company_name or ledger.company_id
    if connected.postings_resumed:
        messages.success(
            request,
            ngettext(
                "Reconnected to %(company)s. %(n)s posting that waited for the connection is "
                "being sent now.",
                "Reconnected to %(company)s. %(n)s postings that waited for the connection are "
                "being sent now.",
                connected.postings_resumed,
            )
            % {"company": company, "n": connected.postings_resumed},
        )
        return redirect(home_url)
    if connected.reconnected:
        messages.success(request, _("Reconnected to %(company)s.") % {"company": company})
        return redirect(home_url)
    messages.success(
        request,
        _("Connected to %(company)s. Map your accounts below, then save.") % {"company": company},
    )
    return redirect(reverse("accounting:settings", kwargs={"org_slug": organization.slug}))


def _slug_of(organization_id: int) -> str:
    from unify.tenancy.models import Organization

    return (
        Organization.objects.filter(pk=organization_id).values_list("slug", flat=True).first() or ""
    )


@require_role(Role.ADMIN)
@require_POST
def test_connection(request: HttpRequest, ledger_connection_id: int) -> HttpResponse:
    ledger = _ledger(request, ledger_connection_id)
    try:
        name = ledger_services.ledger_test_connection(connection=ledger, user=request.user)
    except ProviderAuthError:
        messages.error(
            request, _("%(ledger)s refused Unify's access. Reconnect it.") % {"ledger": ledger}
        )
    except (DomainError, IntegrationError) as exc:
        messages.error(request, exc.user_message)
    else:
        messages.success(request, _("The connection works: %(company)s.") % {"company": name})
    return redirect(_url(request, "home"))


@require_role(Role.ADMIN)
@require_reauthentication(back=lambda request: _url(request, "home"))
@require_POST
def disconnect(request: HttpRequest, ledger_connection_id: int) -> HttpResponse:
    ledger = _ledger(request, ledger_connection_id)
    if ledger.status == LedgerStatus.DISABLED:
        return redirect(_url(request, "home"))
    ledger_services.ledger_disconnect(connection=ledger, user=request.user, request=request)
    messages.success(
        request,
        _("%(ledger)s is disconnected. Nothing more is posted to it.") % {"ledger": ledger},
    )
    return redirect(_url(request, "home"))


@require_role(Role.ADMIN)
@require_POST
def catalog_refresh(request: HttpRequest, ledger_connection_id: int) -> HttpResponse:
    ledger = _ledger(request, ledger_connection_id)
    if ledger.status == LedgerStatus.DISABLED:
        raise Http404
    try:
        ledger_services.ledger_catalog_refresh(connection=ledger)
    except IntegrationError as exc:
        messages.error(request, exc.user_message)
    else:
        messages.success(request, _("Accounts, items and tax codes reloaded from the ledger."))
    return redirect(_url(request, "settings"))
