"""Connections tab: list, Add Store > (a source) > Connect Store, the connection page (keys,
disconnect, reconnect, sync settings, store toggles) and order-file uploads. The source's
provider (from the registry) supplies its credentials forms and templates.

Views parse and render; every rule lives in :mod:`connections.services`. Every view reads
``request.organization`` (set by the organization middleware) and looks objects up through
selectors scoped to it, so another organization's ids answer 404.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from connections import order_files, selectors, services
from connections.forms import (
    OrderFileForm,
    PlatformForm,
    SyncSettingsForm,
    interval_label,
    mode_explanation,
)
from connections.models import (
    ConnectionStatus,
    OrderFileStatus,
    OrderFileUpload,
    SourceStore,
    StoreConnection,
)
from connections.sources.csv.parser import COLUMNS, template_csv
from connections.sources.registry import source_provider
from sales.export import spreadsheet_text
from unify.tenancy.decorators import require_reauthentication, require_role
from unify.tenancy.models import Role

# Room for the form's other fields and the multipart framing around the file.
ORDER_FILE_FORM_OVERHEAD = 64 * 1024
PROBLEMS_PER_PAGE = 100


def _url(request: HttpRequest, name: str, **kwargs: Any) -> str:
    return reverse(f"connections:{name}", kwargs={"org_slug": request.organization.slug, **kwargs})


def _connection(request: HttpRequest, connection_id: int) -> StoreConnection:
    try:
        return selectors.connection_get(
            organization=request.organization, connection_id=connection_id
        )
    except StoreConnection.DoesNotExist:
        raise Http404 from None


def _put_error(form, exc: services.ConnectionRefused) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.user_message)


# --- list and add ---------------------------------------------------------------------------


@require_role(Role.MEMBER)
def connection_list(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    overviews = selectors.connection_overviews(organization=organization)
    plan = organization.plan_rules
    in_use = sum(1 for o in overviews if o.connection.status != ConnectionStatus.DISABLED)
    return render(
        request,
        "connections/list.html",
        {
            "overviews": overviews,
            "needs_keys": [
                o.connection
                for o in overviews
                if o.connection.status == ConnectionStatus.NEEDS_CREDENTIALS
            ],
            "plan": plan,
            "connections_in_use": in_use,
            "can_add": in_use < plan.max_store_connections,
            "can_manage": request.membership.has_role(Role.ADMIN),
            "uploads": selectors.order_file_uploads_for(organization=organization, limit=5)
            if plan.shipping_expense_mode
            else [],
        },
    )


@require_role(Role.ADMIN)
def connection_add(request: HttpRequest) -> HttpResponse:
    """The platform picker. Lists only the sources a merchant can connect (the registry)."""
    form = PlatformForm(request.GET if "platform" in request.GET else None)
    if form.is_bound and form.is_valid():
        return redirect(_url(request, f"add_{form.cleaned_data['platform']}"))
    return render(request, "connections/add.html", {"form": form})


@require_role(Role.ADMIN)
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters()
@sensitive_variables()
def connection_add_source(request: HttpRequest, provider: str) -> HttpResponse:
    """Connect Store for one source (``provider`` comes from its URL pattern, see urls.py)."""
    organization = request.organization
    source = source_provider(provider)
    form = source.connect_form_class()(request.POST or None, organization=organization)
    if request.method == "POST" and form.is_valid():
        try:
            connection = services.connection_create(
                organization=organization,
                actor=request.user,
                provider=source.key,
                credentials=source.credentials_from_form(form.cleaned_data),
                name=form.cleaned_data["name"],
                mode=form.cleaned_data["mode"],
                request=request,
            )
        except services.ConnectionRefused as exc:
            _put_error(form, exc)
        else:
            stores = connection.stores.count()
            messages.success(
                request,
                ngettext(
                    "%(provider)s is connected: %(count)s store found.",
                    "%(provider)s is connected: %(count)s stores found.",
                    stores,
                )
                % {"provider": source.name, "count": stores},
            )
            return redirect(_url(request, "detail", connection_id=connection.pk))
    plan = organization.plan_rules
    return render(
        request,
        source.connect_template,
        {
            "form": form,
            "plan": plan,
            "provider": source,
            "limit_reached": selectors.connections_for(organization=organization)
            .exclude(status=ConnectionStatus.DISABLED)
            .count()
            >= plan.max_store_connections,
        },
    )


# --- one connection -------------------------------------------------------------------------


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


# --- order files ----------------------------------------------------------------------------


@csrf_exempt  # checked by _order_file_upload, after the cheap refusals below
@require_role(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def order_file_upload(request: HttpRequest) -> HttpResponse:
    """Who may upload, and how much, is decided before the body is read: Django (and the
    CSRF check) would otherwise receive a whole file first, whatever the plan."""
    organization = request.organization
    if request.method == "POST":
        refusal = None
        if not organization.plan_rules.shipping_expense_mode:
            refusal = _(
                "Order files feed shipping-expense mode, part of the Pro and Advanced plans. "
                "Upgrade to upload your shop's orders."
            )
        else:
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            if declared > order_files.order_file_max_bytes() + ORDER_FILE_FORM_OVERHEAD:
                refusal = order_files._too_large_message()
        if refusal is not None:
            # The server closes the connection after this answer (the rest of the body is
            # never read: see the README's note for the proxy's own limit).
            return _order_file_page(request, form=None, error=refusal, status=413)
    return _order_file_upload(request)


@csrf_protect
def _order_file_upload(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    connections = order_files.order_file_connections(organization=organization)
    stores = list(selectors.order_file_target_stores(organization=organization))
    form = OrderFileForm(
        request.POST or None, request.FILES or None, connections=connections, stores=stores
    )
    if request.method == "GET" and request.GET.get("connection", "").isdigit():
        form.initial["connection"] = int(request.GET["connection"])
    if request.method == "POST" and form.is_valid():
        uploaded = form.cleaned_data["file"]
        try:
            upload = order_files.order_file_receive(
                organization=organization,
                actor=request.user,
                fileobj=uploaded.file,
                file_name=uploaded.name,
                connection=form.cleaned_data["connection"],
                default_store=form.cleaned_data["default_store"],
                request=request,
            )
        except services.ConnectionRefused as exc:
            _put_error(form, exc)
        else:
            return redirect(_url(request, "order_file_result", upload_id=upload.pk))
    return _order_file_page(
        request, form=form, status=400 if request.method == "POST" else 200, connections=connections
    )


def _order_file_page(
    request: HttpRequest,
    *,
    form: OrderFileForm | None,
    status: int,
    error: str = "",
    connections: list[StoreConnection] | None = None,
) -> HttpResponse:
    organization = request.organization
    if connections is None:
        connections = order_files.order_file_connections(organization=organization)
    if form is None:
        stores = list(selectors.order_file_target_stores(organization=organization))
        form = OrderFileForm(connections=connections, stores=stores)
    return render(
        request,
        "connections/order_file.html",
        {
            "form": form,
            "error": error,
            "allowed": organization.plan_rules.shipping_expense_mode,
            "has_connection": bool(connections),
            "max_mb": order_files.order_file_max_bytes() // (1024 * 1024),
            "columns": [
                {"name": name, "required": required, "help": help_text}
                for name, (required, _order_level, help_text) in COLUMNS.items()
            ],
            "uploads": selectors.order_file_uploads_for(organization=organization),
        },
        status=status,
    )


@require_role(Role.MEMBER)
def order_file_result(request: HttpRequest, upload_id: int) -> HttpResponse:
    try:
        upload = selectors.order_file_upload_get(
            organization=request.organization, upload_id=upload_id
        )
    except OrderFileUpload.DoesNotExist:
        raise Http404 from None
    problems = Paginator(selectors.order_file_problems(upload=upload), PROBLEMS_PER_PAGE)
    page = problems.get_page(request.GET.get("page"))
    return render(
        request,
        "connections/order_file_result.html",
        {
            "upload": upload,
            "problems": page,
            "problems_total": problems.count,
            "rows_read": order_files.order_file_rows_read(upload=upload),
        },
    )


@require_role(Role.MEMBER)
def order_file_progress(request: HttpRequest, upload_id: int) -> HttpResponse:
    """The result page polls this while a worker reads the file; once it is read, the page
    reloads to show the outcome."""
    try:
        upload = selectors.order_file_upload_get(
            organization=request.organization, upload_id=upload_id
        )
    except OrderFileUpload.DoesNotExist:
        raise Http404 from None
    if upload.status != OrderFileStatus.PROCESSING:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(
        request,
        "connections/_order_file_progress.html",
        {"upload": upload, "rows_read": order_files.order_file_rows_read(upload=upload)},
    )


@require_role(Role.MEMBER)
def order_file_problems_csv(request: HttpRequest, upload_id: int) -> HttpResponse:
    try:
        upload = selectors.order_file_upload_get(
            organization=request.organization, upload_id=upload_id
        )
    except OrderFileUpload.DoesNotExist:
        raise Http404 from None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_("row"), _("order_number"), _("problem")])
    for problem in selectors.order_file_problems(upload=upload).iterator():
        writer.writerow(
            [
                problem.row or "",
                spreadsheet_text(problem.order_number),
                spreadsheet_text(problem.reason),
            ]
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="unify-rejected-rows-{upload.pk}.csv"'
    return response


@require_role(Role.MEMBER)
def order_file_template(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="unify-order-file-template.csv"'
    return response
