"""The dashboard's charts and totals for a filter set, read from the day-by-day running
totals (sales/rollup_daily.py), never from the orders: sales per day by store, shipping
charged against label costs per day with the margin, the posting status of each day's
orders, and the top SKUs by revenue. Amounts stay Decimal (strings in the page's JSON).

The totals follow the Sales tab's rules (``sales.selectors_tab.order_summary``): the chosen
posting status only, else everything but orders merged into another order."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from sales import rollup_daily
from sales.filters import OrderFilters
from sales.models import PostingStatus
from sales.selectors_tab import (
    ZERO,
    CurrencyTotals,
    fee_totals_queryset,
    order_summary,
    store_choices,
)
from unify.tenancy.models import Organization

# Periods up to this many days are drawn day by day; longer ones month by month (from the
# month totals: a year of day rows is tens of thousands of rows, and 365 bars per store are
# not readable anyway).
MAX_DAYS = 62
WAITING = (PostingStatus.NOT_POSTED, PostingStatus.CHANGED)
MERGED = PostingStatus.MERGED.value
POSTING_KEYS = {
    PostingStatus.POSTED.value: "posted",
    PostingStatus.FAILED.value: "failed",
    PostingStatus.IGNORED.value: "ignored",
}  # every other status (not posted, changed) is waiting


def counted(row_status: str, filters: OrderFilters) -> bool:
    if filters.posting_status:
        return row_status == filters.posting_status
    return row_status != PostingStatus.MERGED


@dataclass
class DashboardCharts:
    days: list[date]  # the first day of each bar: a day, or a month (``by_month``)
    totals: list[CurrencyTotals]
    currency: str  # the one the money charts are drawn in (the most orders)
    by_month: bool = False
    sales_by_store: list[dict[str, Any]] = field(default_factory=list)
    shipping: dict[str, list[Decimal]] = field(default_factory=dict)
    posting: dict[str, list[int]] = field(default_factory=dict)
    top_skus: list[rollup_daily.SkuRow] = field(default_factory=list)

    @property
    def day_rows(self) -> list[tuple]:
        ship, post = self.shipping, self.posting
        return [
            (day, ship["charged"][i], ship["labels"][i], ship["margin"][i],
             post["posted"][i], post["failed"][i], post["waiting"][i])
            for i, day in enumerate(self.days)
        ]  # fmt: skip

    @property
    def has_fees(self) -> bool:
        return any(t.fulfillment_fees for t in self.totals)

    @property
    def has_data(self) -> bool:
        return any(t.orders for t in self.totals)

    def as_json(self) -> dict[str, Any]:
        """For the page's ``json_script`` (amounts as strings: exact, parsed for drawing)."""

        def money(values: list[Decimal]) -> list[str]:
            return [str(v) for v in values]

        return {
            "days": [d.strftime("%Y-%m") if self.by_month else d.isoformat() for d in self.days],
            "period": "month" if self.by_month else "day",
            "currency": self.currency,
            "sales_by_store": [
                {"label": s["label"], "data": money(s["data"])} for s in self.sales_by_store
            ],
            "shipping": {k: money(v) for k, v in self.shipping.items()},
            "shipping_labels": {
                "charged": _("Shipping charged"),
                "labels": _("Label costs"),
                "margin": _("Shipping margin"),
            },
            "posting": self.posting,
            "posting_labels": {
                "posted": _("Posted"),
                "failed": _("Failed"),
                "waiting": _("Waiting"),
                "ignored": _("Ignored"),
            },
            "top_skus": [
                {"sku": s.sku or _("(no SKU)"), "revenue": str(s.revenue)} for s in self.top_skus
            ],
            "top_skus_label": _("Revenue"),
        }


def _period(
    filters: OrderFilters, organization: Organization, tomorrow: date
) -> tuple[date | None, date, bool]:
    """The period's first day (None when open and nothing was sold yet), its end (exclusive;
    tomorrow when open) and whether it is drawn by month."""
    first, end = rollup_daily.local_days(filters, organization.tzinfo)
    if end is None:
        end = tomorrow
    if first is None:
        first = rollup_daily.first_day(organization_id=organization.pk)
    by_month = first is not None and (end - first).days > MAX_DAYS
    return first, end, by_month


