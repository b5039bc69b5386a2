"""Order files: a merchant's own order export (CSV or XLSX) as :class:`SourceOrder` records.

Used in shipping-expense mode, where orders come from the shop and ShipStation only adds
label costs. The format is documented in ``COLUMNS`` (and in the README and the template
file offered for download):

- the first row names the columns (case and spaces/underscores/dashes do not matter);
- one row per order line; ``order_number`` is on every row, the other order-level columns
  (``store`` included) may be left empty after an order's first row. The rows of one order
  are usually next to each other; when they are not, they are still read as one order;
- amounts use a dot as decimal separator and no thousands separator (``1234.50``); a leading
  currency symbol is allowed (``$19.99``);
- dates are ``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM[:SS]`` (optionally with an offset such as
  ``-07:00`` or ``-0700``); times without an offset are in the organization's time zone.

Reading is streamed: rows are read one at a time (``csv`` over a text wrapper of the upload,
``openpyxl`` in read-only mode for XLSX) and an order is yielded as soon as its last row has
been read. A first, cheaper pass over the file only reads each row's order number and store,
to find the orders whose rows are spread over the file: only those are held in memory until
the end. Beyond that, memory does not grow with the file.

Validation is per row, and an order is imported whole or not at all: a bad row is reported
with its row number and reason, and every other row of its order is reported too (the order
is left out: a partial order would post wrong totals); every other order is kept.

The format's columns and errors are in ``columns``, cell readers in ``cells``; callers import
from here.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from connections.sources.base import ZERO, SourceOrder, SourceOrderLine
from connections.sources.csv.cells import _datetime, _money, _text
from connections.sources.csv.columns import (
    _CURRENCY,
    ALIASES,
    COLUMNS,
    DEFAULT_STORE,
    MAX_CELL_CHARS,
    MAX_LINES_PER_ORDER,
    ORDER_LEVEL,
    ORDER_STATUSES,
    REQUIRED,
    SNIFF_BYTES,
    OrderFileError,
    RowError,
    RowProblem,
    detect_format,
    normalise_header,
    order_file_external_id,
    template_csv,
)
from connections.sources.csv.limits import (
    FileTooCostly,
    ReadLimits,
    bounded_lines,
    bounded_rows,
    check_xlsx_archive,
)
from unify.core.money import sum_of_lines
from unify.core.stored_text import gettext as _
from unify.core.stored_text import message_of, ngettext

__all__ = [
    "ALIASES",
    "COLUMNS",
    "DEFAULT_STORE",
    "MAX_CELL_CHARS",
    "MAX_LINES_PER_ORDER",
    "ORDER_LEVEL",
    "ORDER_STATUSES",
    "OrderFileError",
    "OrderFileReader",
    "REQUIRED",
    "RowError",
    "RowProblem",
    "SNIFF_BYTES",
    "detect_format",
    "normalise_header",
    "order_file_external_id",
    "template_csv",
]


# --- orders ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _PendingOrder:
    number: str
    store: str
    first_row: int
    header: dict[str, Any]
    # The first row's order-level cells as written: later rows repeating them are not parsed
    # again (most exports repeat every order column on every line).
    header_cells: tuple[Any, ...] = ()
    lines: list[SourceOrderLine] = field(default_factory=list)
    raw_lines: list[dict[str, str]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    # row number -> what is wrong with it; any entry rejects the whole order.
    problems: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _KeyedRow:
    row: int
    number: str
    store: str
    cells: dict[str, Any]


def _unreadable_workbook(exc: BaseException) -> OrderFileError:
    # defusedxml refuses DTDs and entities (its errors are ValueErrors, often as the cause of
    # openpyxl's own); broken XML is a SyntaxError (ParseError).
    cause = exc.__cause__ or exc
    return OrderFileError(
        _(
            "This workbook could not be read (%(detail)s). Open it in Excel, save it again as "
            ".xlsx or as CSV, and upload that."
        )
        % {"detail": type(cause).__name__}
    )


class OrderFileReader:
    """Iterate over a file's orders and row problems: yields ``SourceOrder`` and
    ``RowProblem`` items in file order. Counters are final once iteration ends."""

    def __init__(
        self,
        fileobj: IO[bytes],
        *,
        file_name: str,
        timezone: ZoneInfo,
        default_currency: str = "USD",
        limits: ReadLimits | None = None,
    ) -> None:
        self._file = fileobj
        self._limits = limits or ReadLimits.from_settings()
        self.file_name = file_name
        self._tz = timezone
        self._currency = default_currency
        head = fileobj.read(8)
        fileobj.seek(0)
        if not head:
            raise OrderFileError(_("The file is empty."))
        self.file_format = detect_format(file_name, head)
        self.rows_total = 0
        self.rows_rejected = 0
        self.orders_found = 0

    # -- rows -----------------------------------------------------------------------------------

    def _csv_rows(self) -> Iterator[list[Any]]:
        sample = self._file.read(SNIFF_BYTES)
        self._file.seek(0)
        encoding = "utf-8-sig"
        try:
            # A cut in the middle of a multi-byte character at the sample's end is fine.
            codecs.getincrementaldecoder("utf-8-sig")().decode(sample, final=False)
        except UnicodeDecodeError:
            encoding = "cp1252"  # Excel on Windows saves "CSV" in the ANSI code page
        text = io.TextIOWrapper(self._file, encoding=encoding, newline="", errors="strict")
        delimiter = ","
        first_line = sample.split(b"\n", 1)[0]
        if first_line.count(b";") > first_line.count(b",") and b";" in first_line:
            delimiter = ";"
        elif first_line.count(b"\t") > first_line.count(b","):
            delimiter = "\t"
        try:
            yield from csv.reader(
                bounded_lines(text, self._limits.max_line_chars), delimiter=delimiter
            )
        except UnicodeDecodeError:
            raise OrderFileError(
                _("The file is not UTF-8 text. Save it as CSV UTF-8 and try again.")
            ) from None
        except csv.Error as exc:
            raise OrderFileError(
                _("The file is not valid CSV (%(detail)s).") % {"detail": str(exc)[:80]}
            ) from None
        finally:
            with contextlib.suppress(ValueError):  # the upload was closed before the reader
                text.detach()

    def _xlsx_rows(self) -> Iterator[tuple[Any, ...]]:
        import openpyxl

        check_xlsx_archive(self._file)
        try:
            workbook = openpyxl.load_workbook(self._file, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, SyntaxError) as exc:
            raise _unreadable_workbook(exc) from None
        try:
            sheet = workbook.worksheets[0]
            yield from sheet.iter_rows(values_only=True, max_col=self._limits.max_columns)
        except (KeyError, OSError, ValueError, SyntaxError, EOFError, zipfile.BadZipFile) as exc:
            raise _unreadable_workbook(exc) from None
        finally:
            workbook.close()

    def _rows(self) -> Iterator[list[Any] | tuple[Any, ...]]:
        source = self._xlsx_rows() if self.file_format == "xlsx" else self._csv_rows()
        try:
            yield from bounded_rows(source, self._limits)
        except FileTooCostly as exc:
            raise OrderFileError(exc.user_message) from None

    # -- iteration ------------------------------------------------------------------------------

    def _keyed_rows(self) -> Iterator[_KeyedRow | RowProblem]:
        """Every non-blank row with the order it belongs to (its number and store). A row
        whose store is empty continues the order above it when it names the same number."""
        rows = self._rows()
        columns = self._header(rows)
        row_number = 1
        previous: tuple[str, str] | None = None
        for values in rows:
            row_number += 1
            if not any(v not in (None, "") and str(v).strip() for v in values):
                continue
            cells = {name: values[i] if i < len(values) else None for name, i in columns.items()}
            try:
                number = _text(cells.get("order_number"))
                store = _text(cells.get("store"))
            except RowError as exc:
                yield RowProblem(row_number, "", message_of(exc))
                continue
            if not number:
                yield RowProblem(row_number, "", _("order_number is empty"))
                continue
            if not store:
                same_order = previous is not None and previous[0] == number
                store = previous[1] if same_order else DEFAULT_STORE
            previous = (number, store)
            yield _KeyedRow(row_number, number, store, cells)

    def _spread_orders(self) -> set[bytes]:
        """Fingerprints of the orders whose rows are not all next to each other."""
        seen: set[bytes] = set()
        spread: set[bytes] = set()
        current: bytes | None = None
        for item in self._keyed_rows():
            if isinstance(item, RowProblem):
                continue
            fingerprint = self._fingerprint(item.store, item.number)
            if fingerprint != current:
                if fingerprint in seen:
                    spread.add(fingerprint)
                seen.add(fingerprint)
                current = fingerprint
        self._file.seek(0)
        return spread

    def __iter__(self) -> Iterator[SourceOrder | RowProblem]:
        spread = self._spread_orders()
        held: dict[bytes, _PendingOrder] = {}
        pending: _PendingOrder | None = None
        for item in self._keyed_rows():
            self.rows_total += 1
            if isinstance(item, RowProblem):
                yield from self._reject_row(item)
                continue
            fingerprint = self._fingerprint(item.store, item.number)
            if pending is not None and (pending.number, pending.store) != (item.number, item.store):
                if self._fingerprint(pending.store, pending.number) not in spread:
                    yield from self._finish(pending)
                pending = None
            if pending is None:
                pending = held.get(fingerprint)
            if pending is None:
                self.orders_found += 1
                pending = _PendingOrder(
                    number=item.number, store=item.store, first_row=item.row, header={}
                )
                if fingerprint in spread:
                    held[fingerprint] = pending
            pending.rows.append(item.row)
            if pending.problems and not pending.header:
                continue  # its first row is unreadable: later rows cannot be checked against it
            try:
                self._read_row(pending, item.cells, item.row)
            except RowError as exc:
                pending.problems[item.row] = message_of(exc)
        if pending is not None and self._fingerprint(pending.store, pending.number) not in spread:
            yield from self._finish(pending)
        for order in held.values():
            yield from self._finish(order)

    def _header(self, rows: Iterator[Any]) -> dict[str, int]:
        for values in rows:
            if not any(v not in (None, "") and str(v).strip() for v in values):
                continue
            columns: dict[str, int] = {}
            for index, name in enumerate(values):
                key = normalise_header(name)
                if key in COLUMNS and key not in columns:
                    columns[key] = index
            missing = [name for name in REQUIRED if name not in columns]
            if "sku" not in columns and "item_name" not in columns:
                missing.append("sku or item_name")
            if missing:
                raise OrderFileError(
                    _(
                        "The first row must name the columns. Missing: %(missing)s. "
                        "Download the template to see the expected columns."
                    )
                    % {"missing": ", ".join(missing)}
                )
            return columns
        raise OrderFileError(_("The file is empty."))

    @staticmethod
    def _fingerprint(store: str, number: str) -> bytes:
        return hashlib.blake2b(f"{store}\x00{number}".encode(), digest_size=8).digest()

    def _reject_row(self, problem: RowProblem) -> Iterator[RowProblem]:
        self.rows_rejected += 1
        yield problem

    def _read_row(self, pending: _PendingOrder, cells: dict[str, Any], row: int) -> None:
        if len(pending.lines) >= MAX_LINES_PER_ORDER:
            raise RowError(_("an order may have at most %(n)s lines") % {"n": MAX_LINES_PER_ORDER})
        order_cells = tuple(cells.get(name) for name in ORDER_LEVEL)
        if pending.header and all(
            cell is None or cell == "" or cell == first
            for cell, first in zip(order_cells, pending.header_cells, strict=True)
        ):
            header = {}
        else:
            header = self._order_fields(cells)
        if not pending.header:
            if "order_date" not in header:
                raise RowError(_("order_date is empty"))
            pending.header = header
            pending.header_cells = order_cells
        else:
            for key, value in header.items():
                if pending.header.get(key, value) != value:
                    raise RowError(
                        _("%(column)s differs from the first row of order %(number)s")
                        % {"column": key, "number": pending.number}
                    )
                pending.header.setdefault(key, value)
        sku = _text(cells.get("sku"))
        name = _text(cells.get("item_name"))
        if not sku and not name:
            raise RowError(_("sku and item_name are both empty"))
        quantity = _money(cells.get("quantity"), "quantity", places=4)
        if quantity <= 0:
            raise RowError(_("quantity must be more than 0"))
        unit_price = _money(cells.get("unit_price"), "unit_price", places=4)
        tax = _money(cells.get("line_tax"), "line_tax", default=ZERO)
        discount = _money(cells.get("discount"), "discount", default=ZERO)
        if discount < 0:
            raise RowError(_("discount must be a positive amount"))
        pending.lines.append(
            SourceOrderLine(
                external_id=str(len(pending.lines) + 1),
                line_key=None,
                sku=sku or None,
                name=name or sku,
                quantity=quantity,
                unit_price=unit_price,
                tax_amount=tax,
                shipping_amount=ZERO,
                discount_amount=discount,
            )
        )
        pending.raw_lines.append(
            {
                "row": str(row),
                "sku": sku,
                "item_name": name,
                "quantity": str(quantity),
                "unit_price": str(unit_price),
                "line_tax": str(tax),
                "discount": str(discount),
            }
        )

    def _order_fields(self, cells: dict[str, Any]) -> dict[str, Any]:
        """The order-level values this row gives (empty cells give nothing)."""
        fields: dict[str, Any] = {}
        if _text(cells.get("order_date")) or isinstance(cells.get("order_date"), date):
            fields["order_date"] = _datetime(cells.get("order_date"), self._tz)
        for key in ("customer_name", "customer_email", "order_key"):
            value = _text(cells.get(key))
            if value:
                fields[key] = value
        if "customer_email" in fields:
            try:
                validate_email(fields["customer_email"])
            except ValidationError:
                raise RowError(_("customer_email is not an email address")) from None
        for key in ("shipping_charged", "order_total"):
            if _text(cells.get(key)):
                fields[key] = _money(cells.get(key), key)
        if "shipping_charged" in fields and fields["shipping_charged"] < 0:
            raise RowError(_("shipping_charged must not be negative"))
        currency = _text(cells.get("currency")).upper()
        if currency:
            if not _CURRENCY.match(currency):
                raise RowError(_("currency must be a three-letter code such as USD"))
            fields["currency"] = currency
        status = _text(cells.get("status")).lower()
        if status:
            if status not in ORDER_STATUSES:
                raise RowError(
                    _("status must be one of %(choices)s") % {"choices": ", ".join(ORDER_STATUSES)}
                )
            fields["status"] = status
        return fields

    def _finish(self, pending: _PendingOrder) -> Iterator[SourceOrder | RowProblem]:
        if pending.problems:
            bad_rows = ", ".join(str(r) for r in sorted(pending.problems))
            self.rows_rejected += len(pending.rows)
            for row in pending.rows:
                reason = pending.problems.get(row) or ngettext(
                    "order %(number)s was not imported because row %(rows)s has a problem",
                    "order %(number)s was not imported because rows %(rows)s have problems",
                    len(pending.problems),
                ) % {"number": pending.number, "rows": bad_rows}
                yield RowProblem(row, pending.number, reason)
            return
        header = pending.header
        lines = tuple(pending.lines)
        # The one rounding rule (unify.core.money): each line to the cent, then summed.
        subtotal = sum_of_lines((line.quantity, line.unit_price) for line in lines)
        discounts = sum((line.discount_amount for line in lines), ZERO)
        tax = sum((line.tax_amount for line in lines), ZERO)
        shipping = header.get("shipping_charged", ZERO)
        computed_total = subtotal - discounts + shipping + tax
        total = header.get("order_total", computed_total)
        moment: datetime = header["order_date"]
        raw = {
            "source": "order_file",
            "file": self.file_name,
            "rows": [pending.rows[0], pending.rows[-1]],
            "order_number": pending.number,
            "order_key": header.get("order_key", ""),
            "store": pending.store,
            "order_date": moment.isoformat(),
            "customer_name": header.get("customer_name", ""),
            "customer_email": header.get("customer_email", ""),
            "shipping_charged": str(shipping),
            "order_total": str(total) if "order_total" in header else "",
            "currency": header.get("currency", ""),
            "status": header.get("status", ""),
            "lines": pending.raw_lines,
        }
        yield SourceOrder(
            external_id=order_file_external_id(pending.store, pending.number),
            order_key=header.get("order_key", ""),
            number=pending.number,
            status=header.get("status", "shipped"),
            order_date=moment,
            create_date=moment,
            modify_date=moment,
            payment_date=moment,
            ship_date=None,
            customer_name=header.get("customer_name", ""),
            customer_email=header.get("customer_email", ""),
            bill_to={"name": header.get("customer_name", "")},
            ship_to={},
            store_id=None,
            lines=lines,
            tax_amount=tax,
            shipping_amount=shipping,
            order_total=total,
            amount_paid=total,
            currency=header.get("currency", self._currency),
            store_name=pending.store,
            raw=raw,
        )
