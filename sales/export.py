"""CSV export of the Sales tab's filtered list, streamed.

The column set is fixed (the header never depends on the data), money is a plain decimal
with its stored two places ("1234.50", no currency sign, no thousands separator), dates are
ISO 8601 in the organization's time zone with their offset. Cells a spreadsheet would run
as a formula (a customer named "=HYPERLINK(...)") are prefixed with an apostrophe; numbers
are never touched, so a negative difference stays a number.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_lazy as _

# (header, position in selectors_tab.EXPORT_FIELDS or a computed key)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("order_id", "id"),
    ("order_number", "number"),
    ("order_date", "order_date"),
    ("store", "store_name"),
    ("connection", "connection__name"),
    ("order_status", "status"),
    ("posting_status", "posting_status"),
    ("ignored", "is_ignored"),
    ("customer_name", "customer_name"),
    ("customer_email", "customer_email"),
    ("items", "items_count"),
    ("currency", "currency"),
    ("lines_subtotal", "lines_subtotal"),
    ("discounts", "discount_total"),
    ("tax", "tax_total"),
    ("shipping_charged", "shipping_charged"),
    ("order_total", "order_total"),
    ("amount_paid", "amount_paid"),
    ("reconciliation_difference", "reconciliation_difference"),
    ("label_cost", "label_cost_total"),
    ("return_label_cost", "return_label_cost_total"),
    ("shipping_margin", "=shipping_margin"),
    ("shipstation_order_id", "external_id"),
    ("order_key", "order_key"),
)
HEADER = [name for name, _source in COLUMNS]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_CHUNK = 500


class _Line:
    """A file-like object for csv.writer that hands back what was written."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


def _text(value: str) -> str:
    if value and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _money(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{value:.2f}"


def _row(values: dict[str, Any], tz: ZoneInfo) -> list[str]:
    out: list[str] = []
    for _name, source in COLUMNS:
        if source == "=shipping_margin":
            labels = values["label_cost_total"] + values["return_label_cost_total"]
            out.append(_money(values["shipping_charged"] - labels))
            continue
        value = values[source]
        if value is None:
            out.append("")
        elif isinstance(value, bool):
            out.append("yes" if value else "no")
        elif isinstance(value, Decimal):
            out.append(_money(value))
        elif isinstance(value, datetime):
            out.append(value.astimezone(tz).isoformat(timespec="seconds"))
        elif isinstance(value, int):
            out.append(str(value))
        else:
            out.append(_text(str(value)))
    return out


def csv_chunks(
    rows: Iterable[tuple[Any, ...]], *, fields: tuple[str, ...], tz: ZoneInfo
) -> Iterator[str]:
    """The CSV text, a header then ``ROWS_PER_CHUNK`` rows per chunk."""
    buffer = _Line()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    yield buffer.take()
    for count, row in enumerate(rows, start=1):
        writer.writerow(_row(dict(zip(fields, row, strict=True)), tz))
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.take()
    rest = buffer.take()
    if rest:
        yield rest


def export_filename(slug: str, now: datetime, tz: ZoneInfo) -> str:
    return f"{slug}-orders-{now.astimezone(tz):%Y%m%d-%H%M}.csv"


EXPORT_HELP = _(
    "All orders of the current filter, one row each; money as plain decimals, dates in your "
    "organization's time zone."
)
