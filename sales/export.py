"""CSV export of the Sales tab's filtered list, streamed.

The column set is fixed (the header never depends on the data), money is a plain decimal
with its stored two places ("1234.50", no currency sign, no thousands separator), dates are
ISO 8601 in the organization's time zone with their offset. Cells a spreadsheet would run
as a formula (a customer named "=HYPERLINK(...)") are prefixed with an apostrophe, also when
the sign hides behind spaces (a non-breaking, ideographic or zero-width one) or is a
full-width or small form that spreadsheets read as the sign itself (＝, ＋, －, ＠, ﹦);
numbers are never touched, so a negative difference stays a number.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _

TEXT, MONEY, DATE, FLAG, COUNT = "text", "money", "date", "flag", "count"

# (header, field of selectors_tab.EXPORT_FIELDS, kind). The margin is computed.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("order_id", "id", COUNT),
    ("order_number", "number", TEXT),
    ("order_date", "order_date", DATE),
    ("store", "store_name", TEXT),
    ("connection", "connection__name", TEXT),
    ("order_status", "status", TEXT),
    ("posting_status", "posting_status", TEXT),
    ("ignored", "is_ignored", FLAG),
    ("customer_name", "customer_name", TEXT),
    ("customer_email", "customer_email", TEXT),
    ("items", "items_count", COUNT),
    ("currency", "currency", TEXT),
    ("lines_subtotal", "lines_subtotal", MONEY),
    ("discounts", "discount_total", MONEY),
    ("tax", "tax_total", MONEY),
    ("shipping_charged", "shipping_charged", MONEY),
    ("order_total", "order_total", MONEY),
    ("amount_paid", "amount_paid", MONEY),
    ("reconciliation_difference", "reconciliation_difference", MONEY),
    ("label_cost", "label_cost_total", MONEY),
    ("return_label_cost", "return_label_cost_total", MONEY),
    ("shipping_margin", "", MONEY),
    ("source_order_id", "external_id", TEXT),  # the order's id in its source
    ("order_key", "order_key", TEXT),
    ("ledger_document", "ledger_document", TEXT),
)
HEADER = [name for name, _field, _kind in COLUMNS]
# The spreadsheet CSV's header, in the person's language (the default CSV keeps HEADER).
LABELS = {
    "order_id": _("Order id"), "order_number": _("Order number"),
    "order_date": _("Order date"), "store": _("Store"), "connection": _("Connection"),
    "order_status": _("Order status"), "posting_status": _("Posting status"),
    "ignored": _("Ignored"), "customer_name": _("Customer"),
    "customer_email": _("Customer email"), "items": _("Items"), "currency": _("Currency"),
    "lines_subtotal": _("Lines subtotal"), "discounts": _("Discounts"), "tax": _("Tax"),
    "shipping_charged": _("Shipping charged"), "order_total": _("Order total"),
    "amount_paid": _("Amount paid"), "reconciliation_difference": _("Reconciliation difference"),
    "label_cost": _("Label costs"), "return_label_cost": _("Return label costs"),
    "shipping_margin": _("Shipping margin"), "source_order_id": _("Order id at the source"),
    "order_key": _("Order key"), "ledger_document": _("Ledger document"),
}  # fmt: skip
FORMULA_SIGNS = frozenset("=+-@")
CONTROL_START = ("\t", "\r", "\n")
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


def _text(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    if _runs_as_formula(text):
        return "'" + text
    return text


def _runs_as_formula(text: str) -> bool:
    if not text or text[0].isalnum():
        return False  # the usual cell: a name, a number, an email address
    if text.startswith(CONTROL_START):
        return True
    for char in text:
        # Spaces of any kind and invisible format characters (zero-width space, BOM) are
        # skipped by spreadsheets before a formula sign.
        if char.isspace() or unicodedata.category(char) == "Cf":
            continue
        return unicodedata.normalize("NFKC", char)[:1] in FORMULA_SIGNS
    return False


# For other CSV downloads of what people typed (order-file problems).
spreadsheet_text = _text


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _decimal_comma(value: Decimal | None) -> str:
    return _money(value).replace(".", ",")


def _formatters(
    fields: tuple[str, ...], tz: ZoneInfo, *, spreadsheet: bool = False
) -> list[Callable[[tuple], str]]:
    """One function per column that reads its value from a row tuple and formats it."""
    index = {name: i for i, name in enumerate(fields)}
    money = _decimal_comma if spreadsheet else _money
    yes, no = (gettext_now("yes"), gettext_now("no")) if spreadsheet else ("yes", "no")
    shipping = index["shipping_charged"]
    labels, returns = index["label_cost_total"], index["return_label_cost_total"]

    def margin(row: tuple) -> str:
        return money(row[shipping] - row[labels] - row[returns])

    def one(kind: str, i: int) -> Callable[[tuple], str]:
        if kind == MONEY:
            return lambda row: money(row[i])
        if kind == DATE:
            return lambda row: (
                "" if row[i] is None else row[i].astimezone(tz).isoformat(timespec="seconds")
            )
        if kind == FLAG:
            return lambda row: yes if row[i] else no
        if kind == COUNT:
            return lambda row: "" if row[i] is None else str(row[i])
        return lambda row: _text(row[i])

    number, part = index["number"], index["split_part"]

    def order_number(row: tuple) -> str:
        # Split parts share the source's number; Unify shows and posts "<number>-<part>".
        return _text(f"{row[number]}-{row[part]}" if row[part] else row[number])

    return [
        margin if not field else order_number if field == "number" else one(kind, index[field])
        for _n, field, kind in COLUMNS
    ]


def csv_chunks(
    rows: Iterable[tuple[Any, ...]],
    *,
    fields: tuple[str, ...],
    tz: ZoneInfo,
    spreadsheet: bool = False,
) -> Iterator[str]:
    """The CSV text, a header then ``ROWS_PER_CHUNK`` rows per chunk.

    ``spreadsheet``: for a spreadsheet set to a decimal-comma locale (German Excel): a BOM
    so Excel reads UTF-8, ``;`` between cells, money with a decimal comma (no thousands
    separator), the header and yes/no in the person's language. Dates stay ISO 8601."""
    formatters = _formatters(fields, tz, spreadsheet=spreadsheet)
    buffer = _Line()
    writer = csv.writer(buffer, lineterminator="\r\n", delimiter=";" if spreadsheet else ",")
    if spreadsheet:
        buffer.write("\ufeff")
        writer.writerow([str(LABELS.get(name, name)) for name in HEADER])
    else:
        writer.writerow(HEADER)
    yield buffer.take()
    for count, row in enumerate(rows, start=1):
        writer.writerow([format_(row) for format_ in formatters])
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.take()
    rest = buffer.take()
    if rest:
        yield rest


def export_filename(slug: str, now: datetime, tz: ZoneInfo, *, spreadsheet: bool = False) -> str:
    suffix = "-excel" if spreadsheet else ""
    return f"{slug}-orders-{now.astimezone(tz):%Y%m%d-%H%M}{suffix}.csv"


SPREADSHEET_PARAM = "csv"  # ?csv=excel: the spreadsheet CSV
SPREADSHEET_VALUE = "excel"


EXPORT_HELP = _(
    "All orders of the current filter, one row each; money as plain decimals, dates in your "
    "organization's time zone."
)
EXPORT_EXCEL_HELP = _(
    "The same orders for a spreadsheet that uses a decimal comma (German Excel): cells "
    "separated by semicolons, money with a decimal comma, column names in your language."
)
