"""Order files (shipping-expense mode): the streaming parser and the upload through the
Connections tab, with the orders stored by the import's ``order_upsert_from_file``."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from connections import services
from connections.models import ConnectionMode, OrderFileContent, OrderFileUpload
from connections.order_files import order_file_receive
from connections.sources.base import SourceOrder
from connections.sources.csv.parser import (
    COLUMNS,
    OrderFileError,
    OrderFileReader,
    RowProblem,
    template_csv,
)
from tests.factories import SourceStoreFactory, StoreConnectionFactory
from unify.core.models import AuditEvent

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


@pytest.fixture
def pro_a(org_a):
    org_a.plan = "pro"
    org_a.save()
    return org_a


@pytest.fixture
def expense_connection(pro_a):
    return StoreConnectionFactory(
        organization=pro_a, name="Shop labels", mode=ConnectionMode.SHIPPING_EXPENSE
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


def _write_big_csv(path, orders: int) -> int:
    rows = 0
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for n in range(orders):
            for line in range(2):
                writer.writerow(row(f"B{n:07d}", sku=f"SKU-{line}", price=f"{n % 97}.{line}5"))
                rows += 1
    return rows


_MEASURE_CHILD = """
import json, re, sys
import django
django.setup()
from zoneinfo import ZoneInfo
from connections.sources.csv.parser import OrderFileReader
from connections.sources.base import SourceOrder

def status(name):
    with open("/proc/self/status") as fh:
        return int(re.search(name + r":\\s+(\\d+) kB", fh.read()).group(1))

with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # reset the peak (VmHWM) to the current RSS
before = status("VmRSS")
orders = lines = 0
with open(sys.argv[1], "rb") as fh:
    reader = OrderFileReader(fh, file_name="huge.csv", timezone=ZoneInfo("America/New_York"))
    for item in reader:
        orders += isinstance(item, SourceOrder)
        lines += len(item.lines)
print(json.dumps({"orders": orders, "lines": lines, "rows": reader.rows_total,
                  "rejected": reader.rows_rejected, "growth_kb": status("VmHWM") - before}))
"""


def _parse_in_child(path) -> dict:
    """Parse a file in a fresh interpreter and report how much its peak resident memory grew
    while parsing (Linux: the peak is reset through /proc/self/clear_refs first), a measure
    unaffected by this test process and by what Django's start-up allocated."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "unify.settings.test"}
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE_CHILD, str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=settings.BASE_DIR,
        timeout=600,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_huge_file_is_streamed_in_bounded_memory(tmp_path):
    path = tmp_path / "huge.csv"
    rows = _write_big_csv(path, 100_000)  # 200,000 rows
    assert rows == 200_000
    size_mb = path.stat().st_size / 1e6
    result = _parse_in_child(path)
    assert result["orders"] == 100_000 and result["lines"] == 200_000
    assert (result["rows"], result["rejected"]) == (200_000, 0)
    growth_mb = result["growth_kb"] / 1024
    print(f"\norder file: {rows} rows, {size_mb:.1f} MB on disk, peak RSS grew {growth_mb:.1f} MB")
    assert growth_mb < 50


def test_parser_memory_does_not_grow_with_the_file(tmp_path):
    """tracemalloc (exact Python allocations) on a small and a ten times larger file: the
    peak stays flat, apart from a fixed 8-byte fingerprint per order seen."""
    peaks = []
    for orders in (1_000, 10_000):
        path = tmp_path / f"orders-{orders}.csv"
        _write_big_csv(path, orders)
        tracemalloc.start()
        try:
            with path.open("rb") as fh:
                reader = OrderFileReader(fh, file_name=path.name, timezone=NEW_YORK)
                assert sum(1 for _ in reader) == orders
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    small, large = (p / 1e6 for p in peaks)
    print(f"\norder file tracemalloc peak: 2,000 rows {small:.2f} MB, 20,000 rows {large:.2f} MB")
    assert large < small + 2.0


def test_big_xlsx_is_read_row_by_row(tmp_path):
    # openpyxl in read-only mode streams the sheet; what stays in memory is the workbook's
    # shared-strings table (distinct texts), so a few thousand rows show the shape. Tracing
    # makes openpyxl slow, hence the modest size.
    path = tmp_path / "big.xlsx"
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(HEADER)
    for n in range(6_000):
        sheet.append(row(f"X{n:06d}", price=f"{n % 50}.99"))
    workbook.save(path)
    tracemalloc.start()
    try:
        with path.open("rb") as fh:
            reader = OrderFileReader(fh, file_name="big.xlsx", timezone=NEW_YORK)
            orders = sum(1 for item in reader if isinstance(item, SourceOrder))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size_mb = path.stat().st_size / 1e6
    print(f"\norder file xlsx: 6000 rows, {size_mb:.1f} MB, peak traced {peak / 1e6:.1f} MB")
    assert orders == 6_000
    assert peak / 1e6 < 20


