"""The Sales tab: the order list (filters in the URL, keyset pages, htmx table updates that
degrade to plain links), its counts and totals (loaded separately so the table never waits
for an aggregate), the order page, the actions and the CSV export.

Members and above see and act (there is no view-only role). Every read goes through
``sales.selectors_tab`` with ``request.organization``; an id of another organization is a
404 or is silently not acted on.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from django.contrib import messages
from django.db.models import Count
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.formats import get_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from sales import selectors_tab as selectors
from sales.export import (
    EXPORT_EXCEL_HELP,
    EXPORT_HELP,
    SPREADSHEET_PARAM,
    SPREADSHEET_VALUE,
    csv_chunks,
    export_filename,
)
from sales.filters import OrderFilters
from sales.forms import FILTER_PARAMS, OrderFilterForm, OrderSelectionForm
from sales.models import BulkActionKind, Order, OrderBulkAction, PostingStatus
from sales.rows import order_rows_html
from sales.services import review
from sales.sources import reimport_source_names, reimportable, source_name
from unify.core.audit import audit_record
from unify.core.exceptions import DomainError
from unify.tenancy.decorators import require_role
from unify.tenancy.models import Role
from unify.tenancy.scoping import org_scope


def _filter_form(request: HttpRequest, data: QueryDict) -> OrderFilterForm:
    organization = request.organization
    return OrderFilterForm(
        data,
        stores=selectors.store_choices(organization=organization),
        connections=selectors.connection_choices(organization=organization),
    )


def _filter_query(data: QueryDict, **changes: Any) -> str:
    """The filter part of a query string (no page position), with ``changes`` applied."""
    query = QueryDict(mutable=True)
    for key in FILTER_PARAMS:
        values = [v for v in data.getlist(key) if v != ""]
        if values:
            query.setlist(key, values)
    for key, value in changes.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    return query.urlencode()


def _list_url(request: HttpRequest, query: str = "") -> str:
    url = reverse("sales:list", kwargs={"org_slug": request.organization.slug})
    return f"{url}?{query}" if query else url


def _wants_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    # A history restore asks for the whole page (htmx had no snapshot of it).
    return bool(htmx) and not htmx.history_restore_request


@require_GET
@require_role(Role.MEMBER)
def order_list(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    form = _filter_form(request, request.GET)
    filters = form.filters(organization=organization)
    page = selectors.order_page(
        organization=organization,
        filters=filters,
        sort=form.chosen_sort,
        page_size=form.chosen_page_size,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
    )
    filter_query = _filter_query(request.GET)
    first_page = not page.has_prev
    empty_state = None
    if not page.orders and filters.is_empty and first_page:
        empty_state = selectors.sales_empty_state(organization=organization)
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "filter_query": filter_query,
        "summary_url": reverse("sales:summary", kwargs={"org_slug": organization.slug})
        + (f"?{filter_query}" if filter_query else ""),
        "export_url": reverse("sales:export", kwargs={"org_slug": organization.slug})
        + (f"?{filter_query}" if filter_query else ""),
        # Offered where the person's numbers use a decimal comma (German), for their Excel.
        "export_excel_url": reverse("sales:export", kwargs={"org_slug": organization.slug})
        + f"?{SPREADSHEET_PARAM}={SPREADSHEET_VALUE}"
        + (f"&{filter_query}" if filter_query else "")
        if get_format("DECIMAL_SEPARATOR") == ","
        else "",
        "next_url": _list_url(request, _filter_query(request.GET, after=page.next_cursor))
        if page.has_next
        else "",
        "prev_url": _list_url(request, _filter_query(request.GET, before=page.prev_cursor))
        if page.has_prev and page.prev_cursor
        else "",
        "first_url": _list_url(request, filter_query) if page.has_prev else "",
        "tabs": [
            (value, label, _list_url(request, _filter_query(request.GET, posting=value)))
            for value, label in [("", _("All")), *PostingStatus.choices]
        ],
        "filter_fields": [
            (key, value) for key, values in QueryDict(filter_query).lists() for value in values
        ],
        "rows_html": order_rows_html(
            page.orders,
            tz=organization.tzinfo,
            detail_prefix=_list_url(request),
            back_param=quote(request.GET.urlencode(), safe=""),
        ),
        "empty_state": empty_state,
        "bulk_actions": selectors.bulk_actions_recent(organization=organization),
        "ledger_connected": review.ledger_connected(organization=organization),
        "ledgers_available": review.ledgers_available(),
        "max_selected": OrderSelectionForm.MAX_SELECTED,
        "export_help": EXPORT_HELP,
        "export_excel_help": EXPORT_EXCEL_HELP,
    }
    template = "sales/_results.html" if _wants_partial(request) else "sales/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
@require_role(Role.MEMBER)
def order_summary(request: HttpRequest) -> HttpResponse:
    """The posting-status counts (tabs) and the totals row of the filter set."""
    organization = request.organization
    form = _filter_form(request, request.GET)
    filters = form.filters(organization=organization)
    summary = selectors.order_summary(organization=organization, filters=filters)
    filter_query = _filter_query(request.GET)
    context = {
        "summary": summary,
        "filters": filters,
        "form": form,
        "filter_query": filter_query,
        "tabs": [
            (value, label, count, _list_url(request, _filter_query(request.GET, posting=value)))
            for value, label, count in summary.tabs()
        ],
        "list_url": _list_url(request, filter_query),
    }
    template = "sales/_summary.html" if _wants_partial(request) else "sales/summary.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


# The object views look the object up before refusing a method, so another organization's
# id is a 404 whatever the method (the answer never depends on whether B's row exists).


@require_role(Role.MEMBER)
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    organization = request.organization
    try:
        order = selectors.order_get(organization=organization, order_id=order_id)
    except Order.DoesNotExist:
        raise Http404 from None
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    back = request.GET.get("back", "")
    back_url = _list_url(request, back) if back and not back.startswith(("/", "http")) else ""
    order.posting_in_progress = order.posting_status in selectors.AWAITING_POSTING and bool(
        selectors.orders_posting_in_progress(organization=organization, order_ids=[order.pk])
    )
    context = {
        "order": order,
        "lines": selectors.order_lines(organization=organization, order=order),
        "label_costs": selectors.order_label_costs(organization=organization, order=order),
        "fulfillment_fees": selectors.order_fulfillment_fees(
            organization=organization, order=order
        ),
        "reconciliation": selectors.order_reconciliation(order),
        "audit_trail": selectors.order_audit_trail(organization=organization, order=order),
        "raw_pretty": selectors.order_raw_pretty(order),
        "bill_to": selectors.address_lines(order.bill_to),
        "ship_to": selectors.address_lines(order.ship_to),
        "ledger_connected": review.ledger_connected(organization=organization),
        "ledgers_available": review.ledgers_available(),
        "can_ignore": order.posting_status in review.IGNORABLE,
        # The order's source, by its provider's name; only orders read through an API can
        # be read again.
        "source_name": source_name(order.source),
        "reimportable": bool(order.connection_id) and reimportable(order.source),
        "back_url": back_url or _list_url(request),
        "back_query": back,
    }
    return render(request, "sales/detail.html", context)


def _redirect_back(request: HttpRequest, fallback_query: str) -> HttpResponse:
    order_id = request.POST.get("order")
    if order_id and order_id.isdigit():
        url = reverse(
            "sales:detail", kwargs={"org_slug": request.organization.slug, "order_id": order_id}
        )
        back = request.POST.get("back", "")
        return redirect(f"{url}?{urlencode({'back': back})}" if back else url)
    return redirect(_list_url(request, fallback_query))


@require_POST
@require_role(Role.MEMBER)
def order_action(request: HttpRequest) -> HttpResponse:
    """Ignore / un-ignore / re-import / post / retry, on ticked orders or on all filtered.

    Ticked orders are changed in the request (at most a page of them), except the re-import,
    which waits on the source and runs in the background. "All filtered" always runs in the
    background with a progress bar on the list."""
    organization = request.organization
    filter_query = _filter_query(request.POST)
    selection = OrderSelectionForm(request.POST)
    if not selection.is_valid():
        for errors in selection.errors.values():
            for error in errors:
                messages.error(request, error)
        return _redirect_back(request, filter_query)
    action = selection.cleaned_data["action"]
    scope = selection.cleaned_data["scope"]
    ids = selection.cleaned_data["ids"]
    user = request.user
    try:
        if scope == "filtered":
            form = _filter_form(request, request.POST)
            if not form.is_valid():
                # A filter value that cannot be read would widen "all filtered" to more
                # orders than the merchant saw: refuse instead of guessing.
                messages.error(
                    request, _("The filters could not be read; nothing was changed. Try again.")
                )
                return _redirect_back(request, filter_query)
            filters = form.filters(organization=organization)
            if action == "retry":
                batch = review.orders_retry_failed(
                    organization=organization, order_ids=None, actor=user
                )
                _retry_message(request, batch)
            else:
                review.order_bulk_action_start(
                    organization=organization,
                    kind=action,
                    actor=user,
                    filters=filters,
                    request=request,
                )
                messages.success(
                    request,
                    _("Started on every filtered order. The progress shows above the list."),
                )
        elif action == "ignore":
            n = review.orders_ignore(
                organization=organization, order_ids=ids, actor=user, request=request
            )
            _count_message(request, len(ids), n, ignore=True)
        elif action == "unignore":
            n = review.orders_unignore(
                organization=organization, order_ids=ids, actor=user, request=request
            )
            _count_message(request, len(ids), n, ignore=False)
        elif action == "reimport":
            review.order_bulk_action_start(
                organization=organization,
                kind=BulkActionKind.REIMPORT,
                actor=user,
                order_ids=ids,
                request=request,
            )
            messages.success(
                request,
                # From the order page there is no list (nor progress bar) to point at.
                (_("Re-import from %(source)s started. Reload this page in a moment to see "
                   "what changed.")
                 if request.POST.get("order")
                 else _("Re-import from %(source)s started. The progress shows above the list."))
                % {"source": reimport_source_names()},
            )  # fmt: skip
        elif action == "post":
            batch = review.orders_post(organization=organization, orders=ids, actor=user)
            messages.success(
                request,
                _posting_queued_message(batch)
                + (
                    " "
                    + _("%(n)s could not be posted (ignored, cancelled, already posted or "
                        "outside the posting settings).") % {"n": batch.not_eligible}
                    if batch.not_eligible
                    else ""
                ),
            )  # fmt: skip
        elif action == "retry":
            batch = review.orders_retry_failed(organization=organization, order_ids=ids, actor=user)
            _retry_message(request, batch)
    except DomainError as exc:
        messages.error(request, exc.user_message)
    return _redirect_back(request, filter_query)


def _posting_queued_message(batch) -> str:
    """What a Post click queued, in the merchant's terms: orders (or daily summaries) and the
    label costs that go with them, not a bare count of ledger documents."""
    from accounting.models import LedgerStatus, PostingKind

    waiting = getattr(batch, "already_queued", 0)
    held = getattr(batch, "waiting_for_day_end", 0)
    if not batch.total and held:
        # Daily summaries of days not over yet (accounting.services.summaries).
        return ngettext(
            "%(n)s daily summary waits for its day to end and is posted then.",
            "%(n)s daily summaries wait for their day to end and are posted then.",
            held,
        ) % {"n": held}
    if not batch.total and waiting:
        if batch.ledger_connection.status == LedgerStatus.NEEDS_REAUTH:
            return ngettext(
                "%(n)s order already waits to be posted: %(ledger)s has to be reconnected on "
                "the Accounting tab, then it is sent at once.",
                "%(n)s orders already wait to be posted: %(ledger)s has to be reconnected on "
                "the Accounting tab, then they are sent at once.",
                waiting,
            ) % {"n": waiting, "ledger": batch.ledger_connection.get_provider_display()}
        return ngettext(
            "%(n)s order is already queued for posting.",
            "%(n)s orders are already queued for posting.",
            waiting,
        ) % {"n": waiting}
    kinds = dict(
        batch.postings.values_list("kind").annotate(n=Count("id")).values_list("kind", "n")
    )
    sales = kinds.get(PostingKind.SALE, 0)
    summaries = kinds.get(PostingKind.SUMMARY, 0)
    labels = kinds.get(PostingKind.SHIPPING_COST, 0)
    if labels and not (sales or summaries):
        # Costs of labels bought after their orders were posted.
        return ngettext(
            "%(n)s label cost queued for posting.", "%(n)s label costs queued for posting.", labels
        ) % {"n": labels}
    if summaries:
        text = ngettext(
            "%(n)s daily summary queued for posting.",
            "%(n)s daily summaries queued for posting.",
            summaries,
        ) % {"n": summaries}
    else:
        text = ngettext(
            "%(n)s order queued for posting.", "%(n)s orders queued for posting.", sales
        ) % {"n": sales}
    if labels:
        text += " " + ngettext(
            "%(n)s label cost goes with them.", "%(n)s label costs go with them.", labels
        ) % {"n": labels}
    return text


def _count_message(request: HttpRequest, asked: int, changed: int, *, ignore: bool) -> None:
    if ignore:
        text = ngettext("%(n)s order ignored.", "%(n)s orders ignored.", changed) % {"n": changed}
        if asked > changed:
            text += " " + _("Orders already posted or already ignored were left as they are.")
    else:
        text = ngettext(
            "%(n)s order no longer ignored.", "%(n)s orders no longer ignored.", changed
        ) % {"n": changed}
        if asked > changed:
            text += " " + _("Orders that were not ignored were left as they are.")
    messages.success(request, text)


def _retry_message(request: HttpRequest, batch: Any) -> None:
    if batch is None:
        messages.info(request, _("No failed posting to retry."))
    else:
        messages.success(
            request,
            ngettext(
                "%(n)s failed posting queued again.", "%(n)s failed postings queued again.",
                batch.total,
            ) % {"n": batch.total},
        )  # fmt: skip


@require_role(Role.MEMBER)
def bulk_action_progress(request: HttpRequest, action_id: int) -> HttpResponse:
    try:
        action = selectors.bulk_action_get(organization=request.organization, action_id=action_id)
    except OrderBulkAction.DoesNotExist:
        raise Http404 from None
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return render(request, "sales/_bulk_action.html", {"action": action})


@require_GET
@require_role(Role.MEMBER)
def order_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The filtered list as CSV, streamed: the rows come from a server-side cursor while the
    response is being sent, so neither the server nor the browser waits for the whole set."""
    organization = request.organization
    form = _filter_form(request, request.GET)
    if not form.is_valid():
        # Exporting more than the filters say would be worse than exporting nothing.
        return HttpResponseBadRequest(
            _("The filters could not be read; nothing was exported."),
            content_type="text/plain; charset=utf-8",
        )
    filters: OrderFilters = form.filters(organization=organization)
    tz = organization.tzinfo
    organization_id = organization.pk
    spreadsheet = request.GET.get(SPREADSHEET_PARAM) == SPREADSHEET_VALUE
    language = translation.get_language()
    # Who took the organization's orders out, with which filters (support staff included:
    # a staff member who made themselves a member must show here too).
    audit_record(
        action="orders.exported",
        organization=organization,
        actor=request.user,
        metadata={"by_staff": bool(request.user.is_staff), "query": request.GET.urlencode()[:500]},
        request=request,
    )

    def body():
        # The response is sent after the view returned (and after the middleware left the
        # organization's scope), so the stream enters it itself.
        with org_scope(organization_id), translation.override(language):
            rows = selectors.order_export_rows(
                organization=organization, filters=filters, sort=form.chosen_sort
            )
            yield from csv_chunks(
                rows, fields=selectors.EXPORT_FIELDS, tz=tz, spreadsheet=spreadsheet
            )

    response = StreamingHttpResponse(body(), content_type="text/csv; charset=utf-8")
    name = export_filename(organization.slug, timezone.now(), tz, spreadsheet=spreadsheet)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
