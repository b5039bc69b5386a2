"""Order files that are built to hurt (spreadsheet bombs, a line of millions of commas,
millions of rows, a huge body from a plan that may not upload) end as a plain message, never
a 500, and never hold a process for long or take much memory. The hostile files are read by
a separate Python process under a memory limit (RLIMIT_AS) and a time limit; the huge body
goes to a real HTTP server over a socket."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import textwrap
import zipfile

import openpyxl
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from connections.models import ConnectionMode, OrderFileContent, OrderFileUpload
from connections.order_files import order_file_process
from connections.sources.csv.parser import COLUMNS
from tests.factories import StoreConnectionFactory
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db(transaction=True)

MEMORY_LIMIT = 700 * 1024 * 1024  # the whole interpreter with Django loaded, not the file
TIME_LIMIT = 90


@pytest.fixture
def pro_a(org_a):
    org_a.plan = "pro"
    org_a.save()
    return org_a


@pytest.fixture
def expense_connection(pro_a):
    return StoreConnectionFactory(organization=pro_a, mode=ConnectionMode.SHIPPING_EXPENSE)


# --- hostile files ----------------------------------------------------------------------------

_OXML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CONTENT_TYPES = (
    f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{_PKG}/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_OXML}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_OXML}.worksheet+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_OXML}.sharedStrings+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    f'xmlns:r="{_REL}"><sheets><sheet name="Orders" sheetId="1" r:id="rId1"/></sheets>'
    "</workbook>"
)
_WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)


def workbook(sheet_xml: str, shared_strings: str = "") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        archive.writestr(
            "xl/sharedStrings.xml",
            shared_strings
            or '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
            'spreadsheetml/2006/main" count="0" uniqueCount="0"/>',
        )
    return out.getvalue()


def _sheet(rows: str, doctype: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{doctype}'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{rows}</sheetData></worksheet>"
    )


def billion_laughs() -> bytes:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    row = '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    return workbook(_sheet(row, f"<!DOCTYPE lolz [{entities}]>"))


def external_entity() -> bytes:
    doctype = '<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    row = '<row r="1"><c r="A1" t="inlineStr"><is><t>&secret;</t></is></c></row>'
    return workbook(_sheet(row, doctype))


def quadratic_blowup() -> bytes:
    doctype = f'<!DOCTYPE x [<!ENTITY a "{"x" * 50_000}">]>'
    row = '<row r="1"><c r="A1" t="inlineStr"><is><t>' + "&a;" * 50_000 + "</t></is></c></row>"
    return workbook(_sheet(row, doctype))


def huge_shared_strings() -> bytes:
    # About 40 MB of text once unpacked, a few hundred KB packed.
    items = "<si><t>" + "A" * 1000 + "</t></si>"
    sst = (
        '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        '2006/main">' + items * 40_000 + "</sst>"
    )
    return workbook(_sheet('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'), sst)


def millions_of_rows() -> bytes:
    header = "".join(
        f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{name}</t></is></c>'
        for i, name in enumerate(COLUMNS)
    )
    rows = f'<row r="1">{header}</row>' + "".join(f'<row r="{n}"/>' for n in range(2, 3_000_001))
    return workbook(_sheet(rows))


def comma_line() -> bytes:
    return (",".join(COLUMNS) + "\n").encode() + b"," * 40_000_000 + b"\n"


HOSTILE = {
    "billion-laughs.xlsx": (billion_laughs, "This workbook could not be read"),
    "external-entity.xlsx": (external_entity, "This workbook could not be read"),
    "quadratic.xlsx": (quadratic_blowup, "This workbook is packed unusually tightly"),
    "shared-strings.xlsx": (huge_shared_strings, "This workbook's text table is larger than"),
    "rows.xlsx": (millions_of_rows, "The file has more than 200,000 rows"),
    "commas.csv": (comma_line, "Line 2 of the file is longer than 65,536 characters"),
}


def _keep(org, connection, name: str, data: bytes) -> OrderFileUpload:
    upload = OrderFileUpload.all_orgs.create(
        organization=org,
        connection=connection,
        file_name=name,
        file_format=name.rsplit(".", 1)[1],
        status="processing",
    )
    OrderFileContent.all_orgs.create(organization=org, upload=upload, data=data)
    return upload


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_fail_with_a_message_in_a_bounded_process(pro_a, expense_connection, name):
    build, message = HOSTILE[name]
    upload = _keep(pro_a, expense_connection, name, build())
    script = textwrap.dedent(
        f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT}))
        import django
        django.setup()
        from connections.order_files import order_file_process
        from unify.tenancy.scoping import org_scope
        with org_scope({pro_a.pk}):
            upload = order_file_process(upload_id={upload.pk})
        print("STATUS", upload.status)
        """
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "unify.settings.test"}
    env["DATABASE_URL"] = _test_database_url()
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "STATUS failed" in done.stdout
    upload.refresh_from_db()
    assert upload.status == "failed"
    assert upload.error.startswith(message), upload.error
    assert "root:" not in upload.error  # the external entity was never read
    assert not OrderFileContent.all_orgs.filter(upload=upload).exists()
    with org_scope(pro_a.pk):
        from sales.models import Order

        assert not Order.objects.exists()


