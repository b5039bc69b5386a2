"""Order files (shipping-expense mode): the streaming parser and the upload through the
Connections tab, with the orders stored by the import's ``order_upsert_from_file``."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from connections.models import ConnectionMode, OrderFileUpload
from connections.sources.base import SourceOrder
from connections.sources.csv.parser import (
    COLUMNS,
    OrderFileError,
    OrderFileReader,
    RowProblem,
    template_csv,
)

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
HEADER = list(COLUMNS)


def csv_bytes(rows: list[list[str]], header: list[str] = HEADER, encoding="utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def row(number="1001", date="2024-05-01 09:14", sku="SKU-1", qty="1", price="10.00", **extra):
    values = {
        "order_number": number,
        "order_date": date,
        "store": "My Shop",
        "customer_name": "Jane Doe",
        "customer_email": "jane@example.com",
        "sku": sku,
        "item_name": "Thing",
        "quantity": qty,
        "unit_price": price,
        "line_tax": "0.80",
        "discount": "0",
        "shipping_charged": "5.00",
        "order_total": "",
        "currency": "USD",
        "status": "",
    }
    values.update(extra)
    return [values.get(name, "") for name in HEADER]


def read(
    data: bytes, name="orders.csv"
) -> tuple[list[SourceOrder], list[RowProblem], OrderFileReader]:
    reader = OrderFileReader(io.BytesIO(data), file_name=name, timezone=NEW_YORK)
    items = list(reader)
    return (
        [i for i in items if isinstance(i, SourceOrder)],
        [i for i in items if isinstance(i, RowProblem)],
        reader,
    )


def upload_url(org):
    return reverse("connections:order_file", kwargs={"org_slug": org.slug})


def post_file(client, org, data: bytes, name="orders.csv", *, process=True, **fields):
    from connections.models import StoreConnection

    if "connection" not in fields:
        connection = StoreConnection.all_orgs.filter(
            organization=org, mode=ConnectionMode.SHIPPING_EXPENSE
        ).first()
        fields["connection"] = connection.pk if connection else ""
    response = client.post(upload_url(org), {"file": SimpleUploadedFile(name, data), **fields})
    if process:
        read_waiting_files(org)
    return response


def read_waiting_files(org) -> None:
    """The worker's part (``order_file_process_task``): read the files still waiting."""
    from connections.order_files import order_file_process
    from unify.tenancy.scoping import org_scope

    waiting = OrderFileUpload.all_orgs.filter(organization=org, status="processing")
    with org_scope(org.pk):
        for upload_id in waiting.values_list("pk", flat=True):
            order_file_process(upload_id=upload_id)


def orders_of(org):
    from sales.models import Order

    return Order.all_orgs.filter(organization=org).order_by("number")


# --- parser ---------------------------------------------------------------------------------


def test_template_file_reads_as_two_orders_with_exact_amounts():
    orders, problems, reader = read(template_csv().encode())
    assert problems == []
    assert (reader.rows_total, reader.rows_rejected, reader.orders_found) == (3, 0, 2)
    first, second = orders
    assert first.number == "1001" and first.store_name == "My Shop"
    assert first.order_date == datetime(2024, 5, 1, 13, 14, tzinfo=UTC)  # 09:14 EDT
    assert [
        (line.sku, line.quantity, line.unit_price, line.tax_amount) for line in first.lines
    ] == [
        ("TSHIRT-BLK-M", Decimal("2"), Decimal("19.99"), Decimal("3.30")),
        ("MUG-01", Decimal("1"), Decimal("12.00"), Decimal("0.99")),
    ]
    assert first.discount_total == Decimal("4.00")
    assert first.shipping_amount == Decimal("7.99")
    assert first.tax_amount == Decimal("4.29")
    assert first.order_total == first.amount_paid == Decimal("60.26")
    assert first.customer_email == "jane@example.com" and first.status == "shipped"
    assert second.order_total == Decimal("21.24") and len(second.lines) == 1


def test_order_total_defaults_to_lines_minus_discounts_plus_shipping_and_tax():
    [order], _, _ = read(csv_bytes([row(qty="3", price="2.50", discount="1.00")]))
    # 7.50 - 1.00 + 5.00 + 0.80
    assert order.order_total == Decimal("12.30")


def test_bad_rows_are_listed_and_their_orders_left_out_good_ones_kept():
    data = csv_bytes(
        [
            row("1"),
            row("2", qty="two"),
            row("3", date="03/05/2024"),
            row("4", sku="", item_name=""),
            row("5"),
            row("5", sku="SKU-2", order_total="99.00"),  # first row of 5 had no total: fine
            row("6", order_total="10.00"),
            row("6", sku="SKU-2", order_total="11.00"),  # contradicts its first row
            row(""),
            row("7", price="1.23456"),
            row("8", customer_email="not-an-email"),
            row("9", currency="dollars"),
            row("10", qty="-1"),
        ]
    )
    orders, problems, reader = read(data)
    assert [o.number for o in orders] == ["1", "5"]
    assert orders[1].order_total == Decimal("99.00") and len(orders[1].lines) == 2
    assert [(p.row, p.order_number, p.reason) for p in problems] == [
        (3, "2", "quantity is not a number: two"),
        (
            4,
            "3",
            "order_date is not a date (use YYYY-MM-DD or YYYY-MM-DD HH:MM): 03/05/2024",
        ),
        (5, "4", "sku and item_name are both empty"),
        # A row without an order number is reported at once; order 6 when its rows end.
        (10, "", "order_number is empty"),
        (8, "6", "order 6 was not imported because row 9 has a problem"),
        (9, "6", "order_total differs from the first row of order 6"),
        (11, "7", "unit_price has more than 4 decimals"),
        (12, "8", "customer_email is not an email address"),
        (13, "9", "currency must be a three-letter code such as USD"),
        (14, "10", "quantity must be more than 0"),
    ]
    assert (reader.rows_total, reader.rows_rejected, reader.orders_found) == (13, 10, 10)


