"""Issue 17, item 14: the QBO stand-in has a home currency and a multicurrency preference, as
QuickBooks does. A sale in another currency is held with a plain reason when multicurrency is
off, and posted in its own currency (``CurrencyRef``, QuickBooks' exchange rate) when it is on.
QBO stand-in over HTTP, PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounting.models import Posting, PostingState
from accounting.services import posting_enqueue_orders, posting_retry_failed
from accounting.services.engine import posting_drain
from tests.accounting.factories import make_order

pytestmark = pytest.mark.django_db


def _post(org, ledger, order) -> Posting:
    posting_enqueue_orders(organization=org, order_ids=[order.pk])
    posting_drain(ledger_connection_id=ledger.pk)
    return Posting.objects.get(order=order)


def test_a_foreign_currency_sale_is_held_in_a_single_currency_company_then_posts(
    org_a, qbo, qbo_ledger, scope_a
):
    order = make_order(org_a, lines=[("A", "Alpha", 1, "20.00", False)], currency="CAD")
    posting = _post(org_a, qbo_ledger, order)
    assert posting.status == PostingState.FAILED
    assert "keeps its books in USD currency only" in posting.error
    assert "turn on multicurrency" in posting.error
    assert qbo.documents("salesreceipt") == []

    qbo.set_preferences(CurrencyPrefs={"MultiCurrencyEnabled": True})
    posting_retry_failed(organization=org_a, posting_ids=[posting.pk])
    posting_drain(ledger_connection_id=qbo_ledger.pk)
    posting.refresh_from_db()
    assert posting.status == PostingState.POSTED, posting.error
    [receipt] = qbo.documents("salesreceipt")
    assert receipt["CurrencyRef"]["value"] == "CAD"
    assert Decimal(str(receipt["ExchangeRate"])) == Decimal("0.73")  # QuickBooks' rate
    assert Decimal(str(receipt["TotalAmt"])) == Decimal("20.00")  # in CAD, as paid


def test_home_currency_sales_carry_no_exchange_rate(org_a, qbo, qbo_ledger, scope_a):
    qbo.set_preferences(CurrencyPrefs={"MultiCurrencyEnabled": True})
    order = make_order(org_a, lines=[("A", "Alpha", 1, "20.00", False)], currency="USD")
    posting = _post(org_a, qbo_ledger, order)
    assert posting.status == PostingState.POSTED, posting.error
    [receipt] = qbo.documents("salesreceipt")
    assert receipt["CurrencyRef"]["value"] == "USD"
    assert "ExchangeRate" not in receipt


def test_invoice_and_payment_in_a_foreign_currency(org_a, qbo, qbo_settings, scope_a):
    from tests.accounting.conftest import connect_ledger

    qbo.set_preferences(CurrencyPrefs={"MultiCurrencyEnabled": True})
    ledger = connect_ledger(org_a, qbo, document_type="invoice_payment")
    order = make_order(org_a, lines=[("A", "Alpha", 2, "15.00", False)], currency="EUR")
    posting = _post(org_a, ledger, order)
    assert posting.status == PostingState.POSTED, posting.error
    [invoice] = qbo.documents("invoice")
    [payment] = qbo.documents("payment")
    assert invoice["CurrencyRef"]["value"] == payment["CurrencyRef"]["value"] == "EUR"
    assert Decimal(str(invoice["Balance"])) == Decimal("0.00")
