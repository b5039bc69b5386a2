"""The connections list, Add Store and a source's Connect Store page."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from connections import selectors, services
from connections.forms import PlatformForm
from connections.models import ConnectionStatus
from connections.sources.registry import source_provider
from connections.views.common import _put_error, _source_names, _sources, _url
from unify.tenancy.decorators import require_role
from unify.tenancy.models import Role


@require_role(Role.MEMBER)
def connection_list(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    overviews = selectors.connection_overviews(organization=organization)
    plan = organization.plan_rules
    in_use = sum(1 for o in overviews if o.connection.status != ConnectionStatus.DISABLED)
    needs_keys = [
        o.connection for o in overviews if o.connection.status == ConnectionStatus.NEEDS_CREDENTIALS
    ]
    return render(
        request,
        "connections/list.html",
        {
            "overviews": overviews,
            # One banner per source: each names its source and tells how long its keys last.
            "needs_keys_by_source": [
                {
                    "source": source,
                    "connections": [c for c in needs_keys if c.provider == source.key],
                }
                for source in _sources(c.provider for c in needs_keys)
            ],
            "source_names": _source_names(),
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
