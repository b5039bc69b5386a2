"""One page of the Sales tab's order list, paged by keyset (see ``sales.selectors_tab``): sort
orders, signed cursors, and what each row shows of its postings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core import signing
from django.db.models import Expression, F, OrderBy, Q, QuerySet
from django.db.models.fields import BooleanField
from django.utils.translation import gettext_lazy as _

from sales.filters import OrderFilters, apply_filters
from sales.models import Order, PostingStatus
from unify.tenancy.models import Organization

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
