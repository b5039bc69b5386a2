"""The import's pages: "Sync now", the live progress partial (polled by htmx), the run
history and a run's unreadable records; plus the sources' webhook receiver (public, by
secret token). The Sales tab list lives in sales/views_tab.py."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from connections.models import StoreConnection
from sales import selectors
from sales.models import SyncKind, SyncRun
from sales.services import sync_request
from sales.services.webhooks import MAX_BODY_BYTES, webhook_receive
from unify.core.exceptions import DomainError
from unify.tenancy.decorators import require_role
from unify.tenancy.models import Role


def _connection(request: HttpRequest, connection_id: int) -> StoreConnection:
    try:
        return StoreConnection.objects.get(organization=request.organization, pk=connection_id)
    except StoreConnection.DoesNotExist:
        raise Http404 from None


def _progress_response(
    request: HttpRequest,
    connection: StoreConnection,
    *,
    with_history: bool,
    error: str = "",
) -> HttpResponse:
    organization = request.organization
    state = selectors.sync_state(organization=organization, connection=connection)
    # When a polled run has just ended, the history next to it is refreshed too (out of band).
    refresh_history = with_history and not state.running
    context = {
        "sync": state,
        "connection": connection,
        "can_sync_now": True,
        "sync_error": error,
        "with_history": refresh_history,
        "sync_runs": selectors.sync_runs_for(organization=organization, connection=connection)
        if refresh_history
        else (),
    }
    return render(request, "sales/_sync_progress.html", context)


@require_GET
@require_role(Role.MEMBER)
def sync_progress(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    return _progress_response(request, connection, with_history=bool(request.htmx))


@require_GET
@require_role(Role.MEMBER)
def connection_sync_panel(request: HttpRequest, connection_id: int) -> HttpResponse:
    """The import's part of a connection page (progress, "Sync now", run history, labels
    waiting for their orders), loaded by the page with ``hx-get``; it also refreshes the
    connection card's "Last sync" out of band."""
    connection = _connection(request, connection_id)
    context = selectors.connection_sync_panel_context(connection=connection, request=request)
    return render(
        request, "sales/_connection_sync_panel.html", {"connection": connection, **context}
    )


@require_GET
@require_role(Role.MEMBER)
def sync_history(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    runs = selectors.sync_runs_for(organization=request.organization, connection=connection)
    return render(
        request, "sales/_sync_history.html", {"connection": connection, "sync_runs": runs}
    )


@require_GET
@require_role(Role.MEMBER)
def sync_overview(request: HttpRequest) -> HttpResponse:
    """Every connection's sync state, for the Sales tab (polls while any run is open)."""
    states = selectors.sync_states(organization=request.organization)
    return render(
        request,
        "sales/_sync_overview.html",
        {"sync_states": states, "any_running": any(s.running for s in states)},
    )


@require_POST
@require_role(Role.MEMBER)
def sync_now(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    try:
        sync_request(
            organization=request.organization,
            connection=connection,
            kind=SyncKind.MANUAL,
            requested_by=request.user,
        )
    except DomainError as exc:
        if request.htmx:
            return _progress_response(
                request, connection, with_history=False, error=exc.user_message
            )
        messages.error(request, exc.user_message)
    else:
        if request.htmx:
            return _progress_response(request, connection, with_history=False)
        messages.success(
            request, _("Sync started. New and changed orders appear as they are imported.")
        )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse(
            "connections:detail",
            kwargs={"org_slug": request.organization.slug, "connection_id": connection.pk},
        )
    return redirect(target)


@require_GET
@require_role(Role.MEMBER)
def sync_run_issues(request: HttpRequest, run_id: int) -> HttpResponse:
    try:
        run = selectors.sync_run_get(organization=request.organization, run_id=run_id)
    except SyncRun.DoesNotExist:
        raise Http404 from None
    issues = selectors.import_issues_for(organization=request.organization, run=run)
    return render(request, "sales/sync_run_issues.html", {"run": run, "issues": issues})


@csrf_exempt
@require_POST
def source_webhook(request: HttpRequest, provider: str, token: str) -> HttpResponse:
    """A source's notification for one connection (secret token in the path)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return JsonResponse({"detail": "body too large"}, status=413)
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return JsonResponse({"detail": "body too large"}, status=413)
    outcome = webhook_receive(provider=provider, token=token, body=body)
    response = JsonResponse({"detail": outcome.reason or "ok"}, status=outcome.status)
    if outcome.retry_after:
        response["Retry-After"] = str(outcome.retry_after)
    return response
