"""Business rules: Intuit's fault codes and shapes, and totals computed from the lines."""

from __future__ import annotations

from decimal import Decimal

import pytest
from quickbooks.exceptions import QuickbooksException, ValidationException
from quickbooks.objects import Customer, Invoice, JournalEntry, SalesReceipt, Vendor
from quickbooks.objects.detailline import DiscountLine, DiscountLineDetail
from quickbooks.objects.tax import TxnTaxDetail

from sandbox.qbo import ACCOUNT_IDS, ITEM_IDS, SHIPPING_ITEM_ID

from .conftest import quickbooks_class
from .test_entities import journal_line, ref, sales_line


def _fault(answer) -> dict:
    body = answer.json()
    assert answer.status_code == 400
    assert set(body) == {"Fault", "time"}
    assert body["Fault"]["type"] == "ValidationFault"
    (error,) = body["Fault"]["Error"]
    assert set(error) == {"Message", "Detail", "code", "element"}
    return error


def test_duplicate_customer_name_is_6240(qbo, qb, api):
    first = Customer()
    first.DisplayName = "Jane Doe"
    saved = first.save(qb=qb)
    second = Customer()
    second.DisplayName = "jane doe"
    with pytest.raises(QuickbooksException) as excinfo:
        second.save(qb=qb)
    assert excinfo.value.error_code == 6240
    assert excinfo.value.message == "Duplicate Name Exists Error"
    assert f"Id={saved.Id}" in excinfo.value.detail
    assert qbo.count("Customer") == 4  # three seeded, one created
    error = _fault(api.post(api.url("customer"), json={"DisplayName": "Jane Doe"}))
    assert error["code"] == "6240"


def test_customer_and_vendor_share_one_namespace(qbo, qb):
    vendor = Vendor()
    vendor.DisplayName = "USPS"
    with pytest.raises(QuickbooksException) as excinfo:
        Customer.from_json({"DisplayName": "USPS"}).save(qb=qb)
    assert excinfo.value.error_code == 6240
    with pytest.raises(QuickbooksException):
        vendor.save(qb=qb)


def test_stale_sync_token_is_5010_and_changes_nothing(qbo, qb):
    customer = Customer()
    customer.DisplayName = "Sam Stale"
    saved = customer.save(qb=qb)
    first = Customer.get(saved.Id, qb=qb)
    second = Customer.get(saved.Id, qb=qb)
    first.CompanyName = "First Co"
    first.save(qb=qb)
    second.CompanyName = "Second Co"
    with pytest.raises(QuickbooksException) as excinfo:
        second.save(qb=qb)
    assert excinfo.value.error_code == 5010
    assert excinfo.value.message == "Stale Object Error"
    stored = qbo.document("Customer", saved.Id)
    assert (stored["CompanyName"], stored["SyncToken"]) == ("First Co", "1")


def test_doc_number_longer_than_21_is_refused(qbo, qb):
    receipt = SalesReceipt()
    receipt.DocNumber = "X" * 22
    receipt.Line = [sales_line(ITEM_IDS["Sales"], 1, 1, 1)]
    with pytest.raises(ValidationException) as excinfo:
        receipt.save(qb=qb)
    assert excinfo.value.error_code == 2050
    assert "Max:21 supplied:22" in excinfo.value.detail
    assert qbo.count("SalesReceipt") == 0
    receipt.DocNumber = "X" * 21
    assert receipt.save(qb=qb).DocNumber == "X" * 21


def test_duplicate_doc_number_is_6140_when_the_company_checks(qbo, qb):
    first = SalesReceipt()
    first.DocNumber = "SS-1001"
    first.Line = [sales_line(ITEM_IDS["Sales"], 1, 1, 1)]
    saved = first.save(qb=qb)
    again = SalesReceipt()
    again.DocNumber = "SS-1001"
    again.Line = [sales_line(ITEM_IDS["Sales"], 1, 1, 1)]
    with pytest.raises(QuickbooksException) as excinfo:
        again.save(qb=qb)
    assert excinfo.value.error_code == 6140
    assert f"TxnId={saved.Id}" in excinfo.value.detail
    assert qbo.count("SalesReceipt") == 1
    qbo.set_duplicate_doc_number_check(False)
    assert again.save(qb=qb).DocNumber == "SS-1001"
    assert qbo.count("SalesReceipt") == 2


