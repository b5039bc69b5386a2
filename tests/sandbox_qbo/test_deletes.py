"""Deleting purchases and bills, and bill payments that keep a bill from being deleted, through
python-quickbooks and the plain API."""

from __future__ import annotations

from decimal import Decimal

import pytest
from quickbooks.exceptions import ObjectNotFoundException, QuickbooksException
from quickbooks.objects import Bill, Purchase
from quickbooks.objects.base import LinkedTxn
from quickbooks.objects.billpayment import BillPayment, BillPaymentLine, CheckPayment

from sandbox.qbo import ACCOUNT_IDS, VENDOR_IDS
from tests.sandbox_qbo.test_entities import expense_line, ref


def _purchase(qb) -> Purchase:
    purchase = Purchase()
    purchase.PaymentType = "Cash"
    purchase.AccountRef = ref(ACCOUNT_IDS["Checking"])
    purchase.EntityRef = ref(VENDOR_IDS["USPS"], "Vendor")
    purchase.DocNumber = "SS-1001-L"
    purchase.Line = [expense_line(ACCOUNT_IDS["Shipping and Postage"], "7.85")]
    return purchase.save(qb=qb)


def _bill(qb, amount: str = "12.40") -> Bill:
    bill = Bill()
    bill.VendorRef = ref(VENDOR_IDS["ShipStation"])
    bill.DocNumber = "SS-1002-L"
    bill.Line = [expense_line(ACCOUNT_IDS["Shipping and Postage"], amount)]
    return bill.save(qb=qb)


def _pay(qb, bill: Bill, amount: str) -> BillPayment:
    payment = BillPayment()
    payment.PayType = "Check"
    payment.VendorRef = ref(VENDOR_IDS["ShipStation"])
    payment.TotalAmt = amount
    check = CheckPayment()
    check.BankAccountRef = ref(ACCOUNT_IDS["Checking"])
    payment.CheckPayment = check
    line = BillPaymentLine()
    line.Amount = amount
    link = LinkedTxn()
    link.TxnId = bill.Id
    link.TxnType = "Bill"
    line.LinkedTxn = [link]
    payment.Line = [line]
    return payment.save(qb=qb)


def test_deleted_purchase_answers_deleted_then_reads_as_610(qbo, qb):
    saved = _purchase(qb)
    answer = saved.delete(qb=qb)
    assert answer["Purchase"] == {"domain": "QBO", "status": "Deleted", "Id": saved.Id}
    with pytest.raises(ObjectNotFoundException) as excinfo:
        Purchase.get(saved.Id, qb=qb)
    assert (excinfo.value.error_code, excinfo.value.message) == (610, "Object Not Found")
    assert qbo.count("Purchase") == 0
    assert Purchase.filter(DocNumber="SS-1001-L", qb=qb) == []


def test_second_delete_of_the_same_purchase_is_610_and_changes_nothing(qbo, qb):
    saved = _purchase(qb)
    other = _purchase(qb)
    saved.delete(qb=qb)
    with pytest.raises(ObjectNotFoundException):
        saved.delete(qb=qb)
    assert [p["Id"] for p in qbo.documents("Purchase")] == [other.Id]


def test_delete_with_a_stale_synctoken_is_5010(qbo, qb, api):
    saved = _purchase(qb)
    fetched = Purchase.get(saved.Id, qb=qb)
    fetched.PrivateNote = "edited in QuickBooks"
    fetched.save(qb=qb)
    response = api.post(
        api.url("purchase?operation=delete&minorversion=75"),
        json={"Id": saved.Id, "SyncToken": "0"},
    )
    assert response.status_code == 400
    assert response.json()["Fault"]["Error"][0]["code"] == "5010"
    assert qbo.count("Purchase") == 1


def test_bill_without_payments_is_deleted(qbo, qb):
    saved = _bill(qb)
    assert saved.delete(qb=qb)["Bill"]["status"] == "Deleted"
    with pytest.raises(ObjectNotFoundException):
        Bill.get(saved.Id, qb=qb)


def test_bill_payment_lowers_the_balance_and_links_both_ways(qbo, qb):
    bill = _bill(qb, "12.40")
    payment = _pay(qb, bill, "10.00")
    stored = qbo.document("Bill", bill.Id)
    assert stored["Balance"] == Decimal("2.40")
    assert stored["LinkedTxn"] == [{"TxnId": payment.Id, "TxnType": "BillPayment"}]
    assert qbo.document("BillPayment", payment.Id)["UnappliedAmt"] == Decimal("0.00")
    with pytest.raises(QuickbooksException) as excinfo:
        _pay(qb, bill, "5.00")  # more than the open balance
    assert excinfo.value.error_code == 6000


def test_bill_with_a_payment_cannot_be_deleted_until_the_payment_is(qbo, qb):
    bill = _bill(qb)
    payment = _pay(qb, bill, "12.40")
    current = Bill.get(bill.Id, qb=qb)
    with pytest.raises(QuickbooksException) as excinfo:
        current.delete(qb=qb)
    assert excinfo.value.error_code == 6000
    assert "bill payments applied" in excinfo.value.detail
    assert qbo.count("Bill") == 1

    payment.delete(qb=qb)
    current = Bill.get(bill.Id, qb=qb)
    assert (current.Balance, current.LinkedTxn) == (12.4, [])
    assert current.delete(qb=qb)["Bill"]["status"] == "Deleted"
    assert qbo.count("Bill") == 0
