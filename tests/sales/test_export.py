"""CSV export of the filtered list: a fixed column set, plain decimals, dates in the
organization's time zone, formula cells defused, streamed with flat memory."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db.models import Count, Sum
from django.urls import reverse

from sales.export import HEADER
from sales.models import Order
from tests.sales.factories import (
    bulk_orders,
    make_connection,
    make_order,
    make_store,
    sql_orders,
)

pytestmark = pytest.mark.django_db


def export_url(org, **params) -> str:
    from urllib.parse import urlencode

    url = reverse("sales:export", kwargs={"org_slug": org.slug})
    return f"{url}?{urlencode(params)}" if params else url


def read_csv(response) -> list[list[str]]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def test_export_has_a_fixed_header_plain_money_local_dates_and_no_formulas(
    member_client, org_a, org_b
):
    org_a.timezone = "Europe/Berlin"
    org_a.save()
    store = make_store(make_connection(org_a, "Main"), "Etsy")
    make_order(
        org_a,
        number="X-1",
        source_store=store,
        order_date=datetime(2025, 7, 1, 22, 30, tzinfo=UTC),
        customer_name='=HYPERLINK("http://evil.test")',
        customer_email="buyer@example.com",
        order_total=Decimal("1234.5"),
        shipping_charged=Decimal("7.00"),
        lines_subtotal=Decimal("1227.50"),
        amount_paid=Decimal("1230.00"),
        reconciliation_difference=Decimal("-4.50"),
        label_cost_total=Decimal("8.25"),
        return_label_cost_total=Decimal("1.00"),
        external_id="4711",
        order_key="k-1",
    )
    make_order(org_b, number="B-ONLY")

    response = member_client.get(export_url(org_a))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="acme-orders-')
    rows = read_csv(response)
    assert rows[0] == HEADER
    order_id = str(Order.all_orgs.get(number="X-1").pk)
    assert rows[1:] == [
        [
            order_id, "X-1", "2025-07-02T00:30:00+02:00", "Etsy", "Main", "shipped",
            "not_posted", "no", "'=HYPERLINK(\"http://evil.test\")", "buyer@example.com", "1",
            "USD", "1227.50", "0.00", "0.00", "7.00", "1234.50", "1230.00", "-4.50", "8.25",
            "1.00", "-2.25", "4711", "k-1", "",  # not posted: no ledger document
        ]
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "exported"),
    [
        (" =1+1", "' =1+1"),  # a space before the formula
        ('\u00a0=HYPERLINK("http://evil.test")', '\'\u00a0=HYPERLINK("http://evil.test")'),
        ("\u3000+1", "'\u3000+1"),  # ideographic space
        ("\u200b@SUM(A1)", "'\u200b@SUM(A1)"),  # zero-width space
        ("\uff1d1+1", "'\uff1d1+1"),  # full-width =
        ("\uff0b1", "'\uff0b1"),  # full-width +
        ("\uff0d1", "'\uff0d1"),  # full-width -
        ("\uff20SUM(A1)", "'\uff20SUM(A1)"),  # full-width @
        ("\ufe66cmd", "'\ufe66cmd"),  # small =
        ("\n=1", "'\n=1"),
        (" Smith", " Smith"),  # a space before text is only text
        ("Anne-Marie = CEO", "Anne-Marie = CEO"),
        ("\u00a0", "\u00a0"),
    ],
)
def test_export_defuses_formulas_hidden_behind_spaces_and_full_width_signs(
    member_client, org_a, name, exported
):
    make_order(org_a, number="X-1", customer_name=name)

    rows = read_csv(member_client.get(export_url(org_a)))

    assert rows[1][HEADER.index("customer_name")] == exported


def test_export_follows_the_filters_and_refuses_foreign_ones(member_client, org_a, org_b):
    store = make_store(make_connection(org_a))
    bulk_orders(org_a, 3, source_store=store)
    bulk_orders(org_a, 4)
    foreign = make_store(make_connection(org_b))
    bulk_orders(org_b, 5, source_store=foreign)

    rows = read_csv(member_client.get(export_url(org_a, store=store.pk)))
    assert len(rows) == 1 + 3
    assert {r[3] for r in rows[1:]} == {store.name}

    refused = member_client.get(export_url(org_a, store=foreign.pk))
    assert refused.status_code == 400
    assert b"nothing was exported" in refused.content
    # Organization B's slug: the organization is not even found.
    assert member_client.get(export_url(org_b)).status_code == 404


def test_every_results_swap_sends_the_export_link_of_its_own_filters(member_client, org_a):
    """htmx swaps only the results: each answer carries the export link again (out of band)
    with the filters that produced it, so Export CSV exports what the list shows."""
    import html
    import re

    from tests.sales.listing import list_url, numbers_in

    store = make_store(make_connection(org_a), "Etsy")
    other = make_store(make_connection(org_a, "Second"), "Ebay")
    make_order(org_a, number="E-1", source_store=store)
    make_order(org_a, number="E-2", source_store=store)
    make_order(org_a, number="O-1", source_store=other)

    swap = member_client.get(
        list_url(org_a, store=store.pk, sort="number", per=25), headers={"HX-Request": "true"}
    )

    content = swap.content.decode()
    [link] = re.findall(r'<a [^>]*id="export-link"[^>]*>', content)
    assert 'hx-swap-oob="true"' in link
    href = html.unescape(re.search(r'href="([^"]+)"', link).group(1))
    assert href == export_url(org_a, store=store.pk, sort="number", per=25)
    exported = [row[1] for row in read_csv(member_client.get(href))[1:]]
    assert exported == numbers_in(swap.content) == ["E-1", "E-2"]
    # The full page (no htmx) has it once, in place, without the out-of-band marker.
    page = member_client.get(list_url(org_a, store=store.pk)).content.decode()
    [link] = re.findall(r'<a [^>]*id="export-link"[^>]*>', page)
    assert "hx-swap-oob" not in link and f"store={store.pk}" in link


def test_export_of_100000_orders_streams_with_bounded_memory_and_adds_up(
    member_client, org_a, org_b
):
    sql_orders(org_a, 100_000)
    sql_orders(org_b, 50, prefix="B")
    expected = Order.all_orgs.filter(organization=org_a).aggregate(
        n=Count("id"), total=Sum("order_total"), shipping=Sum("shipping_charged"),
        labels=Sum("label_cost_total"),
    )  # fmt: skip
    assert expected["n"] == 100_000

    response = member_client.get(export_url(org_a))
    assert response.streaming
    count, total, shipping, labels = 0, Decimal(0), Decimal(0), Decimal(0)
    header = None
    tracemalloc.start()
    try:
        for chunk in response.streaming_content:
            for row in csv.reader(io.StringIO(chunk.decode("utf-8"))):
                if header is None:
                    header = row
                    columns = {name: i for i, name in enumerate(row)}
                    continue
                count += 1
                total += Decimal(row[columns["order_total"]])
                shipping += Decimal(row[columns["shipping_charged"]])
                labels += Decimal(row[columns["label_cost"]])
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        response.close()

    assert header == HEADER
    assert (count, total, shipping, labels) == (
        expected["n"], expected["total"], expected["shipping"], expected["labels"],
    )  # fmt: skip
    # The CSV alone is ~20 MB and 100,000 model rows far more; the stream holds one cursor
    # batch of 2,000 rows and one chunk of text at a time.
    assert peak < 16 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_the_order_id_at_the_source_column_names_no_provider():
    # The source's own order id (ShipStation's orderId, a shop's id in an order file).
    assert HEADER[HEADER.index("order_key") - 1] == "source_order_id"
    assert not [name for name in HEADER if "shipstation" in name]
