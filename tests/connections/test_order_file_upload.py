"""Order files (shipping-expense mode): the upload through the Connections tab, with the orders
stored by the import's ``order_upsert_from_file``."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from connections import services
from connections.models import ConnectionMode, OrderFileContent, OrderFileUpload
from connections.order_files import order_file_receive
from connections.sources.csv.parser import template_csv
from tests.connections.test_order_file import (
    HEADER,
    csv_bytes,
    orders_of,
    post_file,
    row,
    upload_url,
)
from tests.factories import SourceStoreFactory, StoreConnectionFactory
from unify.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def expense_connection(pro_a):
    return StoreConnectionFactory(
        organization=pro_a, name="Shop labels", mode=ConnectionMode.SHIPPING_EXPENSE
    )


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
