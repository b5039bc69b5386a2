"""Issue 17 item 16 (and issue 18 for Xero): the stand-ins refuse what the ledgers refuse
(QuickBooks: a deposit to an account that is not a bank or Undeposited Funds, an item on
Accounts Receivable: 6430; Xero: a payment to an account that takes none), Unify shows the
ledger's words on the posting, and the settings page offers each mapping only the account
types the ledger accepts there. Stand-ins over HTTP, PostgreSQL, the posting engine."""

from __future__ import annotations

import re

import pytest

from accounting.models import Posting, PostingSettings
from accounting.services import posting_enqueue_orders
from accounting.services.connections import ledger_catalog_refresh
from accounting.services.engine import posting_drain
from sandbox.xero import DEFAULT_TENANT_ID as T
from tests.accounting.factories import make_order
from tests.accounting.xero_support import xero_account
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db


def _post_one(org, ledger, **settings) -> Posting:
    PostingSettings.all_orgs.filter(ledger_connection=ledger).update(**settings)
    order = make_order(org, lines=[("TYPE-1", "Thing", 1, "10.00", False)])
    with org_scope(org.pk):
        posting_enqueue_orders(organization=org, order_ids=[order.pk])
        posting_drain(ledger_connection_id=ledger.pk)
        return Posting.objects.get(order=order, kind="sale")


def _options(page: str, name: str) -> set[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select, name
    return set(re.findall(r'<option value="([^"]+)"', select.group(1)))


@pytest.mark.parametrize("document_type", ["sales_receipt", "invoice_payment"])
def test_qbo_refuses_a_deposit_to_an_account_that_is_not_a_bank(
    org_a, qbo, qbo_ledger, document_type
):
    posting = _post_one(
        org_a, qbo_ledger, document_type=document_type, deposit_account_id="79"
    )  # Sales of Product Income

    assert posting.status == "failed"
    assert "Invalid account type" in posting.error
    assert qbo.count("SalesReceipt") == 0 and qbo.count("Payment") == 0


def test_qbo_refuses_an_item_on_accounts_receivable_with_6430(org_a, qbo, qbo_ledger):
    posting = _post_one(org_a, qbo_ledger, product_income_account_id="84")  # A/R

    assert posting.status == "failed"
    assert "Invalid account type" in posting.error
    assert "product or service" in posting.error
    assert not [i for i in qbo.documents("item") if i.get("Sku") == "TYPE-1"]


def test_qbo_deposit_to_undeposited_funds_or_a_bank_posts(org_a, qbo, qbo_ledger):
    for account in ("4", "35"):
        posting = _post_one(org_a, qbo_ledger, deposit_account_id=account)
        assert posting.status == "posted"
        receipt = qbo.document("salesreceipt", posting.external_id)
        assert receipt["DepositToAccountRef"]["value"] == account


def test_xero_refuses_a_payment_to_an_account_that_takes_none(org_a, xero, xero_ledger):
    posting = _post_one(org_a, xero_ledger, deposit_account_id=xero_account("sales", T))

    assert posting.status == "failed"
    assert "Account type is invalid for making a payment to/from" in posting.error
    assert xero.count("Payments", T) == 0


def test_qbo_settings_offer_only_the_account_types_quickbooks_accepts(
    owner_client, org_a, qbo_ledger
):
    with org_scope(qbo_ledger.organization_id):  # as the settings page calls it
        ledger_catalog_refresh(connection=qbo_ledger)
    page = owner_client.get(f"/o/{org_a.slug}/accounting/settings/").content.decode()

    deposit = _options(page, "deposit_account_id")
    assert {"4", "35", "36"} <= deposit  # Undeposited Funds, Checking, Savings
    assert not deposit & {"79", "84", "90", "41"}  # income, A/R, expense, credit card
    income = _options(page, "product_income_account_id")
    assert {"79", "83"} <= income and not income & {"4", "35", "84", "90"}
    expense = _options(page, "shipping_expense_account_id")
    assert {"90", "80"} <= expense and not expense & {"79", "35"}
    assert _options(page, "label_payment_account_id") >= {"35", "41"}
    assert not _options(page, "label_payment_account_id") & {"4", "79", "90"}
    assert not _options(page, "reconciliation_account_id") & {"84", "33"}
    assert "a type the ledger refuses" not in page


def test_qbo_settings_name_a_saved_mapping_of_the_wrong_type(owner_client, org_a, qbo_ledger):
    with org_scope(qbo_ledger.organization_id):  # as the settings page calls it
        ledger_catalog_refresh(connection=qbo_ledger)
    PostingSettings.all_orgs.filter(ledger_connection=qbo_ledger).update(deposit_account_id="79")
    page = owner_client.get(f"/o/{org_a.slug}/accounting/settings/").content.decode()
    assert "a type the ledger refuses" in page


def test_xero_settings_offer_deposits_only_to_accounts_that_take_payments(
    owner_client, org_a, xero, xero_ledger
):
    with org_scope(xero_ledger.organization_id):  # as the settings page calls it
        ledger_catalog_refresh(connection=xero_ledger)
    page = owner_client.get(f"/o/{org_a.slug}/accounting/settings/").content.decode()

    deposit = _options(page, "deposit_account_id")
    assert {xero_account("bank", T), xero_account("clearing", T)} <= deposit
    assert xero_account("sales", T) not in deposit
    assert xero_account("freight", T) not in deposit
    income = _options(page, "product_income_account_id")
    assert xero_account("sales", T) in income and xero_account("bank", T) not in income
    assert _options(page, "label_payment_account_id") >= {xero_account("bank", T)}
    assert xero_account("clearing", T) not in _options(page, "label_payment_account_id")
