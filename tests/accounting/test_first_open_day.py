"""Issue 17, item 15 (second half): "post on the first open day". A document the ledger refuses
because its books are closed for that date (QuickBooks' closing date, Xero's lock dates) is
held with the reason when the setting is off (tests/accounting/test_closed_books.py); with it
on, it is dated the day after the closed period, posted once, its memo keeping the original
date. QBO and Xero stand-ins over HTTP, PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from accounting.models import Posting, PostingKind, PostingSettings, PostingState
from accounting.services import posting_enqueue_orders
from accounting.services.engine import posting_drain
from sales.models import PostingStatus
from sandbox.xero import DEFAULT_TENANT_ID
from sandbox.xero.wire import parse_date
from tests.accounting.conftest import connect_ledger
from tests.accounting.factories import make_order, make_store_connection
from tests.factories import ShippingCostFactory
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

MAY_20 = datetime(2026, 5, 20, 15, 0, tzinfo=UTC)


def _order(org, number="7001"):
    return make_order(
        org, lines=[("A", "Alpha", 2, "10.00", False)], shipping="4.00", order_date=MAY_20,
        payment_date=MAY_20, number=number,
    )  # fmt: skip


def _post(org, ledger, order) -> Posting:
    posting_enqueue_orders(organization=org, order_ids=[order.pk])
    posting_drain(ledger_connection_id=ledger.pk)
    return Posting.objects.get(order=order, kind=PostingKind.SALE)


@pytest.mark.parametrize("document_type", ["sales_receipt", "invoice_payment"])
def test_qbo_a_sale_in_closed_books_is_posted_on_the_first_open_day_once(
    org_a, qbo, qbo_settings, scope_a, document_type
):
    qbo.set_preferences(AccountingInfoPrefs={"BookCloseDate": "2026-05-31"})
    ledger = connect_ledger(org_a, qbo, document_type=document_type, post_on_first_open_day=True)
    order = _order(org_a)
    posting = _post(org_a, ledger, order)
    order.refresh_from_db()
    assert posting.status == PostingState.POSTED, posting.error
    assert order.posting_status == PostingStatus.POSTED
    entity = "salesreceipt" if document_type == "sales_receipt" else "invoice"
    [sale] = qbo.documents(entity)
    assert sale["TxnDate"] == "2026-06-01"
    assert "Originally dated 2026-05-20" in sale["PrivateNote"]
    assert "2026-05-31" in sale["PrivateNote"]
    assert Decimal(str(sale["TotalAmt"])) == order.amount_paid == Decimal("24.00")
    if document_type == "invoice_payment":
        [payment] = qbo.documents("payment")
        assert payment["TxnDate"] == "2026-06-01"
        assert Decimal(str(sale["Balance"])) == Decimal("0.00")
    assert posting.external_id == sale["Id"]

    # Drained again (and the order posted again on purpose): nothing new in QuickBooks.
    posting_enqueue_orders(organization=org_a, order_ids=[order.pk])
    posting_drain(ledger_connection_id=ledger.pk)
    assert len(qbo.documents(entity)) == 1


def test_qbo_a_label_cost_in_closed_books_is_posted_on_the_first_open_day(
    org_a, qbo, qbo_settings, scope_a
):
    qbo.set_preferences(AccountingInfoPrefs={"BookCloseDate": "2026-05-31"})
    ledger = connect_ledger(org_a, qbo, post_on_first_open_day=True)
    order = _order(org_a)
    ShippingCostFactory(
        organization=org_a, connection=make_store_connection(org_a), order=order,
        create_date=MAY_20, ship_date=MAY_20.date(),
        cost=Decimal("6.10"),
    )  # fmt: skip
    _post(org_a, ledger, order)
    [expense] = qbo.documents("purchase")
    assert expense["TxnDate"] == "2026-06-01"
    assert Decimal(str(expense["TotalAmt"])) == Decimal("6.10")
    assert "Originally dated" in expense["PrivateNote"]
    assert {p.status for p in Posting.objects.all()} == {PostingState.POSTED}


def test_the_setting_is_on_the_settings_page_and_off_by_default(owner_client, org_a, qbo_ledger):
    from accounting.services.connections import ledger_catalog_refresh
    from tests.accounting.test_views import VALID

    with org_scope(qbo_ledger.organization_id):  # as the settings page calls it
        ledger_catalog_refresh(connection=qbo_ledger)
    settings_obj = PostingSettings.all_orgs.get(ledger_connection=qbo_ledger)
    assert settings_obj.post_on_first_open_day is False
    url = f"/o/{org_a.slug}/accounting/settings/"
    assert 'name="post_on_first_open_day"' in owner_client.get(url).content.decode()
    assert owner_client.post(url, dict(VALID, post_on_first_open_day="on")).status_code == 302
    settings_obj.refresh_from_db()
    assert settings_obj.post_on_first_open_day is True


def test_qbo_an_open_date_is_never_moved(org_a, qbo, qbo_settings, scope_a):
    qbo.set_preferences(AccountingInfoPrefs={"BookCloseDate": "2026-04-30"})
    ledger = connect_ledger(org_a, qbo, post_on_first_open_day=True)
    posting = _post(org_a, ledger, _order(org_a))
    assert posting.status == PostingState.POSTED, posting.error
    [sale] = qbo.documents("salesreceipt")
    assert sale["TxnDate"] == "2026-05-20"
    assert "Originally" not in sale["PrivateNote"]


def test_xero_a_sale_before_the_lock_date_is_posted_on_the_first_open_day(
    org_a, xero, xero_ledger, scope_a
):
    xero.set_lock_dates(period=date(2026, 5, 31), end_of_year=date(2025, 12, 31))
    PostingSettings.objects.filter(ledger_connection=xero_ledger).update(
        post_on_first_open_day=True
    )
    order = _order(org_a, number="7002")
    posting = _post(org_a, xero_ledger, order)
    assert posting.status == PostingState.POSTED, posting.error
    [invoice] = xero.documents("Invoices")
    assert parse_date(invoice["Date"]) == date(2026, 6, 1)
    assert "Originally dated 2026-05-20" in invoice["Reference"]
    assert invoice["Total"] == order.amount_paid
    assert invoice["Status"] == "PAID"
    [payment] = [p for p in xero.documents("Payments") if p["Status"] != "DELETED"]
    assert parse_date(payment["Date"]) == date(2026, 6, 1)


def test_xero_with_the_setting_off_the_sale_waits_and_is_not_sent_again(
    org_a, xero, xero_ledger, scope_a
):
    xero.set_lock_dates(period=date(2026, 5, 31))
    posting = _post(org_a, xero_ledger, _order(org_a, number="7003"))
    assert posting.status == PostingState.FAILED
    assert "lock date" in posting.error
    sent = len(xero.requests_log(DEFAULT_TENANT_ID))
    assert posting_drain(ledger_connection_id=xero_ledger.pk) == 0
    assert len(xero.requests_log(DEFAULT_TENANT_ID)) == sent
    assert xero.documents("Invoices") == []