# --- upload through the Connections tab -----------------------------------------------------


def test_good_file_is_imported_as_orders(owner_client, pro_a, owner_of_a, expense_connection):
    response = post_file(owner_client, pro_a, template_csv().encode())
    upload = OrderFileUpload.all_orgs.get(organization=pro_a)
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "connections:order_file_result", kwargs={"org_slug": pro_a.slug, "upload_id": upload.pk}
    )
    assert (upload.rows_total, upload.rows_rejected, upload.orders_found) == (3, 0, 2)
    assert (upload.orders_created, upload.orders_updated) == (2, 0)
    assert upload.uploaded_by == owner_of_a.user and upload.file_format == "csv"
    first, second = orders_of(pro_a)
    assert (first.number, first.source, first.connection_id, first.store_name) == (
        "1001",
        "order_file",
        expense_connection.pk,
        "My Shop",
    )
    assert upload.connection == expense_connection
    assert first.order_total == Decimal("60.26") and first.amount_paid == Decimal("60.26")
    assert first.shipping_charged == Decimal("7.99") and first.tax_total == Decimal("4.29")
    assert first.discount_total == Decimal("4.00")
    assert first.reconciliation_difference == Decimal("0.00")
    assert first.lines.count() == 2 and second.lines.count() == 1
    assert AuditEvent.objects.filter(organization=pro_a, action="order_file.imported").count() == 1
    page = owner_client.get(response["Location"]).content.decode()
    assert "orders.csv" in page and "Rows read" in page

    # The same file again: found, not duplicated.
    post_file(owner_client, pro_a, template_csv().encode())
    again = OrderFileUpload.all_orgs.filter(organization=pro_a).order_by("-pk").first()
    assert (again.orders_created, again.orders_updated) == (0, 0)
    assert orders_of(pro_a).count() == 2


def test_file_with_bad_rows_keeps_the_good_orders_and_lists_the_rest(
    owner_client, pro_a, expense_connection
):
    data = csv_bytes([row("1"), row("2", qty="lots"), row("3")])
    response = post_file(owner_client, pro_a, data)
    upload = OrderFileUpload.all_orgs.get(organization=pro_a)
    assert (upload.rows_total, upload.rows_rejected, upload.orders_created) == (3, 1, 2)
    assert [(p.row, p.order_number, p.reason) for p in upload.problems.all()] == [
        (3, "2", "quantity is not a number: lots")
    ]
    assert [o.number for o in orders_of(pro_a)] == ["1", "3"]
    page = owner_client.get(response["Location"]).content.decode()
    assert "quantity is not a number: lots" in page and "Rows that were not imported" in page


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("orders.txt.exe", b"MZ...", "Upload a .csv or .xlsx file."),
        ("orders.csv", b"", "The submitted file is empty."),  # Django's own check
        ("orders.xls", b"\xd0\xcf\x11\xe0junk", "Old Excel files (.xls) are not supported."),
    ],
)
def test_files_that_are_plainly_not_order_files_are_refused_at_once(
    owner_client, pro_a, expense_connection, name, data, message
):
    response = post_file(owner_client, pro_a, data, name=name)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not OrderFileUpload.all_orgs.filter(organization=pro_a).exists()
    assert not orders_of(pro_a).exists()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("orders.csv", b"\n", "The file is empty."),
        (
            "orders.csv",
            ",".join(HEADER).encode() + b"\n",
            "The file has a header row but no orders.",
        ),
        ("orders.csv", b"a,b\n1,2\n", "The first row must name the columns."),
    ],
)
def test_files_the_worker_cannot_read_end_failed_with_the_reason_and_nothing_imported(
    owner_client, pro_a, expense_connection, name, data, message
):
    response = post_file(owner_client, pro_a, data, name=name)
    assert response.status_code == 302
    upload = OrderFileUpload.all_orgs.get(organization=pro_a)
    assert (upload.status, upload.error) == ("failed", message) or (
        upload.status == "failed" and upload.error.startswith(message)
    )
    assert not orders_of(pro_a).exists()
    assert not OrderFileContent.all_orgs.filter(upload=upload).exists()
    page = owner_client.get(response["Location"]).content.decode()
    assert message in page