def test_without_custom_numbers_qbo_numbers_the_sales_forms(qbo, qb):
    qbo.set_preferences(SalesFormsPrefs={"CustomTxnNumbers": False})
    numbers = []
    for _ in range(2):
        receipt = SalesReceipt()
        receipt.Line = [sales_line(ITEM_IDS["Sales"], 1, 1, 1)]
        numbers.append(receipt.save(qb=qb).DocNumber)
    assert numbers == ["1001", "1002"]


def test_unbalanced_journal_entry_is_refused(qbo, qb):
    entry = JournalEntry()
    entry.Line = [
        journal_line("Debit", ACCOUNT_IDS["Undeposited Funds"], "100.00"),
        journal_line("Credit", ACCOUNT_IDS["Sales of Product Income"], "99.99"),
    ]
    with pytest.raises(QuickbooksException) as excinfo:
        entry.save(qb=qb)
    assert excinfo.value.error_code == 6000
    assert "balanced" in excinfo.value.detail
    assert qbo.count("JournalEntry") == 0


def test_journal_line_on_receivables_needs_a_customer(qbo, qb):
    entry = JournalEntry()
    entry.Line = [
        journal_line("Debit", ACCOUNT_IDS["Accounts Receivable (A/R)"], "5.00"),
        journal_line("Credit", ACCOUNT_IDS["Sales of Product Income"], "5.00"),
    ]
    with pytest.raises(QuickbooksException) as excinfo:
        entry.save(qb=qb)
    assert excinfo.value.error_code == 6000


def test_required_parameter_missing_is_2020(qbo, api):
    error = _fault(api.post(api.url("salesreceipt"), json={"CustomerRef": {"value": "1"}}))
    assert (error["code"], error["element"]) == ("2020", "Line")
    assert error["Detail"] == "Required parameter Line is missing in the request"
    error = _fault(
        api.post(
            api.url("invoice"),
            json={"Line": [{"Amount": 1, "DetailType": "SalesItemLineDetail"}]},
        )
    )
    assert (error["code"], error["element"]) == ("2020", "CustomerRef")
    error = _fault(api.post(api.url("purchase"), json={"AccountRef": {"value": "42"}}))
    assert (error["code"], error["element"]) == ("2020", "PaymentType")


def test_reference_to_nothing_is_2500(qbo, api):
    body = {
        "CustomerRef": {"value": "4242"},
        "Line": [{"Amount": 1, "DetailType": "SalesItemLineDetail"}],
    }
    error = _fault(api.post(api.url("salesreceipt"), json=body))
    assert (error["code"], error["Message"]) == ("2500", "Invalid Reference Id")
    assert qbo.count("SalesReceipt") == 0


def test_line_amount_must_be_unit_price_times_qty(qbo, api):
    body = {
        "Line": [
            {
                "Amount": "20.01",
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 2, "UnitPrice": 10},
            }
        ]
    }
    error = _fault(api.post(api.url("salesreceipt"), json=body))
    assert error["code"] == "6070"


def test_invalid_json_is_2010(qbo, api):
    answer = api.post(
        api.url("customer"), data=b'{"DisplayName": ', headers={"Content-Type": "application/json"}
    )
    assert _fault(answer)["code"] == "2010"


def _decimal_qb(qbo, qb):
    client = quickbooks_class(qbo)(
        auth_client=qb.auth_client,
        refresh_token=qb.refresh_token,
        company_id=qbo.realm_id,
        minorversion=75,
        use_decimal=True,
    )
    return client


