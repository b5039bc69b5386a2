"""The dashboard's charts part (``unify.tenancy.views.dashboard`` includes it): the filter
form (the Sales tab's filters but the search, the period by default the last 30 days),
the figures and the data the static script draws (``json_script``: no inline script)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, QueryDict
from django.urls import reverse

from sales import rollup_daily, selectors_tab
from sales.dashboard_charts import dashboard_charts
from sales.forms import OrderFilterForm

DEFAULT_PRESET = "30d"
CHART_PARAMS = (
    "preset", "date_from", "date_to", "store", "connection", "status", "posting", "label",
    "difference",
)  # fmt: skip


def chart_filter_data(data: QueryDict) -> QueryDict:
    """The URL's chart filters, with the default period when none is chosen."""
    query = QueryDict(mutable=True)
    for key in CHART_PARAMS:
        values = [v for v in data.getlist(key) if v != ""]
        if values:
            query.setlist(key, values)
    if not any(query.get(k) for k in ("preset", "date_from", "date_to")):
        query["preset"] = DEFAULT_PRESET
    return query


def charts_context(request: HttpRequest) -> dict[str, Any]:
    organization = request.organization
    if not rollup_daily.available():
        return {}
    data = chart_filter_data(request.GET)
    stores = selectors_tab.store_choices(organization=organization)
    form = OrderFilterForm(
        data,
        stores=stores,
        connections=selectors_tab.connection_choices(organization=organization),
    )
    for name, field in form.fields.items():
        css = "form-select" if hasattr(field, "choices") else "form-control"
        field.widget.attrs["class"] = f"{css} form-select-sm" if css == "form-select" else css
        if name in ("date_from", "date_to"):
            field.widget.attrs["class"] = "form-control form-control-sm"
    filters = form.filters(organization=organization)
    charts = dashboard_charts(organization=organization, filters=filters, stores=stores)
    sales_url = reverse("sales:list", kwargs={"org_slug": organization.slug})
    return {
        "chart_form": form,
        "charts": charts,
        "charts_json": charts.as_json(),
        "charts_sales_url": f"{sales_url}?{urlencode(list(data.lists()), doseq=True)}",
    }
