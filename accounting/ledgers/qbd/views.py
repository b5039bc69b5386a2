"""The QuickBooks Desktop card's pages: connect (the password is shown once, in the answer
to the POST, never stored in clear or in the session), setup steps, the ``.qwc`` download,
a new password, the Web Connector's status."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounting import selectors
from accounting.ledgers.qbd import services
from accounting.ledgers.qbd.adapter import PROVIDER
from accounting.models import LedgerConnection, LedgerStatus
from unify.core.exceptions import DomainError
from unify.tenancy.decorators import require_role
from unify.tenancy.models import Role


def _ledger(request: HttpRequest, ledger_connection_id: int) -> LedgerConnection:
    try:
        ledger = selectors.ledger_connection_get(
            organization=request.organization, ledger_connection_id=ledger_connection_id
        )
    except LedgerConnection.DoesNotExist:
        raise Http404 from None
    if ledger.provider != PROVIDER or ledger.status == LedgerStatus.DISABLED:
        raise Http404
    return ledger


def _setup_page(request: HttpRequest, ledger: LedgerConnection, credentials=None):
    url = services.service_url(request)
    response = render(
        request,
        "accounting/qbd/setup.html",
        {
            "ledger": ledger,
            "status": services.qbd_status(connection=ledger),
            "credentials": credentials,
            "service_url": url,
            "service_url_ok": services.url_allowed(url),
        },
    )
    # The page may hold the password: never cached, anywhere.
    response["Cache-Control"] = "no-store"
    return response


@require_role(Role.ADMIN)
@require_POST
def connect(request: HttpRequest) -> HttpResponse:
    try:
        credentials = services.qbd_connect(
            organization=request.organization, user=request.user, request=request
        )
    except DomainError as exc:
        messages.error(request, exc.user_message)
        return redirect(reverse("accounting:home", kwargs={"org_slug": request.organization.slug}))
    return _setup_page(request, credentials.connection, credentials)


@require_role(Role.ADMIN)
@require_GET
def setup(request: HttpRequest, ledger_connection_id: int) -> HttpResponse:
    return _setup_page(request, _ledger(request, ledger_connection_id))


@require_role(Role.MEMBER)
@require_GET
def status(request: HttpRequest, ledger_connection_id: int) -> HttpResponse:
    ledger = _ledger(request, ledger_connection_id)
    return render(
        request,
        "accounting/qbd/_status.html",
        {"ledger": ledger, "status": services.qbd_status(connection=ledger)},
    )


@require_role(Role.ADMIN)
@require_GET
def qwc_download(request: HttpRequest, ledger_connection_id: int) -> HttpResponse:
    ledger = _ledger(request, ledger_connection_id)
    response = HttpResponse(
        services.qwc_file(connection=ledger, request=request),
        content_type="application/x-qwc; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="unify.qwc"'
    response["Cache-Control"] = "no-store"
    return response


@require_role(Role.ADMIN)
@require_POST
def password_regenerate(request: HttpRequest, ledger_connection_id: int) -> HttpResponse:
    ledger = _ledger(request, ledger_connection_id)
    credentials = services.qbd_password_regenerate(
        connection=ledger, user=request.user, request=request
    )
    messages.success(request, _("A new password was made; the old one no longer works."))
    return _setup_page(request, ledger, credentials)


@require_role(Role.ADMIN)
@require_POST
def catalog_request(request: HttpRequest, ledger_connection_id: int) -> HttpResponse:
    ledger = _ledger(request, ledger_connection_id)
    services.qbd_catalog_request(connection=ledger)
    messages.success(
        request,
        _("Unify will read your accounts and items at the next Web Connector update."),
    )
    return redirect(
        reverse(
            "accounting:qbd:setup",
            kwargs={"org_slug": request.organization.slug, "ledger_connection_id": ledger.pk},
        )
    )
