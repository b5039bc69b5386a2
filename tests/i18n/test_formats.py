"""Numbers, money and dates in the person's language; the default CSV stays
machine-readable and the spreadsheet CSV suits German Excel."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from sales.export import HEADER
from sales.models import Order
from tests.sales.factories import make_connection, make_order, make_store
from unify.core.i18n import set_user_language
from unify.core.money_format import MoneyField, format_amount, format_money, parse_amount


@pytest.mark.parametrize(
    "language, value, text",
    [
        ("en", Decimal("1234.56"), "1,234.56"), ("de", Decimal("1234.56"), "1.234,56"),
        ("en", Decimal("-4.4"), "-4.40"), ("de", Decimal("-4.4"), "-4,40"),
        ("de", Decimal("1234567.005"), "1.234.567,01"), ("en", None, ""),
    ],
)  # fmt: skip
def test_amounts_in_the_persons_number_format(language, value, text):
    with translation.override(language):
        assert format_amount(value) == text


def test_money_carries_its_currency_code():
    with translation.override("de"):
        assert format_money(Decimal("1234.56"), "EUR") == "1.234,56\u00a0EUR"
    with translation.override("en"):
        assert format_money(Decimal("1234.56"), "USD") == "1,234.56\u00a0USD"


@pytest.mark.parametrize(
    "language, typed, value",
    [
        ("de", "1.234,56", "1234.56"), ("de", "1234,56", "1234.56"), ("de", "12,5", "12.5"),
        ("de", "1234.56", "1234.56"), ("de", "1.234", "1234"), ("de", " 7 ", "7"),
        ("en", "1,234.56", "1234.56"), ("en", "1234.56", "1234.56"),
    ],
)  # fmt: skip
def test_typed_money_accepts_the_locales_decimal_comma(language, typed, value):
    with translation.override(language):
        assert parse_amount(typed) == Decimal(value)
        assert MoneyField().clean(typed) == Decimal(value)


def test_money_field_refuses_what_is_no_amount():
    from django.core.exceptions import ValidationError

    with translation.override("de"), pytest.raises(ValidationError):
        MoneyField().clean("zwölf")
    with translation.override("de"), pytest.raises(ValidationError):
        MoneyField().clean("1,234,5")


@pytest.fixture
def orders(db, org_a, member_of_a):
    org_a.timezone = "Europe/Berlin"
    org_a.save()
    store = make_store(make_connection(org_a, "Main"), "Etsy")
    make_order(
        org_a,
        number="X-1",
        source_store=store,
        order_date=datetime(2025, 12, 1, 22, 30, tzinfo=UTC),
        order_total=Decimal("1234.5"),
        shipping_charged=Decimal("7.00"),
        lines_subtotal=Decimal("1227.50"),
        amount_paid=Decimal("1234.50"),
        label_cost_total=Decimal("8.25"),
    )
    return member_of_a


def test_sales_list_in_german_numbers_and_dates_in_the_organizations_zone(client, orders):
    set_user_language(orders.user, "de")
    client.force_login(orders.user)
    client.post("/i18n/setlang/", {"language": "de", "next": "/"})
    page = client.get(reverse("sales:list", kwargs={"org_slug": "acme"})).content.decode()
    assert "1.234,50" in page  # the order total
    assert "1. Dez 2025, 23:30 CET" in page  # 22:30 UTC in Berlin, German month
    english = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert english.status_code == 302
    page = client.get(reverse("sales:list", kwargs={"org_slug": "acme"})).content.decode()
    assert "1,234.50" in page and "Dec 1, 2025, 23:30 CET" in page
    assert 'data-testid="export-csv-excel"' not in page  # German spreadsheets only


def test_every_export_column_has_a_label_for_the_spreadsheet_csv():
    from sales.export import LABELS

    assert set(LABELS) == set(HEADER)


def _csv(response, delimiter=","):
    text = b"".join(response.streaming_content).decode("utf-8")
    return text, list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter))


def test_default_csv_stays_machine_readable_in_german_too(client, orders):
    client.force_login(orders.user)
    client.post("/i18n/setlang/", {"language": "de", "next": "/"})
    url = reverse("sales:export", kwargs={"org_slug": "acme"})
    text, rows = _csv(client.get(url))
    assert not text.startswith("\ufeff")
    assert rows[0] == HEADER
    assert rows[1][HEADER.index("order_total")] == "1234.50"
    assert rows[1][HEADER.index("ignored")] == "no"


def test_spreadsheet_csv_for_german_excel(client, orders):
    client.force_login(orders.user)
    client.post("/i18n/setlang/", {"language": "de", "next": "/"})
    page = client.get(reverse("sales:list", kwargs={"org_slug": "acme"})).content.decode()
    assert 'data-testid="export-csv-excel"' in page and "CSV für Excel" in page
    url = reverse("sales:export", kwargs={"org_slug": "acme"}) + "?csv=excel"
    response = client.get(url)
    assert response["Content-Disposition"].endswith('-excel.csv"')
    text, rows = _csv(response, delimiter=";")
    assert text.startswith("\ufeff")
    header, row = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert header[:3] == ["Bestell-ID", "Bestellnummer", "Bestelldatum"]
    assert row["Bestellsumme"] == "1234,50"
    assert row["Versandmarge"] == "-1,25"
    assert row["Ignoriert"] == "nein"
    assert row["Bestelldatum"] == "2025-12-01T23:30:00+01:00"
    assert row["Bestell-ID"] == str(Order.all_orgs.get(number="X-1").pk)
