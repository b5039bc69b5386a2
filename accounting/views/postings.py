"""The posting log and a posting's page, retrying and updating postings, and a batch's
progress (the Sales tab's posting endpoints answer with it)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from accounting import selectors
from accounting.ledgers.registry import get_provider
from accounting.models import Posting, PostingBatch, PostingKind, PostingState
from accounting.services import engine
from accounting.views.common import _back, _url
from unify.core.exceptions import DomainError
from unify.tenancy.decorators import require_role
from unify.tenancy.models import Role

PAGE_SIZE = 50


@require_role(Role.MEMBER)
@require_GET
def posting_log(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    if status not in PostingState.values:
        status = ""
    if kind not in PostingKind.values:
        kind = ""
    review = request.GET.get("review") == "1"
    held = {"1": True, "0": False}.get(request.GET.get("held", ""))
    search = request.GET.get("q", "").strip()[:100]
    postings = selectors.postings_for(
        organization=organization,
        status=status,
        kind=kind,
        search=search,
        needs_review=review,
        held=held,
    )
    page = Paginator(postings, PAGE_SIZE).get_page(request.GET.get("page"))
    ledger = selectors.ledger_connection_current(organization=organization)
    return render(
        request,
        "accounting/postings.html",
        {
            "page": page,
            "status": status,
            "kind": kind,
            "review": review,
            "held": "" if held is None else str(int(held)),
            "q": search,
            "statuses": PostingState.choices,
            "kinds": PostingKind.choices,
            "ledger": ledger,
            "counts": selectors.posting_counts(organization=organization, ledger=ledger),
            "can_update": ledger is not None and get_provider(ledger.provider).supports_update,
        },
    )


@require_role(Role.MEMBER)
def posting_detail(request: HttpRequest, posting_id: int) -> HttpResponse:
    try:
        posting = selectors.posting_get(organization=request.organization, posting_id=posting_id)
    except Posting.DoesNotExist:
        raise Http404 from None
    return render(
        request,
        "accounting/posting_detail.html",
        {
            "posting": posting,
            "events": selectors.posting_events(posting=posting),
            "document_json": json.dumps(posting.document, indent=2, sort_keys=True),
            "answer_json": json.dumps(posting.answer, indent=2, sort_keys=True),
        },
    )


def _ids(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            continue
    return ids[:10000]


def _batch_response(request: HttpRequest, batch: PostingBatch | None, default: str):
    if batch is None:
        messages.info(request, _("Nothing to do."))
    elif request.htmx:
        return _render_progress(request, batch)
    else:
        text = ngettext(
            "%(count)s document queued for posting.",
            "%(count)s documents queued for posting.",
            batch.total,
        ) % {"count": batch.total}
        if batch.not_eligible:
            text += " " + ngettext(
                "%(count)s order was not eligible (already posted, ignored, cancelled or "
                "outside the posting settings).",
                "%(count)s orders were not eligible (already posted, ignored, cancelled or "
                "outside the posting settings).",
                batch.not_eligible,
            ) % {"count": batch.not_eligible}
        messages.success(request, text)
    if request.htmx:
        return render(request, "accounting/_nothing_to_do.html")
    return _back(request, default)


@require_role(Role.MEMBER)
@require_POST
def posting_retry(request: HttpRequest) -> HttpResponse:
    """Retry failed postings: those ticked (``posting_id``), those of the ticked orders
    (``order_id``), or every failed one."""
    everything = request.POST.get("all") == "1"
    posting_ids = None if everything else (_ids(request.POST.getlist("posting_id")) or None)
    order_ids = None if everything else (_ids(request.POST.getlist("order_id")) or None)
    try:
        batch = engine.posting_retry_failed(
            organization=request.organization,
            posting_ids=posting_ids,
            order_ids=order_ids,
            user=request.user,
        )
    except DomainError as exc:
        messages.error(request, exc.user_message)
        return _back(request, _url(request, "postings"))
    return _batch_response(request, batch, _url(request, "postings"))


@require_role(Role.MEMBER)
@require_POST
def posting_retry_one(request: HttpRequest, posting_id: int) -> HttpResponse:
    try:
        posting = selectors.posting_get(organization=request.organization, posting_id=posting_id)
    except Posting.DoesNotExist:
        raise Http404 from None
    try:
        batch = engine.posting_retry_failed(
            organization=request.organization, posting_ids=[posting.pk], user=request.user
        )
    except DomainError as exc:
        messages.error(request, exc.user_message)
        batch = None
    else:
        if batch is None:
            messages.info(request, _("Only failed postings can be retried."))
        else:
            messages.success(request, _("Queued again."))
    return redirect(_url(request, "posting_detail", posting_id=posting.pk))


@require_role(Role.ADMIN)
@require_POST
def posting_update(request: HttpRequest) -> HttpResponse:
    """Re-post documents changed after posting as updates of the ledger's documents."""
    ids = _ids(request.POST.getlist("posting_id"))
    try:
        batch = engine.posting_update_changed(
            organization=request.organization, posting_ids=ids, user=request.user
        )
    except DomainError as exc:
        messages.error(request, exc.user_message)
        return _back(request, _url(request, "postings") + "?review=1")
    return _batch_response(request, batch, _url(request, "postings") + "?review=1")


@require_role(Role.MEMBER)
def batch_progress(request: HttpRequest, batch_id: int) -> HttpResponse:
    try:
        batch = selectors.batch_get(organization=request.organization, batch_id=batch_id)
    except PostingBatch.DoesNotExist:
        raise Http404 from None
    return _render_progress(request, batch)


def _render_progress(request: HttpRequest, batch: PostingBatch) -> HttpResponse:
    progress = selectors.batch_progress(organization=request.organization, batch=batch)
    return render(request, "accounting/_batch_progress.html", {"progress": progress})
