"""Order-file uploads: the upload page, an upload's result and progress, its rejected rows
and the template."""

from __future__ import annotations

import csv
import io

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from connections import order_files, selectors, services
from connections.forms import OrderFileForm
from connections.models import OrderFileStatus, OrderFileUpload, StoreConnection
from connections.sources.csv.parser import COLUMNS, template_csv
from connections.views.common import _put_error, _source_names, _url
from sales.export import spreadsheet_text
from unify.tenancy.decorators import require_role
from unify.tenancy.models import Role

# Room for the form's other fields and the multipart framing around the file.
ORDER_FILE_FORM_OVERHEAD = 64 * 1024
PROBLEMS_PER_PAGE = 100


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
            # The sources whose label costs are matched: those of the connections an order
            # file can be uploaded for, or, without one yet, those Add Store offers.
            "source_names": _source_names(c.provider for c in connections),
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
            # The source of the connection whose stores the file names.
            "source_name": _source_names(
                [upload.connection.provider] if upload.connection is not None else []
            ),
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
