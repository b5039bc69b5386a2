"""Reads of the Sales tab: one page of orders (keyset), the counts and totals of a filter set,
an order's detail, the filter choices and the export rows. Each takes the organization
explicitly and only ever returns its rows.

Paging is by keyset, never by OFFSET: a page is "the next ``n`` orders after this one in
this sort order", answered from an index whatever the page number. Every sort ends with
``id`` so rows that share a date or a total still have one fixed order; the cursor holds the
last row's sort value and id, signed so a URL cannot be tampered into something else.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core import signing
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Count, Expression, F, OrderBy, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.fields import BooleanField
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from connections.models import ConnectionStatus, StoreConnection
from connections.selectors import store_choices as connection_store_choices
from sales import rollup
from sales.filters import OrderFilters, apply_filters
from sales.models import (
    OPEN_SYNC_STATUSES,
    BulkActionStatus,
    Order,
    OrderBulkAction,
    OrderLine,
    PostingStatus,
    ShippingCost,
    SyncRun,
)
from unify.core.models import AuditEvent
from unify.tenancy.models import Organization

ZERO = Decimal("0.00")

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
DEFAULT_SORT = "-date"


@dataclass(frozen=True, slots=True)
class SortSpec:
    field: str
    descending: bool
    nullable: bool = False


SORTS: dict[str, SortSpec] = {
    "-date": SortSpec("order_date", True, nullable=True),
    "date": SortSpec("order_date", False, nullable=True),
    "-number": SortSpec("number", True),
    "number": SortSpec("number", False),
    "-total": SortSpec("order_total", True),
    "total": SortSpec("order_total", False),
}
SORT_CHOICES = (
    ("-date", _("Newest first")),
    ("date", _("Oldest first")),
    ("number", _("Order number, A to Z")),
    ("-number", _("Order number, Z to A")),
    ("-total", _("Highest total first")),
    ("total", _("Lowest total first")),
)

# What a list row shows. Everything else (the raw record above all) stays in the database.
LIST_FIELDS = (
    "id", "organization_id", "connection_id", "source_store_id", "store_name", "number",
    "status", "order_date", "customer_name", "customer_email", "currency", "items_count",
    "order_total", "shipping_charged", "label_cost_total", "return_label_cost_total",
    "reconciliation_difference", "label_status", "is_ignored", "posting_status", "split_part",
)  # fmt: skip


class RowCompare(Expression):
    """``(a, b) < (x, y)`` as one SQL row comparison, which PostgreSQL answers as a range of a
    composite index (an ``a < x OR (a = x AND b < y)`` would be a filter, not a range)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, fields: Sequence[str], operator: str, values: Sequence[Any]) -> None:
        if operator not in ("<", ">"):
            raise ValueError("operator must be < or >")
        super().__init__(output_field=BooleanField())
        self.fields = [F(name) for name in fields]
        self.operator = operator
        self.values = list(values)

    def get_source_expressions(self) -> list[Any]:
        return list(self.fields)

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        self.fields = list(exprs)

    def as_sql(self, compiler, connection) -> tuple[str, list[Any]]:
        columns, params = [], []
        for expression, value in zip(self.fields, self.values, strict=True):
            sql, column_params = compiler.compile(expression)
            columns.append(sql)
            params.extend(column_params)
            params.append(expression.output_field.get_db_prep_value(value, connection))
        placeholders = ", ".join(["%s"] * len(self.values))
        return f"({', '.join(columns)}) {self.operator} ({placeholders})", params


def _ordering(spec: SortSpec, descending: bool) -> list[OrderBy]:
    if descending:
        return [
            F(spec.field).desc(nulls_first=True) if spec.nullable else F(spec.field).desc(),
            F("id").desc(),
        ]
    return [
        F(spec.field).asc(nulls_last=True) if spec.nullable else F(spec.field).asc(),
        F("id").asc(),
    ]


def _beyond(spec: SortSpec, descending: bool, value: Any, pk: int) -> Q | RowCompare:
    """Rows after (value, pk) when scanning in this direction. NULL dates sort first when
    descending and last when ascending (PostgreSQL's own order for that index)."""
    if value is None:
        if descending:
            return Q(**{f"{spec.field}__isnull": True, "id__lt": pk}) | Q(
                **{f"{spec.field}__isnull": False}
            )
        return Q(**{f"{spec.field}__isnull": True, "id__gt": pk})
    return RowCompare((spec.field, "id"), "<" if descending else ">", (value, pk))


# --- cursors ---------------------------------------------------------------------------------


def _cursor_salt(organization_id: int) -> str:
    return f"sales.order-cursor.{organization_id}"


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _decode_value(sort: str, raw: Any) -> Any:
    if raw is None:
        return None
    spec = SORTS[sort]
    if spec.field == "order_date":
        return datetime.fromisoformat(raw)
    if spec.field == "order_total":
        return Decimal(raw)
    return str(raw)