def test_total_is_computed_from_lines_discounts_shipping_and_tax(qbo, qb):
    client = _decimal_qb(qbo, qb)
    receipt = SalesReceipt()
    receipt.CustomerRef = ref("1")
    receipt.DocNumber = "SS-2002"
    receipt.TotalAmt = Decimal("1.00")  # ignored: QBO computes it
    discount = DiscountLine()
    discount.Amount = Decimal("5.00")
    discount.DiscountLineDetail = DiscountLineDetail()
    discount.DiscountLineDetail.DiscountAccountRef = ref(ACCOUNT_IDS["Discounts given"])
    tax = TxnTaxDetail()
    tax.TotalTax = Decimal("3.47")
    receipt.TxnTaxDetail = tax
    receipt.Line = [
        sales_line(ITEM_IDS["Sales"], Decimal("3"), Decimal("19.99"), Decimal("59.97")),
        sales_line(ITEM_IDS["Sales"], Decimal("1"), Decimal("0"), Decimal("0")),  # free gift
        discount,
        sales_line(SHIPPING_ITEM_ID, 0, 0, Decimal("6.95")),
    ]
    saved = receipt.save(qb=client)
    # 59.97 + 0 - 5.00 + 6.95 + 3.47
    assert saved.TotalAmt == Decimal("65.39")
    stored = qbo.document("SalesReceipt", saved.Id)
    assert stored["TotalAmt"] == Decimal("65.39")
    assert stored["TxnTaxDetail"]["TotalTax"] == Decimal("3.47")
    kinds = [(line["DetailType"], line["Amount"]) for line in stored["Line"]]
    assert kinds == [
        ("SalesItemLineDetail", Decimal("59.97")),
        ("SalesItemLineDetail", Decimal("0.00")),
        ("SubTotalLineDetail", Decimal("59.97")),
        ("DiscountLineDetail", Decimal("5.00")),
        ("SalesItemLineDetail", Decimal("6.95")),
    ]
    assert stored["Line"][4]["SalesItemLineDetail"]["ItemRef"] == {"value": SHIPPING_ITEM_ID}
    assert stored["Line"][0]["SalesItemLineDetail"]["ItemAccountRef"]["name"] == (
        "Sales of Product Income"
    )


def test_percent_discount_and_tax_inclusive(qbo, api):
    body = {
        "GlobalTaxCalculation": "TaxInclusive",
        "TxnTaxDetail": {"TotalTax": "1.50"},
        "Line": [
            {
                "Amount": "40.00",
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 4, "UnitPrice": "10"},
            },
            {
                "DetailType": "DiscountLineDetail",
                "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": "12.5"},
            },
        ],
    }
    answer = api.post(api.url("invoice"), json={**body, "CustomerRef": {"value": "1"}})
    invoice = answer.json()["Invoice"]
    # 40.00 - 12.5% = 35.00; the tax is inside the line amounts.
    assert invoice["TotalAmt"] == 35.0
    assert invoice["Balance"] == 35.0
    assert '"TotalAmt":35.00' in answer.text  # a JSON number with the cents, never a string


def test_shipping_item_id_needs_the_shipping_preference(qbo, qb):
    qbo.set_preferences(SalesFormsPrefs={"AllowShipping": False})
    invoice = Invoice()
    invoice.CustomerRef = ref("1")
    invoice.Line = [sales_line(SHIPPING_ITEM_ID, 0, 0, "4.00")]
    with pytest.raises(QuickbooksException) as excinfo:
        invoice.save(qb=qb)
    assert excinfo.value.error_code == 6000
    invoice.Line = [sales_line(ITEM_IDS["Shipping"], 1, "4.00", "4.00")]
    assert invoice.save(qb=qb).TotalAmt == 4.0


def test_line_without_item_gets_the_services_item(qbo, api):
    answer = api.post(
        api.url("salesreceipt"),
        json={"Line": [{"Amount": 12, "DetailType": "SalesItemLineDetail"}]},
    )
    line = answer.json()["SalesReceipt"]["Line"][0]
    assert line["SalesItemLineDetail"]["ItemRef"] == {"value": "1", "name": "Services"}
