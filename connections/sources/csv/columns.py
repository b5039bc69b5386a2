"""The order-file format: its columns, their aliases, the file's kind, the errors a file or a
row can have, and the template offered for download (see ``parser``)."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from typing import Any

from unify.core.stored_text import gettext as _

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

_CURRENCY = re.compile(r"^[A-Z]{3}$")


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