def cursor_encode(*, organization_id: int, sort: str, order: Order) -> str:
    value = getattr(order, SORTS[sort].field)
    return signing.dumps(
        [sort, _encode_value(value), order.pk], salt=_cursor_salt(organization_id), compress=True
    )


@dataclass(frozen=True, slots=True)
class Cursor:
    sort: str
    value: Any
    pk: int


def cursor_decode(token: str, *, organization_id: int, sort: str) -> Cursor | None:
    """The cursor, or None when it is not ours, was altered, or belongs to another sort (the
    list then starts at its first page)."""
    if not token:
        return None
    try:
        token_sort, raw, pk = signing.loads(token, salt=_cursor_salt(organization_id))
        if token_sort != sort or not isinstance(pk, int):
            return None
        return Cursor(sort=sort, value=_decode_value(sort, raw), pk=pk)
    except (signing.BadSignature, ValueError, TypeError, KeyError, ArithmeticError):
        return None


# --- the list ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerLink:
    number: str
    url: str


@dataclass
class OrderPage:
    orders: list[Order]
    sort: str
    page_size: int
    has_next: bool
    has_prev: bool
    next_cursor: str = ""
    prev_cursor: str = ""
    ledger_links: dict[int, LedgerLink] = field(default_factory=dict)


def order_queryset(*, organization: Organization, filters: OrderFilters) -> QuerySet:
    return apply_filters(Order.objects.all(), filters, organization=organization)


def order_page(
    *,
    organization: Organization,
    filters: OrderFilters,
    sort: str = DEFAULT_SORT,
    page_size: int = DEFAULT_PAGE_SIZE,
    after: str = "",
    before: str = "",
) -> OrderPage:
    """One page of the filtered orders: at most two queries for the orders, whatever the
    page size and page number, plus one for ledger links when the page has posted orders."""
    if sort not in SORTS:
        sort = DEFAULT_SORT
    if page_size not in PAGE_SIZES:
        page_size = DEFAULT_PAGE_SIZE
    spec = SORTS[sort]
    base = order_queryset(organization=organization, filters=filters).only(*LIST_FIELDS)
    backwards = bool(before)
    cursor = cursor_decode(before or after, organization_id=organization.pk, sort=sort)
    if cursor is None:
        backwards = False
    descending = spec.descending != backwards
    queryset = base.order_by(*_ordering(spec, descending))
    if cursor is not None:
        queryset = queryset.filter(_beyond(spec, descending, cursor.value, cursor.pk))
    rows = list(queryset[: page_size + 1])
    if (
        cursor is not None
        and spec.nullable
        and not descending
        and cursor.value is not None
        and len(rows) <= page_size
    ):
        # Ascending, the orders without a date come last; a row comparison never returns
        # them, so the page's remainder is taken from them (only on the last page).
        rest = base.filter(**{f"{spec.field}__isnull": True}).order_by("id")
        rows += list(rest[: page_size + 1 - len(rows)])
    more = len(rows) > page_size
    rows = rows[:page_size]
    if backwards:
        rows.reverse()
        has_prev, has_next = more, True
    else:
        has_prev, has_next = cursor is not None, more
    page = OrderPage(
        orders=rows, sort=sort, page_size=page_size, has_next=has_next, has_prev=has_prev
    )
    if rows:
        if has_next:
            page.next_cursor = cursor_encode(
                organization_id=organization.pk, sort=sort, order=rows[-1]
            )
        if has_prev:
            page.prev_cursor = cursor_encode(
                organization_id=organization.pk, sort=sort, order=rows[0]
            )
        posted = [
            o.pk for o in rows if o.posting_status in (PostingStatus.POSTED, PostingStatus.CHANGED)
        ]
        if posted:
            page.ledger_links = ledger_links(organization=organization, order_ids=posted)
        waiting = orders_posting_in_progress(
            organization=organization,
            order_ids=[o.pk for o in rows if o.posting_status in AWAITING_POSTING],
        )
        for order in rows:
            order.ledger_link = page.ledger_links.get(order.pk)
            order.posting_in_progress = order.pk in waiting
    return page


# Order posting statuses under which a posting may be on its way to the ledger.
AWAITING_POSTING = (PostingStatus.NOT_POSTED, PostingStatus.FAILED, PostingStatus.CHANGED)


