"""Issue 17, item 13: QuickBooks Online's automated sales tax (AST). An AST company computes
tax from the ship-to address for a sale that does not state it and taxes lines without a tax
code by their item; Unify states the ship-to address, TAX/NON on every line and the tax
ShipStation reports (0.00 when none), so the stored sale is what the buyer paid, in an AST
company and in one without AST alike. QBO stand-in over HTTP, PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounting.models import Posting, PostingState
from accounting.services import posting_enqueue_orders
from accounting.services.engine import posting_drain
from tests.accounting.conftest import connect_ledger
from tests.accounting.factories import make_order

pytestmark = pytest.mark.django_db

SHIP_TO_NY = {
    "name": "Ada Buyer",
    "street1": "1 Main St",
    "city": "Albany",
    "state": "NY",
    "postalCode": "12207",
    "country": "US",
}


def _post(org, qbo, *, document_type, ast, tax, **settings):
    qbo.set_preferences(TaxPrefs={"UsingSalesTax": True, "PartnerTaxEnabled": ast})
    ledger = connect_ledger(org, qbo, document_type=document_type, **settings)
    order = make_order(
        org,
        lines=[("MUG-1", "Mug", 2, "12.50", False), ("CAP-1", "Cap", 1, "10.00", False)],
        shipping="5.00",
        tax=tax,
        ship_to=SHIP_TO_NY,
    )
    posting_enqueue_orders(organization=org, order_ids=[order.pk])
    posting_drain(ledger_connection_id=ledger.pk)
    posting = Posting.objects.get(order=order)
    assert posting.status == PostingState.POSTED, posting.error
    return order, posting


def _stored(qbo, document_type, posting):
    entity = "salesreceipt" if document_type == "sales_receipt" else "invoice"
    return qbo.document(entity, posting.external_id)


@pytest.mark.parametrize("document_type", ["sales_receipt", "invoice_payment"])
@pytest.mark.parametrize("ast", [True, False], ids=["ast", "no-ast"])
@pytest.mark.parametrize("tax", ["0", "3.20"], ids=["untaxed", "taxed"])
def test_the_stored_sale_is_what_the_buyer_paid(
    org_a, qbo, qbo_settings, scope_a, document_type, ast, tax
):
    order, posting = _post(
        org_a, qbo, document_type=document_type, ast=ast, tax=tax, default_tax_code_id="TAX"
    )
    sale = _stored(qbo, document_type, posting)
    assert Decimal(str(sale["TotalAmt"])) == order.amount_paid
    assert Decimal(str(sale["TxnTaxDetail"]["TotalTax"])) == Decimal(tax)
    # TAX/NON are line codes: never the transaction's.
    assert "TxnTaxCodeRef" not in sale["TxnTaxDetail"]
    assert sale["ShipAddr"]["CountrySubDivisionCode"] == "NY"
    assert sale["ShipAddr"]["PostalCode"] == "12207"
    codes = {
        line.get("Description"): line["SalesItemLineDetail"]["TaxCodeRef"]["value"]
        for line in sale["Line"]
        if line["DetailType"] == "SalesItemLineDetail"
    }
    sold = "TAX" if tax != "0" else "NON"
    assert codes == {"Mug": sold, "Cap": sold, "Shipping": "NON"}
    if document_type == "invoice_payment":
        assert Decimal(str(sale["Balance"])) == Decimal("0.00")


def test_tax_without_a_tax_code_is_one_line_and_quickbooks_adds_none(
    org_a, qbo, qbo_settings, scope_a
):
    """No tax code mapped: the tax is a line on the liability account; the sale states 0.00
    tax and every line NON, so an AST company does not tax it a second time."""
    order, posting = _post(org_a, qbo, document_type="sales_receipt", ast=True, tax="3.20")
    sale = _stored(qbo, "sales_receipt", posting)
    assert Decimal(str(sale["TotalAmt"])) == order.amount_paid == Decimal("43.20")
    assert Decimal(str(sale["TxnTaxDetail"]["TotalTax"])) == Decimal("0.00")
    assert {
        line["SalesItemLineDetail"]["TaxCodeRef"]["value"]
        for line in sale["Line"]
        if line["DetailType"] == "SalesItemLineDetail"
    } == {"NON"}
