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
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from connections.sources.base import ZERO, SourceOrder, SourceOrderLine
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

# name -> (required, order-level, description). Order-level columns describe the whole order
# and are read from the order's first row; line columns are read from every row.
COLUMNS: dict[str, tuple[bool, bool, str]] = {
    "order_number": (True, True, "The shop's order number, e.g. 1001."),
    "order_date": (True, True, "YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS], optional offset."),
    "store": (
        False,
        True,
        "Shop or marketplace name as ShipStation shows it (matches the labels of that "
        "store); default: Order file.",
    ),
    "order_key": (
        False,
        True,
        "The shop's order key, when ShipStation shows one; makes label matching exact.",
    ),
    "customer_name": (False, True, "Buyer's name."),
    "customer_email": (False, True, "Buyer's email address."),
    "sku": (False, False, "Product SKU (sku or item_name is needed)."),
    "item_name": (False, False, "Product name."),
    "quantity": (True, False, "Units on this line, more than 0."),
    "unit_price": (True, False, "Price of one unit before tax."),
    "line_tax": (False, False, "Sales tax on this line; default 0."),
    "discount": (False, False, "Discount on this line as a positive amount; default 0."),
    "shipping_charged": (False, True, "Shipping the buyer paid for the order; default 0."),
    "order_total": (
        False,
        True,
        "What the buyer paid in total; default: lines - discounts + shipping + tax.",
    ),
    "currency": (False, True, "Three-letter code such as USD; default: the connection's."),
    "status": (False, True, "ShipStation status name; default: shipped."),
}
REQUIRED = [name for name, (required, _o, _d) in COLUMNS.items() if required]
ORDER_LEVEL = [name for name, (_r, order_level, _d) in COLUMNS.items() if order_level]
ORDER_STATUSES = (
    "awaiting_payment",
    "awaiting_shipment",
    "pending_fulfillment",
    "shipped",
    "on_hold",
    "cancelled",
    "rejected_fulfillment",
)
ALIASES = {
    "order": "order_number",
    "order_no": "order_number",
    "order_id": "order_number",
    "name": "item_name",
    "product": "item_name",
    "product_name": "item_name",
    "qty": "quantity",
    "price": "unit_price",
    "tax": "line_tax",
    "shipping": "shipping_charged",
    "total": "order_total",
    "email": "customer_email",
    "customer": "customer_name",
    "date": "order_date",
}
DEFAULT_STORE = "Order file"
MAX_LINES_PER_ORDER = 1000
MAX_CELL_CHARS = 500
SNIFF_BYTES = 64 * 1024

