"""The posting settings page."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounting import selectors
from accounting.forms import PostingSettingsForm
from accounting.ledgers.registry import get_provider
from accounting.models import PostingSettings
from accounting.services import connections as ledger_services
from accounting.views.common import _url
from connections.selectors import store_choices
from unify.tenancy.decorators import require_role
from unify.tenancy.models import Role


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