def test_rows_of_one_order_that_are_apart_are_still_one_order():
    orders, problems, reader = read(
        csv_bytes([row("1"), row("2"), row("1", sku="LATE", price="25.00"), row("3")])
    )
    assert problems == []
    assert sorted(o.number for o in orders) == ["1", "2", "3"]
    [first] = [o for o in orders if o.number == "1"]
    assert [line.sku for line in first.lines] == ["SKU-1", "LATE"]
    # 10.00 + 25.00 + shipping 5.00 + tax 0.80 twice
    assert first.order_total == Decimal("41.60")
    assert (reader.rows_total, reader.rows_rejected, reader.orders_found) == (4, 0, 3)


def test_a_continuation_row_with_an_empty_store_belongs_to_the_order_above():
    data = csv_bytes(
        [
            row("1", price="17.00", shipping_charged="0", line_tax="0"),
            row("1", date="", store="", customer_name="", customer_email="", sku="SKU-2",
                price="18.00", line_tax="0", shipping_charged=""),
        ]
    )  # fmt: skip
    [order], problems, _ = read(data)
    assert problems == []
    assert order.store_name == "My Shop"
    assert order.order_total == Decimal("35.00") and len(order.lines) == 2


def test_a_bad_row_rejects_its_whole_order_listing_every_row_even_when_apart():
    data = csv_bytes([row("1"), row("2"), row("1", sku="B", qty="zero"), row("1", sku="C")])
    orders, problems, reader = read(data)
    assert [o.number for o in orders] == ["2"]
    assert [(p.row, p.order_number, p.reason) for p in problems] == [
        (2, "1", "order 1 was not imported because row 4 has a problem"),
        (4, "1", "quantity is not a number: zero"),
        (5, "1", "order 1 was not imported because row 4 has a problem"),
    ]
    assert (reader.rows_total, reader.rows_rejected) == (4, 3)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("orders.pdf", b"%PDF-1.4 ...", "Upload a .csv or .xlsx file."),
        ("orders.xls", b"\xd0\xcf\x11\xe0junk", "Old Excel files (.xls) are not supported."),
        (
            "orders.xlsx",
            b"order_number,quantity\n1,2\n",
            "This .xlsx file is not an Excel workbook.",
        ),
        ("orders.csv", b"PK\x03\x04zipped", "This file is not CSV text."),
        (
            "orders.xlsx",
            b"PK\x03\x04 not really a zip",
            "This file is not a readable Excel workbook",
        ),
        ("orders.csv", b"", "The file is empty."),
        ("orders.csv", b"\n\n  \n", "The file is empty."),
        ("orders.csv", b"number,when\n1,2024-01-01\n", "Missing: order_number, order_date"),
    ],
)
def test_unreadable_files_are_refused_as_a_whole(name, data, message):
    with pytest.raises(OrderFileError) as info:
        read(data, name=name)
    assert message in info.value.user_message


def test_windows_excel_csv_with_semicolons_and_an_accent_reads():
    text = "order_number;order_date;customer_name;item_name;quantity;unit_price\n"
    text += "A-1;2024-02-01;Zoë Müller;Crème;2;€3.50\n"
    [order], problems, _ = read(text.encode("cp1252"))
    assert problems == []
    assert order.customer_name == "Zoë Müller" and order.lines[0].name == "Crème"
    assert order.lines[0].unit_price == Decimal("3.50")
    assert order.order_date == datetime(2024, 2, 1, 5, 0, tzinfo=UTC)  # midnight EST
    assert order.store_name == "Order file" and order.currency == "USD"


def test_xlsx_cells_keep_exact_money_and_dates(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Order Number", "Order Date", "SKU", "Quantity", "Unit Price", "Line Tax"])
    sheet.append([1001, datetime(2024, 7, 4, 12, 30), "MUG", 3, 19.99, 0.1])
    sheet.append([1001, None, "CAP", 1, 0.3, None])
    path = tmp_path / "orders.xlsx"
    workbook.save(path)
    with path.open("rb") as fh:
        reader = OrderFileReader(fh, file_name="orders.xlsx", timezone=NEW_YORK)
        [order] = list(reader)
    assert order.number == "1001"
    assert order.order_date == datetime(2024, 7, 4, 16, 30, tzinfo=UTC)
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines] == [
        ("MUG", Decimal("3"), Decimal("19.99")),
        ("CAP", Decimal("1"), Decimal("0.3")),
    ]
    assert order.order_total == Decimal("60.37")  # 59.97 + 0.30 + 0.10
