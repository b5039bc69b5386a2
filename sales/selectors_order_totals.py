"""The counts and totals of a filter set on the Sales tab, from the daily roll-up when it can
answer them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from sales import rollup
from sales.filters import OrderFilters
from sales.models import PostingStatus
from sales.selectors_order_list import order_queryset
from unify.tenancy.models import Organization

ZERO = Decimal("0.00")


@dataclass
class CurrencyTotals:
    currency: str
    orders: int = 0
    total_sales: Decimal = ZERO
    shipping_charged: Decimal = ZERO
    label_costs: Decimal = ZERO
    # Fulfillment providers' fees (not voided) of the same orders; not in the margin.
    fulfillment_fees: Decimal = ZERO

    @property
    def shipping_margin(self) -> Decimal:
        return self.shipping_charged - self.label_costs


@dataclass
class OrderSummary:
    counts: dict[str, int]  # per posting status, for the filter set without its posting status
    totals: list[CurrencyTotals]  # for the filter set itself, one entry per currency
    posting_status: str = ""

    @property
    def count_all(self) -> int:
        return sum(self.counts.values())

    @property
    def count(self) -> int:
        if self.posting_status:
            return self.counts.get(self.posting_status, 0)
        return self.count_all

    def tabs(self) -> list[tuple[str, str, int]]:
        return [("", str(_("All")), self.count_all)] + [
            (value, str(label), self.counts.get(value, 0)) for value, label in PostingStatus.choices
        ]


def _rollup_serves(filters: OrderFilters) -> bool:
    """The running totals cover every filter but dates and search (sales/rollup.py)."""
    return (
        rollup.available()
        and filters.date_from is None
        and filters.date_until is None
        and not filters.q
    )


def order_summary(
    *, organization: Organization, filters: OrderFilters, with_fees: bool = True
) -> OrderSummary:
    """Counts per posting status (the tabs) and the totals row, from ONE grouped query: the
    tabs ignore the posting-status filter, and the totals of the chosen tab are the sum of
    its group. Without dates or search the running totals answer it (a few hundred rows,
    whatever the number of orders); otherwise the orders are added up, with an index-only
    scan of the date index, which carries every column read. ``with_fees=False`` leaves
    the fulfillment fees out (for the counts alone)."""
    if _rollup_serves(filters):
        rows = rollup.summary_rows(
            organization_id=organization.pk,
            where=rollup.RollupFilter(
                store_id=filters.store_id,
                connection_id=filters.connection_id,
                status=filters.status,
                label=filters.label,
                difference=filters.difference,
            ),
        )
    else:
        rows = (
            order_queryset(organization=organization, filters=filters.without_posting_status())
            .order_by()
            .values("posting_status", "currency")
            .annotate(
                n=Count("id"),
                total=Sum("order_total"),
                shipping=Sum("shipping_charged"),
                labels=Sum("label_cost_total"),
                returns=Sum("return_label_cost_total"),
            )
        )
    counts: dict[str, int] = {}
    by_currency: dict[str, CurrencyTotals] = {}
    for row in rows:
        status = row["posting_status"]
        counts[status] = counts.get(status, 0) + row["n"]
        if filters.posting_status and status != filters.posting_status:
            continue
        if status == PostingStatus.MERGED and not filters.posting_status:
            # Merged into another order, which carries its sale: counted there only.
            continue
        totals = by_currency.setdefault(row["currency"], CurrencyTotals(row["currency"]))
        totals.orders += row["n"]
        totals.total_sales += row["total"] or ZERO
        totals.shipping_charged += row["shipping"] or ZERO
        totals.label_costs += (row["labels"] or ZERO) + (row["returns"] or ZERO)
    fee_totals = _fee_totals(organization, filters) if with_fees else {}
    for currency, fees in fee_totals.items():
        if currency in by_currency:
            by_currency[currency].fulfillment_fees = fees
    ordered = sorted(by_currency.values(), key=lambda t: (-t.orders, t.currency))
    return OrderSummary(counts=counts, totals=ordered, posting_status=filters.posting_status)


def fee_totals_queryset(organization: Organization, filters: OrderFilters) -> QuerySet:
    """Rows of (currency, total) of the fulfillment fees of the orders the totals count
    (merged-away orders left out unless their tab is asked for). Fees are few (orders
    shipped by a fulfillment provider): they are added up from their own table, joined to
    the filtered orders."""
    from sales.models import FulfillmentFee

    orders = order_queryset(organization=organization, filters=filters)
    if not filters.posting_status:
        orders = orders.exclude(posting_status=PostingStatus.MERGED)
    return (
        FulfillmentFee.objects.filter(
            organization=organization, voided=False, order__in=orders.values("pk")
        )
        .order_by()
        .values("order__currency")
        .annotate(total=Sum("fee"))
        .values_list("order__currency", "total")
    )


def _fee_totals(organization: Organization, filters: OrderFilters) -> dict[str, Decimal]:
    """Fulfillment fees per currency (``fee_totals_queryset``)."""
    return {
        currency: total or ZERO for currency, total in fee_totals_queryset(organization, filters)
    }
