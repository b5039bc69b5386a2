"""Create, read, update and query every entity through python-quickbooks itself."""

from __future__ import annotations

from decimal import Decimal

import pytest
from quickbooks.exceptions import ObjectNotFoundException, QuickbooksException
from quickbooks.objects import (
    Account,
    Bill,
    CompanyInfo,
    Customer,
    Invoice,
    Item,
    JournalEntry,
    Payment,
    PaymentMethod,
    Preferences,
    Purchase,
    SalesReceipt,
    TaxCode,
    Vendor,
)
from quickbooks.objects.base import LinkedTxn, Ref
from quickbooks.objects.detailline import (
    AccountBasedExpenseLine,
    AccountBasedExpenseLineDetail,
    SalesItemLine,
    SalesItemLineDetail,
)
from quickbooks.objects.journalentry import JournalEntryLine, JournalEntryLineDetail
from quickbooks.objects.payment import PaymentLine

from sandbox.qbo import ACCOUNT_IDS, ITEM_IDS, VENDOR_IDS


def ref(value: str, kind: str = "") -> Ref:
    r = Ref()
    r.value = value
    r.type = kind
    return r


def sales_line(item_id: str, qty, price, amount) -> SalesItemLine:
    line = SalesItemLine()
    line.Amount = amount
    detail = SalesItemLineDetail()
    detail.ItemRef = ref(item_id)
    detail.Qty = qty
    detail.UnitPrice = price
    line.SalesItemLineDetail = detail
    return line


def expense_line(account_id: str, amount) -> AccountBasedExpenseLine:
    line = AccountBasedExpenseLine()
    line.Amount = amount
    detail = AccountBasedExpenseLineDetail()
    detail.AccountRef = ref(account_id)
    line.AccountBasedExpenseLineDetail = detail
    return line


def journal_line(posting: str, account_id: str, amount) -> JournalEntryLine:
    line = JournalEntryLine()
    line.Amount = amount
    detail = JournalEntryLineDetail()
    detail.PostingType = posting
    detail.AccountRef = ref(account_id)
    line.JournalEntryLineDetail = detail
    return line


def test_company_info_preferences_and_tax_codes(qbo, qb):
    info = CompanyInfo.get(qbo.realm_id, qb=qb)
    assert info.CompanyName == "Sandbox Company_US_1"
    assert info.Country == "US"
    prefs = Preferences.get(qb=qb)
    assert prefs.SalesFormsPrefs.AllowShipping is True
    assert prefs.SalesFormsPrefs.CustomTxnNumbers is True
    codes = {c.Id: c.Taxable for c in TaxCode.all(qb=qb)}
    assert codes == {"TAX": True, "NON": False}
    assert TaxCode.get("TAX", qb=qb).Name == "TAX"
    # TaxCode is read-only (the library has no save for it; the API refuses a create).
    with pytest.raises(QuickbooksException) as excinfo:
        qb.post(f"{qbo.api_base_url}/company/{qbo.realm_id}/taxcode", '{"Name": "X"}')
    assert excinfo.value.error_code == 500


def test_preferences_update_bumps_sync_token(qbo, qb):
    prefs = Preferences.get(qb=qb)
    token = prefs.SyncToken
    update = Preferences()
    update.SyncToken = token
    update.SalesFormsPrefs = {"AllowShipping": False}  # a plain dict serialises as-is
    saved = update.save(qb=qb)
    assert saved.SyncToken == str(int(token) + 1)
    assert qbo.company().preferences["SalesFormsPrefs"]["AllowShipping"] is False
    assert qbo.company().preferences["SalesFormsPrefs"]["CustomTxnNumbers"] is True


