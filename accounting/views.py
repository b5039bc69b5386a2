"""Accounting tab: ledger cards (connect, test, disconnect), posting settings, the posting
log, review of documents changed after posting, and the posting endpoints the Sales tab
uses (post selected / filtered, retry failed, batch progress).

Views parse and render; every rule lives in :mod:`accounting.services`. Objects are looked
up through selectors scoped to ``request.organization``, so another organization's ids
answer 404.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounting import selectors
from accounting.forms import PostingSettingsForm
from accounting.ledgers.registry import UnknownLedger, get_provider, ledger_cards, ledger_providers
from accounting.models import (
    LedgerConnection,
    LedgerStatus,
    Posting,
    PostingBatch,
    PostingKind,
    PostingSettings,
    PostingState,
)
from accounting.services import connections as ledger_services
from accounting.services import engine
from connections.selectors import store_choices
from unify.core.error_reports import sensitive_get_parameters
from unify.core.exceptions import DomainError, IntegrationError, ProviderAuthError
from unify.tenancy.decorators import require_reauthentication, require_role
from unify.tenancy.models import Role
from unify.tenancy.scoping import org_scope
from unify.tenancy.selectors import membership_for

logger = logging.getLogger(__name__)

PAGE_SIZE = 50


def _url(request: HttpRequest, name: str, **kwargs) -> str:
    return reverse(f"accounting:{name}", kwargs={"org_slug": request.organization.slug, **kwargs})


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


def _back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


# ---------------------------------------------------------------------------------------------
# Home: ledger cards
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------


@require_role(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def posting_settings(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    ledger = selectors.ledger_connection_current(organization=organization)
    if ledger is None:
        messages.info(request, _("Connect a ledger first."))
        return redirect(_url(request, "home"))
    settings_obj, _created = PostingSettings.objects.get_or_create(
        ledger_connection=ledger, defaults={"organization": organization}
    )
    catalog = selectors.catalog_of(ledger)
    stores = store_choices(organization=organization)
    provider = get_provider(ledger.provider)
    form = PostingSettingsForm(
        request.POST or None,
        instance=settings_obj,
        catalog=catalog,
        stores=stores,
        sale_kinds=tuple(str(k) for k in provider.sale_kinds),
        provider=ledger.provider,
    )
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in form.Meta.fields if name in form.fields}
        values.update(form.tax_code_values())
        values.update(form.marketplace_tax.values())
        ledger_services.posting_settings_update(
            posting_settings=settings_obj, values=values, user=request.user, request=request
        )
        messages.success(request, _("Posting settings saved."))
        return redirect(_url(request, "settings"))
    return render(
        request,
        "accounting/settings.html",
        {
            "ledger": ledger,
            "form": form,
            "catalog": catalog,
            "stale": form.stale_mappings() if request.method == "GET" else [],
            "wrong_types": form.wrong_account_types() if request.method == "GET" else [],
        },
    )


# ---------------------------------------------------------------------------------------------
# Posting log
# ---------------------------------------------------------------------------------------------


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