def _axis(first: date | None, end: date, by_month: bool, seen: list[date]) -> list[date]:
    """The bars: every day (month) of the period, and any later one that has orders (open
    periods: orders dated in the future)."""
    if seen:
        end = max(end, max(seen) + timedelta(days=1))
        first = min(first, min(seen)) if first is not None else min(seen)
    if first is None:
        first = end - timedelta(days=30)
    if not by_month:
        return [first + timedelta(days=i) for i in range((end - first).days)]
    months, month = [], first.replace(day=1)
    while month < end:
        months.append(month)
        month = rollup_daily.next_month(month)
    return months


def dashboard_charts(
    *,
    organization: Organization,
    filters: OrderFilters,
    stores: list[tuple[int, str]] | None = None,
) -> DashboardCharts:
    """``stores``: the organization's store choices when the caller has them already."""
    tz = organization.tzinfo
    tomorrow = timezone.now().astimezone(tz).date() + timedelta(days=1)
    first, end, by_month = _period(filters, organization, tomorrow)
    # The day (month) totals, the top SKUs and the fulfillment fees in one round trip.
    order_rows, sku_rows, fee_rows = rollup_daily.read_all(
        [
            rollup_daily.order_days_sql(
                organization_id=organization.pk,
                filters=filters,
                tz=tz,
                by_month=by_month,
                complement_before=tomorrow,
            ),
            rollup_daily.top_skus_sql(
                organization_id=organization.pk,
                filters=filters,
                tz=tz,
                complement_before=tomorrow,
            ),
            fee_totals_queryset(organization, filters).query.sql_with_params(),
        ]
    )
    rows = rollup_daily.order_day_rows(order_rows)
    chosen = filters.posting_status  # plain strings in the loops: they run per row
    by_currency: dict[str, CurrencyTotals] = {}
    for row in rows:
        if (row.posting_status != chosen) if chosen else (row.posting_status == MERGED):
            continue
        totals = by_currency.get(row.currency)
        if totals is None:
            totals = by_currency[row.currency] = CurrencyTotals(row.currency)
        totals.orders += row.orders
        totals.total_sales += row.order_total
        totals.shipping_charged += row.shipping_charged
        totals.label_costs += row.label_costs
    # Fulfillment fees are few and have no day totals: added up as the Sales tab does.
    for fee_currency, fees in fee_rows:
        if fee_currency in by_currency:
            by_currency[fee_currency].fulfillment_fees = fees or ZERO
    totals = sorted(by_currency.values(), key=lambda t: (-t.orders, t.currency))
    if filters.date_from is None and filters.date_until is None:
        # No date bound: the Sales tab counts orders without an order date too, which are
        # in no day (nor drawn); its own running totals answer that.
        totals = order_summary(organization=organization, filters=filters).totals
    currency = totals[0].currency if totals else organization_currency(organization)
    days = _axis(first, end, by_month, [r.day for r in rows])
    index = {d: i for i, d in enumerate(days)}
    store_names = dict(stores if stores is not None else store_choices(organization=organization))
    per_store: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO] * len(days))
    charged, labels = [ZERO] * len(days), [ZERO] * len(days)
    posting = {key: [0] * len(days) for key in ("posted", "failed", "waiting", "ignored")}
    posting_key = POSTING_KEYS.get
    for row in rows:
        i = index.get(row.day)
        if i is None:
            continue
        status = row.posting_status
        if status != MERGED:
            posting[posting_key(status, "waiting")][i] += row.orders
        if row.currency != currency or ((status != chosen) if chosen else (status == MERGED)):
            continue
        per_store[row.store_id][i] += row.order_total
        charged[i] += row.shipping_charged
        labels[i] += row.label_costs
    sales_by_store = [
        {"label": store_names.get(store_id) or _("No store"), "data": data}
        for store_id, data in sorted(per_store.items(), key=lambda item: -sum(item[1]))
    ]
    return DashboardCharts(
        days=days,
        totals=totals,
        currency=currency,
        by_month=by_month,
        sales_by_store=sales_by_store,
        shipping={
            "charged": charged,
            "labels": labels,
            "margin": [c - cost for c, cost in zip(charged, labels, strict=True)],
        },
        posting=posting,
        top_skus=rollup_daily.sku_rows(sku_rows),
    )


def organization_currency(organization: Organization) -> str:
    return getattr(organization, "currency", "") or "USD"