def test_seeded_chart_of_accounts_items_and_vendors(qbo, qb):
    accounts = {
        a.Name: (a.AccountType, a.Classification) for a in Account.all(qb=qb, max_results=1000)
    }
    assert accounts["Sales of Product Income"] == ("Income", "Revenue")
    assert accounts["Shipping Income"] == ("Income", "Revenue")
    assert accounts["Undeposited Funds"] == ("Other Current Asset", "Asset")
    assert accounts["Discounts given"] == ("Income", "Revenue")
    assert accounts["Sales Tax Payable"] == ("Other Current Liability", "Liability")
    assert accounts["Shipping and Postage"] == ("Expense", "Expense")
    assert accounts["Checking"] == ("Bank", "Asset")
    assert accounts["Visa"] == ("Credit Card", "Liability")
    assert accounts["Accounts Payable (A/P)"] == ("Accounts Payable", "Liability")
    assert {i.Name for i in Item.all(qb=qb)} >= {"Shipping", "Sales", "Services"}
    assert {v.DisplayName for v in Vendor.all(qb=qb)} >= {"ShipStation", "USPS", "UPS", "FedEx"}
    assert {m.Name for m in PaymentMethod.all(qb=qb)} >= {"Cash", "Visa", "PayPal"}


def test_account_crud(qbo, qb):
    account = Account()
    account.Name = "Amazon Clearing"
    account.AccountType = "Other Current Asset"
    saved = account.save(qb=qb)
    assert (saved.SyncToken, saved.Classification, saved.AccountSubType) == (
        "0",
        "Asset",
        "OtherCurrentAssets",
    )
    fetched = Account.get(saved.Id, qb=qb)
    fetched.Description = "Marketplace payouts"
    updated = fetched.save(qb=qb)
    assert updated.SyncToken == "1"
    assert updated.Description == "Marketplace payouts"
    assert [a.Id for a in Account.filter(Name="Amazon Clearing", qb=qb)] == [saved.Id]


def test_customer_crud_and_sparse_update(qbo, qb, api):
    customer = Customer()
    customer.GivenName = "Ada"
    customer.FamilyName = "Lovelace"
    saved = customer.save(qb=qb)
    assert saved.DisplayName == "Ada Lovelace"  # derived, as QBO does
    assert saved.SyncToken == "0"
    fetched = Customer.get(saved.Id, qb=qb)
    assert fetched.FullyQualifiedName == "Ada Lovelace"
    # A sparse update touches only the members it sends...
    answer = api.post(
        api.url("customer"),
        json={"Id": saved.Id, "SyncToken": "0", "sparse": True, "CompanyName": "Engines"},
        params={"minorversion": 75},
    )
    after = answer.json()["Customer"]
    assert (after["SyncToken"], after["CompanyName"], after["GivenName"]) == ("1", "Engines", "Ada")
    # ...but python-quickbooks sends every default ("" included), so its "sparse" object
    # clears GivenName exactly as Intuit would.
    sparse = Customer()
    sparse.Id = saved.Id
    sparse.SyncToken = "1"
    sparse.sparse = True
    sparse.CompanyName = "Analytical Engines"
    cleared = sparse.save(qb=qb)
    assert (cleared.SyncToken, cleared.CompanyName) == ("2", "Analytical Engines")
    assert "GivenName" not in qbo.document("Customer", saved.Id)
    full = Customer()
    full.Id = saved.Id
    full.SyncToken = "2"
    full.DisplayName = "Ada L."
    replaced = full.save(qb=qb)
    # A full update clears what it does not send.
    assert replaced.DisplayName == "Ada L."
    assert not hasattr(replaced, "GivenName") or replaced.GivenName in ("", None)
    found = Customer.where("DisplayName = 'Ada L.'", qb=qb)
    assert [c.Id for c in found] == [saved.Id]


def test_inactive_customer_is_renamed_hidden_from_queries_and_refused_as_reference(qbo, qb):
    customer = Customer()
    customer.DisplayName = "Gone Shopper"
    saved = customer.save(qb=qb)
    saved.Active = False
    inactive = saved.save(qb=qb)
    assert inactive.DisplayName == "Gone Shopper (deleted)"
    assert Customer.filter(DisplayName="Gone Shopper (deleted)", qb=qb) == []
    assert len(Customer.where("Active = false", qb=qb)) == 1
    receipt = SalesReceipt()
    receipt.CustomerRef = ref(saved.Id)
    receipt.Line = [sales_line(ITEM_IDS["Sales"], 1, 5, 5)]
    with pytest.raises(ObjectNotFoundException) as excinfo:
        receipt.save(qb=qb)
    assert excinfo.value.error_code == 610
    assert qbo.count("SalesReceipt") == 0


