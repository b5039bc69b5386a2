"""The Accounting API's documents through xero-python: envelope and dates, totals, payments,
bank transactions, bills, manual journals, contacts and items, where and paging, lock dates,
summarizeErrors both ways and Idempotency-Key replay."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from xero_python.exceptions import AccountingBadRequestException, HTTPStatusException

from sandbox.xero import DEFAULT_TENANT_ID as T


def _invoice(number: str, *, account: str = "200", tax: str = "NONE", amount: str = "9.99", **kw):
    return {
        "Type": "ACCREC",
        "Contact": {"Name": kw.pop("contact", "Jane Doe")},
        "Date": "/Date(1777852800000+0000)/",  # 2026-05-04
        "InvoiceNumber": number,
        "Status": "AUTHORISED",
        "LineAmountTypes": "Exclusive",
        "LineItems": [
            {
                "Description": "Widget",
                "Quantity": Decimal("3"),
                "UnitAmount": Decimal(amount),
                "AccountCode": account,
                "TaxType": tax,
                **kw,
            }
        ],
    }


def _raw(api, method: str, body, **kw):
    answer = getattr(api, method)(T, body, _preload_content=False, **kw)
    return answer.status, dict(answer.getheaders()), json.loads(answer.data)


def test_created_invoice_has_the_envelope_dates_and_exact_totals(api):
    status, headers, body = _raw(
        api, "create_invoices", {"Invoices": [_invoice("SS-1", tax="TAX001", amount="19.99")]},
        unitdp=4,
    )  # fmt: skip
    assert status == 200
    assert set(body) >= {"Id", "Status", "ProviderName", "DateTimeUTC", "Invoices"}
    assert body["Status"] == "OK" and body["DateTimeUTC"].startswith("/Date(")
    [invoice] = body["Invoices"]
    assert invoice["Date"] == "/Date(1777852800000+0000)/"
    assert invoice["DateString"] == "2026-05-04T00:00:00"
    # 3 x 19.99 = 59.97, California 7.25 % = 4.347825 -> 4.35
    assert (invoice["SubTotal"], invoice["TotalTax"], invoice["Total"]) == (59.97, 4.35, 64.32)
    assert (invoice["Status"], invoice["StatusAttributeString"]) == ("AUTHORISED", "OK")
    assert invoice["LineItems"][0]["UnitAmount"] == 19.99
    # xero-python reads the same answer as Decimals and dates.
    [read] = api.get_invoices(T, invoice_numbers=["SS-1"], page=1).invoices
    assert (read.total, read.date, read.amount_due) == (
        Decimal("64.32"),
        date(2026, 5, 4),
        Decimal("64.32"),
    )


def test_a_given_tax_amount_overrides_the_computed_one(api):
    _s, _h, body = _raw(
        api, "create_invoices", {"Invoices": [_invoice("SS-2", tax="TAX001", TaxAmount="4.00")]}
    )
    assert (body["Invoices"][0]["TotalTax"], body["Invoices"][0]["Total"]) == (4.00, 33.97)


def test_summarize_errors_false_keeps_the_valid_ones_and_reports_each_failure(api, xero):
    elements = [_invoice("SS-10"), _invoice("SS-11", account="999"), _invoice("SS-10")]
    status, _h, body = _raw(api, "create_invoices", {"Invoices": elements}, summarize_errors=False)
    assert status == 200
    ok, bad_account, duplicate = body["Invoices"]
    assert ok["StatusAttributeString"] == "OK" and ok["HasErrors"] is False
    assert bad_account["HasErrors"] is True and bad_account["StatusAttributeString"] == "ERROR"
    assert bad_account["ValidationErrors"] == [
        {"Message": "Account code '999' is not a valid code for this document."}
    ]
    assert duplicate["ValidationErrors"] == [{"Message": "Invoice # must be unique."}]
    assert bad_account["InvoiceID"] == "00000000-0000-0000-0000-000000000000"
    assert [i["InvoiceNumber"] for i in xero.documents("Invoices")] == ["SS-10"]


def test_summarized_errors_fail_the_whole_request_with_a_validation_exception(api, xero):
    elements = [_invoice("SS-20"), _invoice("SS-21", tax="BOGUS")]
    with pytest.raises(AccountingBadRequestException) as refused:
        api.create_invoices(T, {"Invoices": elements})
    error = refused.value.error_data
    assert (error["ErrorNumber"], error["Type"], error["Message"]) == (
        10,
        "ValidationException",
        "A validation exception occurred",
    )
    assert [e["ValidationErrors"] for e in error["Elements"]] == [
        [],
        [
            {
                "Message": "The TaxType code 'BOGUS' does not exist or cannot be used for this "
                "type of transaction."
            }
        ],
    ]
    assert xero.documents("Invoices") == [] and xero.count("Contacts") == 0


def test_idempotency_key_replays_the_first_answer_and_creates_once(api, xero):
    body = {"Invoices": [_invoice("SS-30"), _invoice("SS-31")]}
    _s, _h, first = _raw(
        api, "create_invoices", body, summarize_errors=False, idempotency_key="k-1"
    )
    _s, _h, again = _raw(
        api, "create_invoices", body, summarize_errors=False, idempotency_key="k-1"
    )
    assert [i["InvoiceID"] for i in again["Invoices"]] == [
        i["InvoiceID"] for i in first["Invoices"]
    ]
    assert len(xero.documents("Invoices")) == 2
    assert [e["key"] for e in xero.events("idempotent_replay")] == ["k-1"]
    # The same key on another endpoint, or one too long, is refused.
    with pytest.raises(HTTPStatusException) as other:
        api.create_contacts(T, {"Contacts": [{"Name": "X"}]}, idempotency_key="k-1")
    assert other.value.status == 400
    with pytest.raises(HTTPStatusException) as too_long:
        api.create_invoices(T, body, idempotency_key="k" * 129)
    assert too_long.value.status == 400


def test_payment_settles_the_invoice_and_an_overpayment_is_refused(api, xero):
    _s, _h, created = _raw(api, "create_invoices", {"Invoices": [_invoice("SS-40")]})
    invoice_id = created["Invoices"][0]["InvoiceID"]
    payment = {
        "Invoice": {"InvoiceID": invoice_id},
        "Account": {"Code": "615"},
        "Date": "2026-05-04",
        "Amount": Decimal("29.97"),
        "Reference": "1001",
    }
    status, _h, paid = _raw(api, "create_payments", {"Payments": [payment]}, summarize_errors=False)
    assert status == 200 and paid["Payments"][0]["StatusAttributeString"] == "OK"
    [invoice] = xero.documents("Invoices")
    assert (invoice["Status"], invoice["AmountDue"], invoice["AmountPaid"]) == (
        "PAID",
        Decimal("0.00"),
        Decimal("29.97"),
    )
    _s, _h, twice = _raw(api, "create_payments", {"Payments": [payment]}, summarize_errors=False)
    assert twice["Payments"][0]["ValidationErrors"] == [
        {"Message": "Invoice not of valid status for modification"}
    ]
    to_revenue = {**payment, "Account": {"Code": "200"}}
    _s, _h, wrong = _raw(api, "create_payments", {"Payments": [to_revenue]}, summarize_errors=False)
    # Xero's own words (provider-facts, "Account types"), not a paraphrase of the rule.
    assert wrong["Payments"][0]["ValidationErrors"][0]["Message"] == (
        "Account type is invalid for making a payment to/from"
    )


def test_spend_bank_transaction_and_bill(api, xero):
    spend = {
        "Type": "SPEND",
        "Contact": {"Name": "ShipStation"},
        "BankAccount": {"Code": "090"},
        "Date": "2026-05-04",
        "Reference": "SS-1001-L",
        "LineAmountTypes": "NoTax",
        "LineItems": [
            {"Description": "Label", "UnitAmount": Decimal("7.45"), "AccountCode": "425"}
        ],
    }
    status, _h, body = _raw(api, "create_bank_transactions", {"BankTransactions": [spend]})
    assert status == 200 and body["BankTransactions"][0]["Total"] == 7.45
    not_a_bank = {**spend, "BankAccount": {"Code": "200"}}
    _s, _h, refused = _raw(
        api, "create_bank_transactions", {"BankTransactions": [not_a_bank]}, summarize_errors=False
    )
    assert refused["BankTransactions"][0]["ValidationErrors"] == [
        {"Message": "A valid BankAccount must be specified."}
    ]
    bill = {**_invoice("SS-1001-L", account="425"), "Type": "ACCPAY", "Contact": {"Name": "USPS"}}
    _raw(api, "create_invoices", {"Invoices": [bill, bill]})  # bills may share a number
    assert [i["Type"] for i in xero.documents("Invoices")] == ["ACCPAY", "ACCPAY"]
    assert {c["Name"] for c in xero.documents("Contacts")} == {"ShipStation", "USPS"}


def test_manual_journal_must_balance(api, xero):
    lines = [
        {"LineAmount": Decimal("100.00"), "AccountCode": "615", "Description": "Sales"},
        {"LineAmount": Decimal("-90.00"), "AccountCode": "200", "Description": "Sales"},
    ]
    journal = {"Narration": "[unify c1 summary:1:2026-05-04] Day", "Date": "2026-05-04",
               "Status": "POSTED", "JournalLines": lines}  # fmt: skip
    _s, _h, refused = _raw(
        api, "create_manual_journals", {"ManualJournals": [journal]}, summarize_errors=False
    )
    assert refused["ManualJournals"][0]["ValidationErrors"] == [
        {"Message": "The total debits (100.00) must equal total credits (90.00)."}
    ]
    lines.append({"LineAmount": Decimal("-10.00"), "AccountCode": "210"})
    status, _h, body = _raw(api, "create_manual_journals", {"ManualJournals": [journal]})
    assert status == 200 and body["ManualJournals"][0]["Status"] == "POSTED"
    found = api.get_manual_journals(T, where='Narration.StartsWith("[unify c1 summary:1:")')
    assert [j.narration for j in found.manual_journals] == [journal["Narration"]]


def test_contact_names_and_item_codes_are_unique(api):
    _s, _h, body = _raw(
        api,
        "create_contacts",
        {
            "Contacts": [
                {"Name": "Jane Doe", "EmailAddress": "jane@example.com"},
                {"Name": "jane doe"},
            ]
        },
        summarize_errors=False,
    )
    assert body["Contacts"][1]["ValidationErrors"] == [
        {
            "Message": "The contact name jane doe is already assigned to another contact. The "
            "contact name must be unique across all active contacts."
        }
    ]
    found = api.get_contacts(T, where='EmailAddress=="jane@example.com"', page=1)
    assert [c.name for c in found.contacts] == ["Jane Doe"]
    items = [
        {"Code": "SKU-1", "Name": "Widget", "SalesDetails": {"AccountCode": "200"}},
        {"Code": "SKU-1", "Name": "Other"},
        {"Code": "X" * 31, "Name": "Too long"},
    ]
    _s, _h, made = _raw(api, "create_items", {"Items": items}, summarize_errors=False)
    assert [i.get("ValidationErrors") for i in made["Items"]] == [
        None,
        [{"Message": "Please enter a unique Code."}],
        [{"Message": "Item Code must not be more than 30 characters long."}],
    ]
    assert [i.code for i in api.get_items(T, where='Code=="SKU-1" OR Code=="SKU-2"').items] == [
        "SKU-1"
    ]


def test_lists_page_by_100_with_pagination(api):
    _raw(api, "create_invoices", {"Invoices": [_invoice(f"P-{n:03d}") for n in range(130)]})
    first = api.get_invoices(T, page=1, order="InvoiceNumber")
    second = api.get_invoices(T, page=2, order="InvoiceNumber")
    assert (len(first.invoices), len(second.invoices)) == (100, 30)
    assert (first.pagination.page_count, first.pagination.item_count) == (2, 130)
    assert second.invoices[-1].invoice_number == "P-129"


def test_documents_before_the_lock_date_are_refused(api, xero):
    xero.set_lock_dates(period=date(2026, 5, 31))
    _s, _h, body = _raw(
        api, "create_invoices", {"Invoices": [_invoice("SS-50")]}, summarize_errors=False
    )
    assert body["Invoices"][0]["ValidationErrors"] == [
        {
            "Message": "The document date cannot be before the period lock date, currently set "
            "at 31 May 2026."
        }
    ]
    [org] = api.get_organisations(T).organisations
    assert org.period_lock_date == date(2026, 5, 31)


def test_organisation_not_subscribed_to_the_currency(api):
    euro = {**_invoice("SS-60"), "CurrencyCode": "EUR"}
    _s, _h, body = _raw(api, "create_invoices", {"Invoices": [euro]}, summarize_errors=False)
    assert body["Invoices"][0]["ValidationErrors"] == [
        {"Message": "Organisation is not subscribed to currency EUR"}
    ]


def _refusal(call) -> list[str]:
    with pytest.raises(AccountingBadRequestException) as refused:
        call()
    body = json.loads(refused.value.body)
    assert body["Type"] == "ValidationException"
    return [e["Message"] for e in body["Elements"][0]["ValidationErrors"]]


def test_a_paid_invoice_is_neither_edited_nor_voided_until_its_payment_is_deleted(api, xero):
    """Xero: an AUTHORISED invoice can be edited (POST /Invoices/{id}) or voided, never
    deleted; not while a payment is allocated to it. A payment is deleted with POST
    /Payments/{id} and Status DELETED (docs/reference/provider-facts.md)."""
    _s, _h, created = _raw(api, "create_invoices", {"Invoices": [_invoice("SS-60")]})
    invoice_id = created["Invoices"][0]["InvoiceID"]
    payment = {
        "Invoice": {"InvoiceID": invoice_id},
        "Account": {"Code": "615"},
        "Date": "2026-05-04",
        "Amount": Decimal("29.97"),
    }
    _s, _h, paid = _raw(api, "create_payments", {"Payments": [payment]}, summarize_errors=False)
    payment_id = paid["Payments"][0]["PaymentID"]
    edited = {**_invoice("SS-60", amount="5.00"), "InvoiceID": invoice_id}

    assert _refusal(lambda: api.update_invoice(T, invoice_id, {"Invoices": [edited]})) == [
        "Invoice not of valid status for modification",
        "This document cannot be edited as it has a payment or credit note allocated to it.",
    ]
    void = {"InvoiceID": invoice_id, "Status": "VOIDED"}
    assert _refusal(lambda: api.update_invoice(T, invoice_id, {"Invoices": [void]})) == [
        "This document cannot be edited as it has a payment or credit note allocated to it."
    ]
    deleted = api.delete_payment(T, payment_id, {"Status": "DELETED"})
    assert deleted.payments[0].status == "DELETED"
    [invoice] = xero.documents("Invoices")
    assert (invoice["Status"], invoice["AmountDue"], invoice["Payments"]) == (
        "AUTHORISED",
        Decimal("29.97"),
        [],
    )
    # Now the edit goes through (same invoice, new lines and totals), then the void.
    [after] = api.update_invoice(T, invoice_id, {"Invoices": [edited]}).invoices
    assert (after.invoice_id, after.total, after.amount_due) == (
        invoice_id,
        Decimal("15.00"),
        Decimal("15.00"),
    )
    [voided] = api.update_invoice(T, invoice_id, {"Invoices": [void]}).invoices
    assert voided.status == "VOIDED"
    assert _refusal(lambda: api.update_invoice(T, invoice_id, {"Invoices": [edited]})) == [
        "Invoice not of valid status for modification"
    ]