def orders_posting_in_progress(*, organization: Organization, order_ids: Sequence[int]) -> set[int]:
    """The orders among these whose sale is queued for, or being sent to, the ledger (one
    query; none when accounting is not installed). Their own status changes only once the
    ledger has answered, so until then the screens say "Posting…", not "Not posted"."""
    if not order_ids:
        return set()
    from accounting.models import OPEN_POSTING_STATES, Posting, PostingKind

    return set(
        Posting.objects.filter(
            organization=organization,
            order_id__in=list(order_ids),
            kind=PostingKind.SALE,
            status__in=OPEN_POSTING_STATES,
        ).values_list("order_id", flat=True)
    )


def ledger_links(*, organization: Organization, order_ids: Sequence[int]) -> dict[int, LedgerLink]:
    """The ledger document of each posted order (one query), when accounting is installed."""
    from accounting.models import Posting, PostingKind, PostingState

    links: dict[int, LedgerLink] = {}
    rows = (
        Posting.objects.filter(
            organization=organization,
            order_id__in=list(order_ids),
            kind__in=(PostingKind.SALE, PostingKind.SUMMARY),
            status=PostingState.POSTED,
        )
        .order_by("order_id", "-posted_at", "-id")
        .values_list("order_id", "external_number", "document_number", "deep_link")
    )
    for order_id, external_number, document_number, deep_link in rows:
        if order_id not in links:
            links[order_id] = LedgerLink(
                number=external_number or document_number, url=deep_link or ""
            )
    return links


# --- counts and totals ---------------------------------------------------------------------


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


# --- filter choices and empty states -----------------------------------------------------


def store_choices(*, organization: Organization) -> list[tuple[int, str]]:
    return connection_store_choices(organization=organization)


def connection_choices(*, organization: Organization) -> list[tuple[int, str]]:
    return list(
        StoreConnection.objects.filter(organization=organization)
        .order_by("name", "pk")
        .values_list("pk", "name")
    )


@dataclass(frozen=True, slots=True)
class EmptyState:
    has_connection: bool
    has_orders: bool
    sync_running: bool
    connections: list[StoreConnection]


def sales_empty_state(*, organization: Organization) -> EmptyState:
    """What to tell a merchant whose list is empty without any filter."""
    connections = list(
        StoreConnection.objects.filter(organization=organization).exclude(
            status=ConnectionStatus.DISABLED
        )
    )
    running = SyncRun.objects.filter(
        organization=organization, status__in=OPEN_SYNC_STATUSES
    ).exists()
    return EmptyState(
        has_connection=bool(connections),
        has_orders=Order.objects.filter(organization=organization).exists(),
        sync_running=running,
        connections=connections,
    )


def bulk_actions_recent(*, organization: Organization, limit: int = 3) -> list[OrderBulkAction]:
    """The banners above the list: background actions still running, newest first, then the
    one that finished last, if that was in the last quarter of an hour. A finished action's
    banner gives way to the next one that finishes instead of piling up under it."""
    since = timezone.now() - timedelta(minutes=15)
    actions = OrderBulkAction.objects.filter(organization=organization).select_related(
        "requested_by"
    )
    running = list(
        actions.filter(status__in=(BulkActionStatus.QUEUED, BulkActionStatus.RUNNING)).order_by(
            "-created_at", "-id"
        )[:limit]
    )
    finished = (
        actions.exclude(status__in=(BulkActionStatus.QUEUED, BulkActionStatus.RUNNING))
        .filter(finished_at__gte=since)
        .order_by("-finished_at", "-id")
        .first()
    )
    return running + ([finished] if finished is not None else [])


def bulk_action_get(*, organization: Organization, action_id: int) -> OrderBulkAction:
    return OrderBulkAction.objects.select_related("requested_by").get(
        organization=organization, pk=action_id
    )


# --- the order page ------------------------------------------------------------------------


def order_get(*, organization: Organization, order_id: int) -> Order:
    return Order.objects.select_related("connection", "source_store").get(
        organization=organization, pk=order_id
    )


@dataclass(frozen=True, slots=True)
class Reconciliation:
    lines_subtotal: Decimal
    discount_total: Decimal
    shipping_charged: Decimal
    tax_total: Decimal
    expected: Decimal
    amount_paid: Decimal
    difference: Decimal
    order_total: Decimal
    explanation: str

    @property
    def balanced(self) -> bool:
        return self.difference == 0