def test_vendor_crud(qbo, qb):
    vendor = Vendor()
    vendor.DisplayName = "DHL eCommerce"
    saved = vendor.save(qb=qb)
    saved.CompanyName = "DHL eCommerce Solutions"
    assert saved.save(qb=qb).SyncToken == "1"
    assert Vendor.get(saved.Id, qb=qb).CompanyName == "DHL eCommerce Solutions"
    assert [v.Id for v in Vendor.filter(DisplayName="DHL eCommerce", qb=qb)] == [saved.Id]


def test_item_crud_and_sku_query(qbo, qb):
    item = Item()
    item.Name = "Blue Widget"
    item.Type = "NonInventory"
    item.Sku = "BW-1"
    item.IncomeAccountRef = ref(ACCOUNT_IDS["Sales of Product Income"])
    saved = item.save(qb=qb)
    assert saved.IncomeAccountRef.name == "Sales of Product Income"
    saved.UnitPrice = 12.5
    assert saved.save(qb=qb).SyncToken == "1"
    assert [i.Name for i in Item.filter(Sku="BW-1", qb=qb)] == ["Blue Widget"]
    assert Item.get(saved.Id, qb=qb).UnitPrice == 12.5
    missing_income = Item()
    missing_income.Name = "No Account"
    missing_income.Type = "Service"
    with pytest.raises(QuickbooksException) as excinfo:
        missing_income.save(qb=qb)
    assert excinfo.value.error_code == 2020


def test_sales_receipt_crud(qbo, qb):
    receipt = SalesReceipt()
    receipt.CustomerRef = ref("1")
    receipt.DocNumber = "SS-1001"
    receipt.TxnDate = "2026-03-01"
    receipt.Line = [sales_line(ITEM_IDS["Sales"], 2, 10, 20)]
    saved = receipt.save(qb=qb)
    assert (saved.TotalAmt, saved.Balance, saved.SyncToken) == (20, 0, "0")
    assert saved.DepositToAccountRef.name == "Undeposited Funds"
    fetched = SalesReceipt.get(saved.Id, qb=qb)
    fetched.PrivateNote = "Order 1001"
    updated = fetched.save(qb=qb)
    assert (updated.SyncToken, updated.PrivateNote, updated.TotalAmt) == ("1", "Order 1001", 20)
    assert [r.Id for r in SalesReceipt.filter(DocNumber="SS-1001", qb=qb)] == [saved.Id]
    assert SalesReceipt.count(qb=qb) == 1


def test_invoice_and_payment(qbo, qb):
    invoice = Invoice()
    invoice.CustomerRef = ref("2")
    invoice.DocNumber = "INV-7"
    invoice.Line = [sales_line(ITEM_IDS["Sales"], 3, "4.50", "13.50")]
    saved = invoice.save(qb=qb)
    assert (saved.TotalAmt, saved.Balance) == (13.5, 13.5)
    payment = Payment()
    payment.CustomerRef = ref("2")
    payment.TotalAmt = 13.5
    line = PaymentLine()
    line.Amount = 13.5
    link = LinkedTxn()
    link.TxnId = saved.Id
    link.TxnType = "Invoice"
    line.LinkedTxn = [link]
    payment.Line = [line]
    paid = payment.save(qb=qb)
    assert (paid.TotalAmt, paid.UnappliedAmt) == (13.5, 0)
    after = Invoice.get(saved.Id, qb=qb)
    assert after.Balance == 0
    assert after.SyncToken == "1"
    assert after.LinkedTxn[0].TxnId == paid.Id
    assert [p.Id for p in Payment.filter(CustomerRef="2", qb=qb)] == [paid.Id]
    # Updating the payment down re-opens the invoice by the difference.
    fetched = Payment.get(paid.Id, qb=qb)
    fetched.TotalAmt = 10
    fetched.Line[0].Amount = 10
    assert fetched.save(qb=qb).SyncToken == "1"
    assert qbo.document("Invoice", saved.Id)["Balance"] == Decimal("3.50")


