"""The stand-in as a US QuickBooks Online company with automated sales tax (AST) and as one
without (``Preferences.TaxPrefs.PartnerTaxEnabled``), over HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sandbox.qbo import ITEM_IDS

NY = {"Line1": "1 Main St", "City": "Albany", "CountrySubDivisionCode": "NY", "PostalCode": "1"}


def _item(api, taxable=None) -> str:
    body = {"Name": f"Thing {taxable}", "Type": "NonInventory", "IncomeAccountRef": {"value": "79"}}
    if taxable is not None:
        body["Taxable"] = taxable
    return api.post(api.url("item"), json=body).json()["Item"]["Id"]


def _receipt(api, item_id, *, code=None, tax=None, ship=None, amount="100.00"):
    detail = {"ItemRef": {"value": item_id}, "Qty": 1, "UnitPrice": amount}
    if code:
        detail["TaxCodeRef"] = {"value": code}
    body = {
        "Line": [
            {"DetailType": "SalesItemLineDetail", "Amount": amount, "SalesItemLineDetail": detail}
        ]
    }
    if tax is not None:
        body["TxnTaxDetail"] = tax
    if ship:
        body["ShipAddr"] = ship
    return api.post(api.url("salesreceipt"), json=body)


def _total(answer) -> tuple[Decimal, Decimal]:
    assert answer.status_code == 200, answer.text
    receipt = answer.json()["SalesReceipt"]
    return Decimal(str(receipt["TotalAmt"])), Decimal(str(receipt["TxnTaxDetail"]["TotalTax"]))


def test_ast_taxes_a_sale_that_states_no_tax_by_its_ship_to_address(qbo, api):
    created = _item(api)  # an API-made item is taxable in an AST company
    assert qbo.document("item", created)["Taxable"] is True
    assert _total(_receipt(api, created, ship=NY)) == (Decimal("104.00"), Decimal("4.00"))
    # No ship-to: the company's own address (California) is the destination.
    assert _total(_receipt(api, created)) == (Decimal("107.25"), Decimal("7.25"))
    # A line stated NON, or an item that is not taxable, is not taxed.
    assert _total(_receipt(api, created, code="NON", ship=NY))[1] == Decimal("0.00")
    assert _total(_receipt(api, ITEM_IDS["Services"], ship=NY))[1] == Decimal("0.00")
    assert _total(_receipt(api, _item(api, taxable=False), ship=NY))[1] == Decimal("0.00")


def test_ast_honours_a_stated_total_tax_zero_included(qbo, api):
    created = _item(api)
    stated = {"TotalTax": "0.00"}
    assert _total(_receipt(api, created, tax=stated, ship=NY)) == (Decimal("100.00"), 0)
    stated = {"TotalTax": "8.50"}
    assert _total(_receipt(api, created, code="TAX", tax=stated, ship=NY))[1] == Decimal("8.50")


def test_a_company_without_ast_adds_no_tax_of_its_own(qbo, api):
    qbo.set_preferences(TaxPrefs={"UsingSalesTax": True, "PartnerTaxEnabled": False})
    created = _item(api)
    assert qbo.document("item", created)["Taxable"] is False
    assert _total(_receipt(api, created, code="TAX", ship=NY)) == (Decimal("100.00"), 0)
    stated = {"TotalTax": "3.00"}
    assert _total(_receipt(api, created, code="TAX", tax=stated)) == (Decimal("103.00"), 3)


@pytest.mark.parametrize("code", ["TAX", "NON"])
def test_tax_and_non_are_refused_as_the_transaction_code(qbo, api, code):
    answer = _receipt(api, _item(api), tax={"TxnTaxCodeRef": {"value": code}, "TotalTax": "1"})
    assert answer.status_code == 400
    [error] = answer.json()["Fault"]["Error"]
    assert error["element"] == "TxnTaxDetail.TxnTaxCodeRef"
    assert qbo.documents("salesreceipt") == []
