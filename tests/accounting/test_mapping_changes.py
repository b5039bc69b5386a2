"""Issue 17 item 8 (and issue 18 for Xero): changing the shipping, tax, discount or
reconciliation mapping on the settings page applies to every posting built afterwards; a
document already posted keeps its accounts. A merchant's existing "Shipping" item is used
only when chosen, and the settings page shows which account it posts to. Real PostgreSQL,
stand-ins over HTTP, the posting engine."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounting.models import LedgerReference, Posting, PostingSettings
from accounting.services import posting_enqueue_orders
from accounting.services.connections import ledger_catalog_refresh, posting_settings_update
from accounting.services.engine import _Context, posting_drain
from sandbox.xero import DEFAULT_TENANT_ID as T
from tests.accounting.factories import make_order
from tests.accounting.xero_support import xero_account
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

MERCHANTS_SHIPPING_ITEM = "3"  # "Shipping" in the QBO stand-in's seed, on Shipping Income (83)


def _post(org, ledger, **order) -> Posting:
    defaults = {"lines": [("MAP-1", "Thing", 1, "20.00", False)], "shipping": "5.00"}
    made = make_order(org, **(defaults | order))
    with org_scope(org.pk):
        posting_enqueue_orders(organization=org, order_ids=[made.pk])
        posting_drain(ledger_connection_id=ledger.pk)
        posting = Posting.objects.get(order=made, kind="sale")
    assert posting.status == "posted", posting.error
    return posting


def _change(ledger, **values) -> None:
    ps = PostingSettings.all_orgs.get(ledger_connection=ledger)
    with org_scope(ledger.organization_id):  # as the settings page calls it
        posting_settings_update(posting_settings=ps, values=values)


def _qbo_line_accounts(qbo, receipt_id: str) -> dict[str, str]:
    """Line description -> the account QuickBooks posts it to (the item's income account,
    or the discount line's own account)."""
    receipt = qbo.document("salesreceipt", receipt_id)
    accounts = {}
    for line in receipt["Line"]:
        if line.get("DetailType") == "SalesItemLineDetail":
            item = qbo.document("item", line["SalesItemLineDetail"]["ItemRef"]["value"])
            description = line.get("Description", "")
            if description.startswith("Reconciliation difference"):
                description = "Reconciliation difference"
            accounts[description] = item["IncomeAccountRef"]["value"]
        elif line.get("DetailType") == "DiscountLineDetail":
            accounts["discount"] = line["DiscountLineDetail"]["DiscountAccountRef"]["value"]
    return accounts


def test_qbo_changed_shipping_discount_and_reconciliation_accounts_apply_to_the_next_posting(
    org_a, qbo, qbo_ledger
):
    _change(qbo_ledger, reconciliation_enabled=True)
    discounted = {
        "lines": [("MAP-1", "Thing", 1, "20.00", False), (None, "SAVE2", 1, "-2.00", True)]
    }
    first = _post(org_a, qbo_ledger, paid="23.50", **discounted)  # 0.50 short: reconciliation
    before = _qbo_line_accounts(qbo, first.external_id)
    assert (before["Shipping"], before["discount"]) == ("83", "86")
    assert before["Reconciliation difference"] == "92"

    _change(
        qbo_ledger,
        shipping_income_account_id="93",  # Uncategorized Income
        discount_account_id="93",
        reconciliation_account_id="94",  # Uncategorized Expense
    )
    second = _post(org_a, qbo_ledger, paid="23.50", **discounted)
    after = _qbo_line_accounts(qbo, second.external_id)
    assert (after["Shipping"], after["discount"], after["Reconciliation difference"]) == (
        "93",
        "93",
        "94",
    )
    # The document already posted is not changed by a mapping change.
    assert _qbo_line_accounts(qbo, first.external_id) == before

    # Back to the first mapping: the earlier item is found again, not made twice.
    items_before = qbo.count("Item")
    _change(qbo_ledger, shipping_income_account_id="83")
    third = _post(org_a, qbo_ledger)
    assert _qbo_line_accounts(qbo, third.external_id)["Shipping"] == "83"
    assert qbo.count("Item") == items_before


def test_qbo_changed_tax_account_applies_to_the_next_posting(org_a, qbo, qbo_ledger):
    qbo.add_document(
        "Account",
        {"Name": "State Tax Payable", "AccountType": "Other Current Liability"},
    )
    (new_tax,) = [a["Id"] for a in qbo.documents("account") if a["Name"] == "State Tax Payable"]
    first = _post(org_a, qbo_ledger, tax="1.60")
    assert _qbo_line_accounts(qbo, first.external_id)["Sales tax"] == "89"

    _change(qbo_ledger, tax_liability_account_id=new_tax)
    second = _post(org_a, qbo_ledger, tax="1.60")
    assert _qbo_line_accounts(qbo, second.external_id)["Sales tax"] == new_tax
    assert _qbo_line_accounts(qbo, first.external_id)["Sales tax"] == "89"


def test_qbo_merchants_shipping_item_is_used_only_when_chosen(owner_client, org_a, qbo, qbo_ledger):
    posting = _post(org_a, qbo_ledger)
    receipt = qbo.document("salesreceipt", posting.external_id)
    shipping_items = [
        line["SalesItemLineDetail"]["ItemRef"]["value"]
        for line in receipt["Line"]
        if line.get("Description") == "Shipping"
    ]
    assert shipping_items and shipping_items[0] != MERCHANTS_SHIPPING_ITEM
    own = qbo.document("item", shipping_items[0])
    assert own["Name"] == "Shipping (Shipping Income)"
    assert own["IncomeAccountRef"]["value"] == "83"

    with org_scope(qbo_ledger.organization_id):  # as the settings page calls it
        ledger_catalog_refresh(connection=qbo_ledger)
    url = f"/o/{org_a.slug}/accounting/settings/"
    page = owner_client.get(url).content.decode()
    assert 'name="shipping_item_id"' in page
    assert f'<option value="{MERCHANTS_SHIPPING_ITEM}">Shipping → Shipping Income</option>' in page
    assert "is used only when chosen here" in page

    _change(qbo_ledger, shipping_item_id=MERCHANTS_SHIPPING_ITEM)
    page = owner_client.get(url).content.decode()
    assert "to this item&#x27;s income account, “Shipping Income”" in page
    chosen = _post(org_a, qbo_ledger)
    receipt = qbo.document("salesreceipt", chosen.external_id)
    assert [
        line["SalesItemLineDetail"]["ItemRef"]["value"]
        for line in receipt["Line"]
        if line.get("Description") == "Shipping"
    ] == [MERCHANTS_SHIPPING_ITEM]


def test_a_running_drain_reads_settings_saved_meanwhile_and_forgets_stale_items(
    org_a, qbo, qbo_ledger
):
    _post(org_a, qbo_ledger)  # remembers "item:shipping"
    with org_scope(org_a.pk):
        ctx = _Context(qbo_ledger)
        assert ctx.settings.shipping_income_account_id == "83"
        assert "item:shipping" in ctx.refs

        _change(qbo_ledger, shipping_income_account_id="93")
        assert not LedgerReference.all_orgs.filter(
            ledger_connection=qbo_ledger, key="item:shipping"
        ).exists()
        ctx.refresh_settings()
        assert ctx.settings.shipping_income_account_id == "93"
        assert "item:shipping" not in ctx.refs


def test_xero_changed_shipping_discount_and_tax_accounts_apply_to_the_next_posting(
    org_a, xero, xero_ledger
):
    discounted = {
        "lines": [("MAP-1", "Thing", 1, "20.00", False), (None, "SAVE2", 1, "-2.00", True)]
    }

    def codes(posting) -> dict[str, str]:
        (invoice,) = [
            i for i in xero.documents("Invoices") if i["InvoiceID"] == posting.external_id
        ]
        return {line["Description"]: line.get("AccountCode", "") for line in invoice["LineItems"]}

    first = _post(org_a, xero_ledger, tax="1.60", **discounted)
    before = codes(first)
    assert (before["Shipping"], before["SAVE2"], before["Sales tax"]) == ("210", "280", "820")

    _change(
        xero_ledger,
        shipping_income_account_id=xero_account("sales", T),  # 200
        discount_account_id=xero_account("sales", T),
        tax_liability_account_id=_xero_account_id(xero, "830"),  # Income Tax Payable
    )
    second = _post(org_a, xero_ledger, tax="1.60", **discounted)
    after = codes(second)
    assert (after["Shipping"], after["SAVE2"], after["Sales tax"]) == ("200", "200", "830")
    assert codes(first) == before
    assert sum(Decimal(str(i["Total"])) for i in xero.documents("Invoices")) == Decimal("49.20")


def _xero_account_id(xero, code: str) -> str:
    (account,) = [a for a in xero.documents("Accounts") if a["Code"] == code]
    return account["AccountID"]