def test_invoice_total_change_and_sparse_payment_update_keep_the_balance(qbo, api):
    def write(entity, body):
        answer = api.post(api.url(entity), json=body, params={"minorversion": 75})
        return answer.json()

    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": "20.00",
        "SalesItemLineDetail": {"ItemRef": {"value": ITEM_IDS["Sales"]}, "Qty": 2, "UnitPrice": 10},
    }
    invoice = write("invoice", {"CustomerRef": {"value": "2"}, "Line": [line]})["Invoice"]
    payment = write(
        "payment",
        {
            "CustomerRef": {"value": "2"},
            "TotalAmt": "20.00",
            "Line": [
                {"Amount": "20.00", "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
            ],
        },
    )["Payment"]
    # Below what is applied to it: refused, nothing changed.
    smaller = dict(line, Amount="10.00")
    smaller["SalesItemLineDetail"] = dict(line["SalesItemLineDetail"], Qty=1)
    current = qbo.document("Invoice", invoice["Id"])
    refused = write(
        "invoice",
        {
            "Id": invoice["Id"],
            "SyncToken": current["SyncToken"],
            "CustomerRef": {"value": "2"},
            "Line": [smaller],
        },
    )
    assert refused["Fault"]["Error"][0]["code"] == "6000"
    assert qbo.document("Invoice", invoice["Id"])["TotalAmt"] == Decimal("20.00")
    # Larger: the invoice opens by the difference, a sparse payment update closes it again.
    larger = dict(line, Amount="30.00")
    larger["SalesItemLineDetail"] = dict(line["SalesItemLineDetail"], Qty=3)
    current = qbo.document("Invoice", invoice["Id"])
    write(
        "invoice",
        {
            "Id": invoice["Id"],
            "SyncToken": current["SyncToken"],
            "CustomerRef": {"value": "2"},
            "Line": [larger],
        },
    )
    assert qbo.document("Invoice", invoice["Id"])["Balance"] == Decimal("10.00")
    updated = write(
        "payment",
        {
            "Id": payment["Id"],
            "SyncToken": payment["SyncToken"],
            "sparse": True,
            "TotalAmt": "30.00",
            "Line": [
                {"Amount": "30.00", "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
            ],
        },
    )["Payment"]
    assert (updated["SyncToken"], updated["TotalAmt"], updated["UnappliedAmt"]) == ("1", 30, 0)
    assert updated["CustomerRef"]["value"] == "2"  # kept from the stored payment
    after = qbo.document("Invoice", invoice["Id"])
    assert (after["TotalAmt"], after["Balance"]) == (Decimal("30.00"), Decimal("0.00"))
    assert after["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    assert qbo.count("Payment") == 1


def test_payment_above_invoice_balance_is_refused(qbo, qb):
    invoice = Invoice()
    invoice.CustomerRef = ref("2")
    invoice.Line = [sales_line(ITEM_IDS["Sales"], 1, 10, 10)]
    saved = invoice.save(qb=qb)
    payment = Payment()
    payment.CustomerRef = ref("2")
    payment.TotalAmt = 11
    line = PaymentLine()
    line.Amount = 11
    link = LinkedTxn()
    link.TxnId = saved.Id
    link.TxnType = "Invoice"
    line.LinkedTxn = [link]
    payment.Line = [line]
    with pytest.raises(QuickbooksException) as excinfo:
        payment.save(qb=qb)
    assert excinfo.value.error_code == 6000
    assert qbo.count("Payment") == 0
    assert qbo.document("Invoice", saved.Id)["Balance"] == Decimal("10.00")


def test_purchase_crud(qbo, qb):
    purchase = Purchase()
    purchase.PaymentType = "CreditCard"
    purchase.AccountRef = ref(ACCOUNT_IDS["Visa"])
    purchase.EntityRef = ref(VENDOR_IDS["USPS"], "Vendor")
    purchase.DocNumber = "LBL-9400111"
    purchase.Line = [expense_line(ACCOUNT_IDS["Shipping and Postage"], "7.85")]
    saved = purchase.save(qb=qb)
    assert saved.TotalAmt == 7.85
    assert saved.EntityRef.name == "USPS"
    fetched = Purchase.get(saved.Id, qb=qb)
    fetched.PrivateNote = "label"
    assert fetched.save(qb=qb).SyncToken == "1"
    assert [p.Id for p in Purchase.filter(DocNumber="LBL-9400111", qb=qb)] == [saved.Id]


def test_bill_crud(qbo, qb):
    bill = Bill()
    bill.VendorRef = ref(VENDOR_IDS["ShipStation"])
    bill.TxnDate = "2026-03-02"
    bill.Line = [
        expense_line(ACCOUNT_IDS["Shipping and Postage"], "4.10"),
        expense_line(ACCOUNT_IDS["Shipping and Postage"], "5.25"),
    ]
    saved = bill.save(qb=qb)
    assert (saved.TotalAmt, saved.Balance, saved.DueDate) == (9.35, 9.35, "2026-03-02")
    assert saved.APAccountRef.value == ACCOUNT_IDS["Accounts Payable (A/P)"]
    fetched = Bill.get(saved.Id, qb=qb)
    fetched.DocNumber = "SS-2026-03-02"
    assert fetched.save(qb=qb).SyncToken == "1"
    assert [b.Id for b in Bill.filter(VendorRef=VENDOR_IDS["ShipStation"], qb=qb)] == [saved.Id]


def test_journal_entry_crud(qbo, qb):
    entry = JournalEntry()
    entry.DocNumber = "DS-2026-03-01"
    entry.Line = [
        journal_line("Debit", ACCOUNT_IDS["Undeposited Funds"], "107.50"),
        journal_line("Credit", ACCOUNT_IDS["Sales of Product Income"], "100.00"),
        journal_line("Credit", ACCOUNT_IDS["Sales Tax Payable"], "7.50"),
    ]
    saved = entry.save(qb=qb)
    assert saved.TotalAmt == 107.5
    fetched = JournalEntry.get(saved.Id, qb=qb)
    fetched.PrivateNote = "daily summary"
    assert fetched.save(qb=qb).SyncToken == "1"
    assert [j.Id for j in JournalEntry.filter(DocNumber="DS-2026-03-01", qb=qb)] == [saved.Id]


def test_delete_and_void(qbo, qb):
    receipt = SalesReceipt()
    receipt.Line = [sales_line(ITEM_IDS["Sales"], 1, 9, 9)]
    saved = receipt.save(qb=qb)
    saved.void(qb=qb)
    voided = qbo.document("SalesReceipt", saved.Id)
    assert (voided["TotalAmt"], voided["PrivateNote"], voided["SyncToken"]) == (
        Decimal("0.00"),
        "Voided",
        "1",
    )
    other = SalesReceipt()
    other.Line = [sales_line(ITEM_IDS["Sales"], 1, 3, 3)]
    doomed = other.save(qb=qb)
    answer = doomed.delete(qb=qb)
    assert answer["SalesReceipt"]["status"] == "Deleted"
    with pytest.raises(ObjectNotFoundException):
        SalesReceipt.get(doomed.Id, qb=qb)
    assert qbo.count("SalesReceipt") == 1


def test_read_of_a_missing_object_is_610(qbo, qb):
    with pytest.raises(ObjectNotFoundException) as excinfo:
        Customer.get("999999", qb=qb)
    assert excinfo.value.error_code == 610
    assert "made inactive" in excinfo.value.detail