_MONEY = re.compile(r"^\s*(-)?\s*[$€£]?\s*(-)?(\d+(?:\.\d+)?|\.\d+)\s*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_OFFSET_NO_COLON = re.compile(r"([+-])(\d{2})(\d{2})$")


class OrderFileError(Exception):
    """The file as a whole cannot be read (wrong format, empty, no header...)."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class RowError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int  # spreadsheet row number (the header is row 1)
    order_number: str
    reason: str


def order_file_external_id(store: str, number: str) -> str:
    """An order-file order's source id within its connection: order numbers are unique only
    per store, so the id stands for the pair (the number itself is kept as the number)."""
    digest = hashlib.blake2b(f"{store}\x00{number}".encode(), digest_size=12).hexdigest()
    return f"file-{digest}"


def normalise_header(name: Any) -> str:
    key = re.sub(r"[\s\-]+", "_", str(name or "").strip().lower())
    return ALIASES.get(key, key)


def detect_format(file_name: str, head: bytes) -> str:
    """ "csv" or "xlsx" from the name and the first bytes; raises for anything else."""
    lower = file_name.lower()
    is_zip = head.startswith(b"PK\x03\x04")
    if lower.endswith(".xlsx"):
        if not is_zip:
            raise OrderFileError(_("This .xlsx file is not an Excel workbook."))
        return "xlsx"
    if lower.endswith((".csv", ".txt")):
        if is_zip or head.startswith((b"%PDF", b"\xd0\xcf\x11\xe0")):
            raise OrderFileError(
                _("This file is not CSV text. Save it as CSV (UTF-8) or XLSX and try again.")
            )
        return "csv"
    if lower.endswith(".xls"):
        raise OrderFileError(_("Old Excel files (.xls) are not supported. Save it as .xlsx."))
    raise OrderFileError(_("Upload a .csv or .xlsx file."))


# --- cells ----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # spreadsheets store "1001" as 1001.0
    text = str(value).strip()
    if len(text) > MAX_CELL_CHARS:
        raise RowError(_("a value is longer than %(n)s characters") % {"n": MAX_CELL_CHARS})
    return text


def _decimal(value: Any, column: str, *, default: Decimal | None = None) -> Decimal:
    if isinstance(value, bool):
        raise RowError(_("%(column)s is not a number") % {"column": column})
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # openpyxl gives numeric cells as float; repr is the shortest exact spelling of what
        # the spreadsheet shows, so 19.99 stays 19.99.
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        return value
    text = _text(value)
    if not text:
        if default is None:
            raise RowError(_("%(column)s is empty") % {"column": column})
        return default
    match = _MONEY.match(text)
    if not match:
        raise RowError(
            _("%(column)s is not a number: %(value)s") % {"column": column, "value": text[:40]}
        )
    try:
        amount = Decimal(match.group(3))
    except InvalidOperation:
        raise RowError(_("%(column)s is not a number") % {"column": column}) from None
    return -amount if (match.group(1) or match.group(2)) else amount


_PLAIN_NUMBER = re.compile(r"-?\d{1,12}(?:\.(\d{1,12}))?")
_LIMIT = Decimal("1e12")


def _money(value: Any, column: str, *, default: Decimal | None = None, places: int = 2) -> Decimal:
    if type(value) is str:
        # The common case (a plain number in a CSV cell), checked without the general path.
        match = _PLAIN_NUMBER.fullmatch(value)
        if match is not None:
            fraction = match.group(1)
            if fraction is None or len(fraction) <= places or not fraction[places:].strip("0"):
                return Decimal(value)
    amount = _decimal(value, column, default=default)
    if not amount.is_finite() or abs(amount) >= _LIMIT:
        raise RowError(_("%(column)s is too large") % {"column": column})
    exponent = amount.as_tuple().exponent
    too_precise = isinstance(exponent, int) and exponent < -places
    if too_precise and amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise RowError(
            _("%(column)s has more than %(n)s decimals") % {"column": column, "n": places}
        )
    return amount


def _datetime(value: Any, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        text = _text(value)
        if not text:
            raise RowError(_("order_date is empty"))
        text = _OFFSET_NO_COLON.sub(r"\1\2:\3", text.replace(" +", "+").replace(" -", "-"))
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise RowError(
                _("order_date is not a date (use YYYY-MM-DD or YYYY-MM-DD HH:MM): %(value)s")
                % {"value": text[:40]}
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    if not (1990 <= moment.year <= 2200):
        raise RowError(_("order_date is out of range"))
    return moment.astimezone(UTC)


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


def template_csv() -> str:
    """The downloadable example file: the header and two orders (one with two lines, the
    second line leaving the order columns empty)."""
    rows = [
        {
            "order_number": "1001", "order_date": "2024-05-01 09:14", "store": "My Shop",
            "customer_name": "Jane Doe", "customer_email": "jane@example.com",
            "sku": "TSHIRT-BLK-M", "item_name": "T-Shirt Black M", "quantity": "2",
            "unit_price": "19.99", "line_tax": "3.30", "discount": "4.00",
            "shipping_charged": "7.99", "order_total": "60.26", "currency": "USD",
            "status": "shipped",
        },
        {
            "order_number": "1001", "sku": "MUG-01", "item_name": "Mug", "quantity": "1",
            "unit_price": "12.00", "line_tax": "0.99", "discount": "0",
        },
        {
            "order_number": "1002", "order_date": "2024-05-01 11:30", "store": "My Shop",
            "customer_name": "Sam Lee", "customer_email": "sam@example.com", "sku": "CAP-RED",
            "item_name": "Cap Red", "quantity": "1", "unit_price": "15.00", "line_tax": "1.24",
            "discount": "0", "shipping_charged": "5.00", "order_total": "21.24",
            "currency": "USD", "status": "shipped",
        },
    ]  # fmt: skip
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\r\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
