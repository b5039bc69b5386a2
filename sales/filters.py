"""The Sales tab's filter set: what the URL says, resolved into absolute bounds and applied to
an organization's orders.

Filters live in the URL (``sales.forms.OrderFilterForm`` parses them); this module turns them
into an :class:`OrderFilters` value that can be applied to a queryset, stored as JSON for a
background action ("all N filtered") and turned back into URL parameters.

Date presets are days in the organization's time zone: "today" in Berlin starts at midnight
Berlin time. Bounds are stored as aware UTC instants, the upper bound exclusive.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sales.models import LabelStatus, Order, OrderLine
from unify.tenancy.models import Organization

DATE_PRESETS = (
    ("", _("Any date")),
    ("today", _("Today")),
    ("7d", _("Last 7 days")),
    ("30d", _("Last 30 days")),
    ("this_month", _("This month")),
    ("last_month", _("Last month")),
    ("custom", _("Custom range")),
)

LABEL_CHOICES = (
    ("", _("Any label cost")),
    ("has", _("Has label cost")),
    ("missing", _("Missing label cost")),
)

# Longest search text we act on: order numbers, emails and SKUs are all shorter.
SEARCH_MAX_LENGTH = 100


def _start_of(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def preset_range(
    preset: str,
    *,
    tz: ZoneInfo,
    now: datetime | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> tuple[datetime | None, datetime | None]:
    """``[start, end)`` of a preset, as aware instants, in the organization's time zone.

    "Last 7 days" is today and the six days before it; "custom" takes whole days, both
    inclusive, and either end may be open.
    """
    today = (now or timezone.now()).astimezone(tz).date()
    tomorrow = today + timedelta(days=1)
    if preset == "today":
        return _start_of(today, tz), _start_of(tomorrow, tz)
    if preset == "7d":
        return _start_of(today - timedelta(days=6), tz), _start_of(tomorrow, tz)
    if preset == "30d":
        return _start_of(today - timedelta(days=29), tz), _start_of(tomorrow, tz)
    if preset == "this_month":
        first = today.replace(day=1)
        return _start_of(first, tz), _start_of(tomorrow, tz)
    if preset == "last_month":
        first_this = today.replace(day=1)
        first_last = (first_this - timedelta(days=1)).replace(day=1)
        return _start_of(first_last, tz), _start_of(first_this, tz)
    if preset == "custom":
        start = _start_of(date_from, tz) if date_from else None
        end = _start_of(date_to + timedelta(days=1), tz) if date_to else None
        return start, end
    return None, None


@dataclass(frozen=True, slots=True)
class OrderFilters:
    """One combination of Sales-tab filters. Empty values mean "no filter"."""

    date_from: datetime | None = None  # inclusive
    date_until: datetime | None = None  # exclusive
    store_id: int | None = None
    connection_id: int | None = None
    status: str = ""
    posting_status: str = ""
    label: str = ""  # "has" | "missing"
    difference: bool = False
    q: str = ""
    # What the merchant chose, kept only to show the form again (the bounds above rule).
    preset: str = field(default="", compare=False)

    @property
    def is_empty(self) -> bool:
        return self == OrderFilters()

    def without_posting_status(self) -> OrderFilters:
        return replace(self, posting_status="")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("date_from", "date_until"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrderFilters:
        values = dict(data)
        for key in ("date_from", "date_until"):
            if values.get(key):
                values[key] = datetime.fromisoformat(values[key])
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})


def search_condition(*, organization: Organization, q: str) -> Q:
    """Orders whose number, customer email or SKU starts with ``q`` (any case), or whose
    customer name contains it. Text with an "@" is an email and only matches emails.

    Each branch has its own index (migration 0003); the branches are combined as one set of
    ids (a UNION) rather than OR-ed row by row, so PostgreSQL can answer each from its index.
    """
    q = q.strip()[:SEARCH_MAX_LENGTH]
    if not q:
        return Q()
    if "@" in q:
        return Q(customer_email__istartswith=q)
    number = q.lstrip("#") or q
    on_order = Q(number__istartswith=number) | Q(customer_email__istartswith=q)
    on_order |= Q(customer_name__icontains=q)
    base, dash, part = number.rpartition("-")
    if dash and base and part.isdigit() and 2 <= int(part) <= 32767:
        # A split part as Unify shows it ("1001-2"): the source's number plus the part.
        on_order |= Q(number__iexact=base, split_part=int(part))
    # No ORDER BY inside the UNION (the models' default ordering): SQLite refuses it and
    # PostgreSQL would sort each part for nothing.
    matches = (
        Order.objects.filter(organization=organization).filter(on_order).values("pk").order_by()
    )
    skus = (
        OrderLine.objects.filter(organization=organization, sku__istartswith=q)
        .values("order_id")
        .order_by()
    )
    return Q(pk__in=matches.union(skus))


def apply_filters(
    queryset: QuerySet, filters: OrderFilters, *, organization: Organization
) -> QuerySet:
    """Narrow ``queryset`` (the organization's orders) to ``filters``."""
    conditions = Q()
    if filters.date_from is not None:
        conditions &= Q(order_date__gte=filters.date_from)
    if filters.date_until is not None:
        conditions &= Q(order_date__lt=filters.date_until)
    if filters.store_id is not None:
        conditions &= Q(source_store_id=filters.store_id)
    if filters.connection_id is not None:
        conditions &= Q(connection_id=filters.connection_id)
    if filters.status:
        conditions &= Q(status=filters.status)
    if filters.posting_status:
        conditions &= Q(posting_status=filters.posting_status)
    if filters.label == "has":
        conditions &= Q(label_status=LabelStatus.HAS_LABEL)
    elif filters.label == "missing":
        conditions &= ~Q(label_status=LabelStatus.HAS_LABEL)
    if filters.difference:
        conditions &= ~Q(reconciliation_difference=0)
    if filters.q:
        conditions &= search_condition(organization=organization, q=filters.q)
    return queryset.filter(organization=organization).filter(conditions)