def order_reconciliation(order: Order) -> Reconciliation:
    """lines + shipping + tax - discounts against what was paid, with the likeliest reason
    for a difference (the difference itself is never hidden or rounded away)."""
    expected = order.expected_paid
    difference = order.amount_paid - expected
    explanation = ""
    if difference:
        if order.amount_paid == 0:
            explanation = _(
                "Nothing was recorded as paid: the order may be unpaid, or paid out by a "
                "marketplace that does not report the payment (for example FBA orders)."
            )
        elif order.tax_total and difference == -order.tax_total:
            explanation = _(
                "The difference equals the tax: the marketplace likely collected and remitted "
                "the sales tax itself, so the buyer's payment to you excludes it."
            )
        elif difference < 0:
            explanation = _(
                "The buyer paid less than the items, shipping and tax add up to: usually a "
                "discount or coupon the store did not itemise as an order line."
            )
        else:
            explanation = _(
                "The buyer paid more than the items, shipping and tax add up to: usually a fee, "
                "a tip or gift wrapping the store did not itemise as an order line."
            )
    return Reconciliation(
        lines_subtotal=order.lines_subtotal,
        discount_total=order.discount_total,
        shipping_charged=order.shipping_charged,
        tax_total=order.tax_total,
        expected=expected,
        amount_paid=order.amount_paid,
        difference=difference,
        order_total=order.order_total,
        explanation=str(explanation),
    )


def order_lines(*, organization: Organization, order: Order) -> list[OrderLine]:
    return list(
        OrderLine.objects.filter(organization=organization, order=order).order_by("position")
    )


def order_label_costs(*, organization: Organization, order: Order) -> list[ShippingCost]:
    return list(
        ShippingCost.objects.filter(organization=organization, order=order)
        .defer("raw")
        .order_by("create_date", "pk")
    )


def order_fulfillment_fees(*, organization: Organization, order: Order) -> list:
    from sales.models import FulfillmentFee

    return list(
        FulfillmentFee.objects.filter(organization=organization, order=order)
        .defer("raw")
        .order_by("create_date", "pk")
    )


LATE_LABEL_ACTION = "sales.order.label_after_posting"
AUDIT_LABELS = {
    "sales.order.ignored": _("Ignored"),
    "sales.order.unignored": _("No longer ignored"),
    "sales.order.reimported": _("Re-imported from ShipStation"),
}


def order_audit_trail(
    *, organization: Organization, order: Order, limit: int = 50
) -> list[AuditEvent]:
    events = list(
        AuditEvent.objects.filter(organization=organization, target=f"sales.order:{order.pk}")
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )
    for event in events:
        if event.action == LATE_LABEL_ACTION:
            # Written by accounting when a label was bought after the order was posted.
            from accounting.services.late_labels import late_label_reason

            event.label = late_label_reason(event.metadata)
        else:
            event.label = str(AUDIT_LABELS.get(event.action, event.action))
    return events


def address_lines(address: dict[str, Any] | None) -> list[str]:
    """A ShipStation-shaped address (``name``, ``street1``, ``city``...) as printable lines."""
    if not isinstance(address, dict):
        return []

    def part(key: str) -> str:
        value = address.get(key)
        return str(value).strip() if value not in (None, "") else ""

    place = " ".join(p for p in (part("city") + ("," if part("state") else ""), part("state"),
                                  part("postalCode")) if p and p != ",")  # fmt: skip
    lines = [
        part("name"), part("company"), part("street1"), part("street2"), part("street3"), place,
        part("country"), part("phone"),
    ]  # fmt: skip
    return [line for line in lines if line]


def order_raw_pretty(order: Order) -> str:
    return json.dumps(
        order.raw, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False, sort_keys=True
    )


# --- export ----------------------------------------------------------------------------------

EXPORT_FIELDS = (
    "id", "number", "order_date", "store_name", "connection__name", "status", "posting_status",
    "is_ignored", "customer_name", "customer_email", "items_count", "currency",
    "lines_subtotal", "discount_total", "tax_total", "shipping_charged", "order_total",
    "amount_paid", "reconciliation_difference", "label_cost_total", "return_label_cost_total",
    "external_id", "order_key", "split_part", "ledger_document",
)  # fmt: skip


def order_export_rows(
    *,
    organization: Organization,
    filters: OrderFilters,
    sort: str = DEFAULT_SORT,
    chunk_size: int = 2000,
) -> Iterator[tuple[Any, ...]]:
    """The filtered orders as tuples of ``EXPORT_FIELDS``, streamed from a server-side cursor
    (PostgreSQL) in chunks, so memory stays flat whatever the number of orders."""
    spec = SORTS.get(sort, SORTS[DEFAULT_SORT])
    from accounting.models import Posting, PostingKind

    # The sale's document number in the ledger: order numbers repeat across stores and
    # split parts, the document number never does.
    document = Posting.objects.filter(
        organization_id=organization.pk, order_id=OuterRef("pk"), kind=PostingKind.SALE
    ).order_by("-id")
    queryset = (
        order_queryset(organization=organization, filters=filters)
        .annotate(ledger_document=Subquery(document.values("document_number")[:1]))
        .order_by(*_ordering(spec, spec.descending))
        .values_list(*EXPORT_FIELDS)
    )
    return queryset.iterator(chunk_size=chunk_size)