def _test_database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def test_a_file_over_the_row_limit_is_refused_in_the_cheap_first_pass(
    pro_a, expense_connection, settings
):
    settings.UNIFY_ORDER_FILE_MAX_ROWS = 50
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(list(COLUMNS))
    for n in range(200):
        values = {"order_number": str(n), "order_date": "2026-11-01", "sku": "SKU",
                  "quantity": 1, "unit_price": 1}  # fmt: skip
        sheet.append([values.get(name) for name in COLUMNS])
    out = io.BytesIO()
    book.save(out)
    upload = _keep(pro_a, expense_connection, "orders.xlsx", out.getvalue())
    with org_scope(pro_a.pk):
        order_file_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == "failed"
    assert upload.error.startswith("The file has more than 50 rows.")


def test_a_large_body_from_a_plan_without_order_files_is_refused_before_it_is_read(
    live_server, client, org_a, owner_of_a
):
    """Starter plan: the answer (413 with the plan message) comes while the client has sent
    only the headers and the first kilobyte of a declared 250 MB body."""
    client.force_login(owner_of_a.user)
    session = client.cookies["sessionid"].value
    _refused_before_body(live_server, org_a, session, "part of the Pro and Advanced plans")


def test_a_body_over_the_size_limit_is_refused_before_it_is_read(
    live_server, client, pro_a, owner_of_a, expense_connection
):
    client.force_login(owner_of_a.user)
    session = client.cookies["sessionid"].value
    _refused_before_body(live_server, pro_a, session, "The file is larger than 50 MB")


def _refused_before_body(live_server, org, session: str, message: str) -> None:
    host, port = live_server.url.removeprefix("http://").split(":")
    path = reverse("connections:order_file", kwargs={"org_slug": org.slug})
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Cookie: sessionid={session}\r\n"
        "Content-Type: multipart/form-data; boundary=XyZ\r\n"
        f"Content-Length: {250 * 1024 * 1024}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(head + b"--XyZ\r\n" + b"x" * 1024)
        answer = b""
        try:
            while b"</html>" not in answer:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except TimeoutError:
            raise AssertionError(
                f"no complete answer while the body was not sent: {answer[:300]!r}"
            ) from None
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.endswith(b"413 Request Entity Too Large"), status_line
    assert message in answer.decode(errors="replace")
    assert not OrderFileUpload.all_orgs.filter(organization=org).exists()


def test_a_good_xlsx_through_the_view_still_imports(owner_client, pro_a, expense_connection):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(COLUMNS))
    values = {"order_number": "1001", "order_date": "2026-11-01 10:00", "store": "Shop",
              "customer_name": "Jane", "sku": "SKU-1", "item_name": "Mug", "quantity": 2,
              "unit_price": 9.5}  # fmt: skip
    sheet.append([values.get(name) for name in COLUMNS])
    out = io.BytesIO()
    book.save(out)
    response = owner_client.post(
        reverse("connections:order_file", kwargs={"org_slug": pro_a.slug}),
        {
            "connection": expense_connection.pk,
            "file": SimpleUploadedFile("orders.xlsx", out.getvalue()),
        },
    )
    assert response.status_code == 302
    upload = OrderFileUpload.all_orgs.get(organization=pro_a)
    assert upload.status == "processing"
    with org_scope(pro_a.pk):
        order_file_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert (upload.status, upload.orders_created, upload.rows_rejected) == ("finished", 1, 0)
