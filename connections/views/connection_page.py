"""One connection's pages: its page, sync settings, store toggles, keys, reconnecting and
disconnecting."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from connections import selectors, services
from connections.forms import SyncSettingsForm, interval_label, mode_explanation
from connections.models import ConnectionStatus, SourceStore, StoreConnection
from connections.sources.registry import source_provider
from connections.views.common import _put_error, _url
from unify.tenancy.decorators import require_reauthentication, require_role
from unify.tenancy.models import Role


def _connection(request: HttpRequest, connection_id: int) -> StoreConnection:
    try:
        return selectors.connection_get(
            organization=request.organization, connection_id=connection_id
        )
    except StoreConnection.DoesNotExist:
        raise Http404 from None


def _detail_context(
    request: HttpRequest, connection: StoreConnection, *, settings_form=None
) -> dict[str, Any]:
    stores = list(selectors.stores_for(connection=connection))
    if settings_form is None:
        settings_form = SyncSettingsForm(connection=connection, stores=stores)
    return {
        "connection": connection,
        "stores": stores,
        "settings_form": settings_form,
        "mode_explanation": mode_explanation(connection.mode, provider=connection.provider),
        "plan_block": selectors.connection_plan_block(connection),
        "effective_interval": interval_label(selectors.effective_sync_interval(connection)),
        "can_manage": request.membership.has_role(Role.ADMIN),
    }


@require_role(Role.MEMBER)
def connection_detail(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    return render(request, "connections/detail.html", _detail_context(request, connection))


@require_role(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def connection_settings(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    if request.method == "GET":
        return redirect(_url(request, "detail", connection_id=connection.pk))
    stores = list(selectors.stores_for(connection=connection))
    form = SyncSettingsForm(request.POST, connection=connection, stores=stores)
    if form.is_valid():
        data = form.cleaned_data
        try:
            changed = services.connection_update_settings(
                connection=connection,
                actor=request.user,
                name=data["name"],
                import_start_date=data["import_start_date"],
                # Not offered to a shipping-expense connection: what it has stays.
                order_statuses=data.get("order_statuses", connection.order_statuses),
                sync_interval_minutes=data["sync_interval_minutes"],
                auto_sync_enabled=data["auto_sync_enabled"],
                pull_label_costs=data.get("pull_label_costs", connection.pull_label_costs),
                included_store_ids={int(pk) for pk in data["included_stores"]},
                request=request,
            )
        except services.ConnectionRefused as exc:
            _put_error(form, exc)
        else:
            messages.success(
                request, _("Sync settings saved.") if changed else _("Nothing was changed.")
            )
            return redirect(_url(request, "detail", connection_id=connection.pk))
    context = _detail_context(request, connection, settings_form=form)
    return render(request, "connections/detail.html", context, status=400)


@require_role(Role.ADMIN)
@require_POST
def store_toggle(request: HttpRequest, connection_id: int, store_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    try:
        store = selectors.source_store_get(connection=connection, store_id=store_id)
    except SourceStore.DoesNotExist:
        raise Http404 from None
    included = request.POST.get("included") == "1"
    services.source_store_set_included(
        connection=connection, store=store, included=included, actor=request.user, request=request
    )
    if request.htmx:
        return render(
            request,
            "connections/_store_row.html",
            {"connection": connection, "store": store, "can_manage": True},
        )
    messages.success(
        request,
        (
            _("Orders of %(store)s will be imported.")
            if included
            else _("Orders of %(store)s will not be imported.")
        )
        % {"store": store.name},
    )
    return redirect(_url(request, "detail", connection_id=connection.pk))


@sensitive_variables()
def _keys_view(request: HttpRequest, connection_id: int, *, reconnect: bool) -> HttpResponse:
    connection = _connection(request, connection_id)
    if reconnect and connection.status != ConnectionStatus.DISABLED:
        return redirect(_url(request, "detail", connection_id=connection.pk))
    if not reconnect and connection.status == ConnectionStatus.DISABLED:
        return redirect(_url(request, "reconnect", connection_id=connection.pk))
    source = source_provider(connection.provider)
    form = source.keys_form_class()(request.POST or None)
    if request.method == "POST" and form.is_valid():
        action = (
            services.connection_reconnect if reconnect else services.connection_update_credentials
        )
        try:
            action(
                connection=connection,
                actor=request.user,
                credentials=source.credentials_from_form(form.cleaned_data),
                request=request,
            )
        except services.ConnectionRefused as exc:
            _put_error(form, exc)
        else:
            messages.success(
                request,
                _("Reconnected. Syncing resumes with the new keys.")
                if reconnect
                else _("New keys saved. %(provider)s accepted them.") % {"provider": source.name},
            )
            return redirect(_url(request, "detail", connection_id=connection.pk))
    return render(
        request,
        source.keys_template,
        {
            "connection": connection,
            "provider": source,
            "form": form,
            "reconnect": reconnect,
            "plan_block": _reconnect_plan_block(connection) if reconnect else None,
        },
    )


def _reconnect_plan_block(connection: StoreConnection) -> str | None:
    try:
        services.plan_check_new_connection(
            organization=connection.organization, mode=connection.mode, provider=connection.provider
        )
    except services.ConnectionRefused as exc:
        return exc.user_message
    return None


@require_role(Role.ADMIN)
@require_reauthentication()
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters()
@sensitive_variables()
def connection_update_keys(request: HttpRequest, connection_id: int) -> HttpResponse:
    return _keys_view(request, connection_id, reconnect=False)


@require_role(Role.ADMIN)
@require_reauthentication()
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters()
@sensitive_variables()
def connection_reconnect(request: HttpRequest, connection_id: int) -> HttpResponse:
    return _keys_view(request, connection_id, reconnect=True)


@require_role(Role.ADMIN)
@require_reauthentication()
@require_http_methods(["GET", "POST"])
def connection_disconnect(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    if request.method == "POST":
        services.connection_disconnect(connection=connection, actor=request.user, request=request)
        messages.success(
            request,
            _(
                "%(name)s is disconnected. Its keys were deleted; imported orders and costs "
                "are kept."
            )
            % {"name": connection.name},
        )
        return redirect(_url(request, "detail", connection_id=connection.pk))
    return render(request, "connections/disconnect.html", {"connection": connection})