def test_order_files_need_the_pro_plan(owner_client, org_a, owner_of_a):
    connection = StoreConnectionFactory(organization=org_a, mode=ConnectionMode.SHIPPING_EXPENSE)
    page = owner_client.get(upload_url(org_a)).content.decode()
    assert "part of the Pro and Advanced plans" in page and 'type="file"' not in page
    response = post_file(owner_client, org_a, template_csv().encode())
    assert "part of the Pro and Advanced plans" in response.content.decode()
    with pytest.raises(services.ConnectionRefused) as info:
        order_file_receive(
            organization=org_a,
            actor=owner_of_a.user,
            fileobj=io.BytesIO(template_csv().encode()),
            file_name="orders.csv",
            connection=connection,
        )
    assert info.value.code == "plan_mode"
    assert not orders_of(org_a).exists()


def test_template_download(owner_client, org_a):
    response = owner_client.get(
        reverse("connections:order_file_template", kwargs={"org_slug": org_a.slug})
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert response.content.decode() == template_csv()
    assert response.content.decode().splitlines()[0] == ",".join(HEADER)


def test_upload_result_of_another_organization_is_404(owner_client, org_a, org_b):
    theirs = OrderFileUpload.all_orgs.create(
        organization=org_b, file_name="theirs.csv", file_format="csv"
    )
    response = owner_client.get(
        reverse(
            "connections:order_file_result", kwargs={"org_slug": org_a.slug, "upload_id": theirs.pk}
        )
    )
    assert response.status_code == 404


def test_every_rejected_row_is_listed_page_by_page_and_downloadable(
    owner_client, pro_a, expense_connection
):
    rows = [row(str(n), qty="none") for n in range(1, 251)] + [row("ok")]
    response = post_file(owner_client, pro_a, csv_bytes(rows))
    upload = OrderFileUpload.all_orgs.get(organization=pro_a)
    assert (upload.rows_total, upload.rows_rejected, upload.orders_created) == (251, 250, 1)
    listed = []
    for page_number in (1, 2, 3):
        page = owner_client.get(response["Location"], {"page": page_number}).content.decode()
        listed += [int(n) for n in re.findall(r"<tr><td>(\d+)</td>", page)]
    assert listed == list(range(2, 252))
    assert "Download all 250 rejected rows (CSV)" in page

    download = owner_client.get(
        reverse(
            "connections:order_file_problems_csv",
            kwargs={"org_slug": pro_a.slug, "upload_id": upload.pk},
        )
    )
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    lines = list(csv.reader(io.StringIO(download.content.decode())))
    assert lines[0] == ["row", "order_number", "problem"]
    assert lines[1] == ["2", "1", "quantity is not a number: none"]
    assert len(lines) == 251


def test_upload_is_for_a_shipping_expense_connection_of_ones_own(
    owner_client, pro_a, org_b, expense_connection
):
    from connections.models import StoreConnection

    sales_channel = StoreConnectionFactory(organization=pro_a, name="Main")
    theirs = StoreConnectionFactory(organization=org_b, mode=ConnectionMode.SHIPPING_EXPENSE)
    for other in (sales_channel, theirs):
        response = post_file(owner_client, pro_a, template_csv().encode(), connection=other.pk)
        assert response.status_code == 400
        assert "Select a valid choice" in response.content.decode()
    assert not orders_of(pro_a).exists() and not orders_of(org_b).exists()

    StoreConnection.all_orgs.filter(pk=expense_connection.pk).delete()
    page = owner_client.get(upload_url(pro_a)).content.decode()
    assert 'data-testid="no-expense-connection"' in page and 'type="file"' not in page


def test_a_default_store_of_another_connection_is_refused(owner_client, pro_a, expense_connection):
    other = StoreConnectionFactory(organization=pro_a, mode=ConnectionMode.SHIPPING_EXPENSE)
    foreign_store = SourceStoreFactory(connection=other)
    response = post_file(
        owner_client,
        pro_a,
        template_csv().encode(),
        connection=expense_connection.pk,
        default_store=foreign_store.pk,
    )
    assert response.status_code == 400
    assert "This store belongs to another connection" in response.content.decode()
    assert not orders_of(pro_a).exists()
