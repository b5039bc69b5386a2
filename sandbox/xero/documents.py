"""Handlers of Xero's documents: invoices and bills, payments, bank transactions and manual
journals (see :mod:`sandbox.xero.books` for how they are called, :mod:`sandbox.xero.rules`
for the shared rules). Bank transactions and manual journals are handled in
:mod:`sandbox.xero.bank_and_journals`; :data:`HANDLERS` names every handler.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.xero.bank_and_journals import save_bank_transaction, save_manual_journal
from sandbox.xero.books import Invalid, Organisation, money, new_id
from sandbox.xero.rules import (
    LINE_AMOUNT_TYPES,
    Undo,
    check_locks,
    contact_for,
    contact_summary,
    currency_of,
    currency_rate,
    date_of,
    decimal_of,
    line_items,
    save_contact,
    save_item,
)
from sandbox.xero.wire import date_string, ms_date

# -- Invoices ---------------------------------------------------------------------------------


def save_invoice(
    org: Organisation, element: dict[str, Any], *, existing: dict[str, Any] | None, undo: Undo
) -> dict[str, Any]:
    if existing is not None:
        return _update_invoice_status(org, element, existing, undo)
    kind = str(element.get("Type") or "")
    if kind not in ("ACCREC", "ACCPAY"):
        raise Invalid("Invoice Type must be ACCREC or ACCPAY.")
    status = str(element.get("Status") or "DRAFT").upper()
    if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
        raise Invalid(f"Invoice not of valid status for creation ({status}).")
    errors: list[str] = []
    day = due = None
    try:
        day = date_of(element.get("Date"))
        due = date_of(element.get("DueDate"), "DueDate") if element.get("DueDate") else None
        check_locks(org, day)
    except Invalid as exc:
        errors.extend(exc.messages)
    line_types = str(element.get("LineAmountTypes") or "Exclusive")
    if line_types not in LINE_AMOUNT_TYPES:
        errors.append(f"LineAmountTypes '{line_types}' is not valid.")
        line_types = "Exclusive"
    number = str(element.get("InvoiceNumber") or "").strip()
    if len(number) > 255:
        errors.append("Invoice Number must not be more than 255 characters long.")
    if (
        kind == "ACCREC"
        and number
        and any(
            r.get("InvoiceNumber") == number and r["Type"] == "ACCREC" and r["Status"] != "DELETED"
            for r in org.records["Invoices"].values()
        )
    ):
        errors.append("Invoice # must be unique.")
    reference = str(element.get("Reference") or "")
    if len(reference) > 255:
        errors.append("Reference must not be more than 255 characters long.")
    try:
        currency = currency_of(org, element)
    except Invalid as exc:
        errors.extend(exc.messages)
        currency = org.info["BaseCurrency"]
    try:
        lines, sub_total, total_tax = line_items(
            org, element.get("LineItems"), sales=kind == "ACCREC", line_amount_types=line_types
        )
    except Invalid as exc:
        errors.extend(exc.messages)
        lines, sub_total, total_tax = [], Decimal("0.00"), Decimal("0.00")
    contact = None
    if not errors:
        try:
            contact = contact_for(org, element, undo)
        except Invalid as exc:
            errors.extend(exc.messages)
    total = sub_total + total_tax
    if not errors and total < 0:
        errors.append("The invoice total must be zero or greater.")
    if errors:
        raise Invalid(*errors)
    assert contact is not None and day is not None
    if kind == "ACCREC" and not number:
        number = org.next_invoice_number()
    record = {
        "Type": kind,
        "InvoiceID": new_id(),
        "InvoiceNumber": number,
        "Reference": reference,
        "Contact": contact_summary(contact),
        "DateString": date_string(day),
        "Date": ms_date(day),
        "DueDateString": date_string(due or day),
        "DueDate": ms_date(due or day),
        "Status": status,
        "LineAmountTypes": line_types,
        "LineItems": lines,
        "SubTotal": sub_total,
        "TotalTax": total_tax,
        "Total": total,
        "AmountDue": total,
        "AmountPaid": Decimal("0.00"),
        "AmountCredited": Decimal("0.00"),
        "CurrencyCode": currency,
        "CurrencyRate": currency_rate(org, currency, element),
        "IsDiscounted": any(line.get("DiscountRate") for line in lines),
        "HasAttachments": False,
        "Payments": [],
        "Prepayments": [],
        "Overpayments": [],
        "CreditNotes": [],
        "SentToContact": False,
    }
    return org.store("Invoices", record, undo)


def _update_invoice_status(
    org: Organisation, element: dict[str, Any], existing: dict[str, Any], undo: Undo
) -> dict[str, Any]:
    """POST with an InvoiceID: status changes (void, delete, authorise) and edits of the
    lines, contact, date and reference of an invoice no payment is allocated to."""
    status = str(element.get("Status") or existing["Status"]).upper()
    current = existing["Status"]
    if "LineItems" in element:
        return _edit_invoice(org, element, existing, status, undo)
    allowed = {
        "DRAFT": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
        "SUBMITTED": {"SUBMITTED", "AUTHORISED", "DRAFT", "DELETED"},
        "AUTHORISED": {"AUTHORISED", "VOIDED"},
    }.get(current, {current})
    if status not in allowed:
        raise Invalid(
            "This document cannot be edited as it has a payment or credit note allocated to it."
        )
    if status == "VOIDED" and existing["AmountPaid"]:
        raise Invalid(
            "This document cannot be edited as it has a payment or credit note allocated to it."
        )
    record = dict(existing)
    record["Status"] = status
    return org.store("Invoices", record, undo)


def _edit_invoice(
    org: Organisation, element: dict[str, Any], existing: dict[str, Any], status: str, undo: Undo
) -> dict[str, Any]:
    """Xero edits DRAFT, SUBMITTED and AUTHORISED invoices; one with a payment (or credit
    note) allocated, a PAID, VOIDED or DELETED one, cannot be edited."""
    if existing["AmountPaid"] or existing["AmountCredited"] or existing["Status"] == "PAID":
        raise Invalid(
            "Invoice not of valid status for modification",
            "This document cannot be edited as it has a payment or credit note allocated to it.",
        )
    if existing["Status"] not in ("DRAFT", "SUBMITTED", "AUTHORISED") or status not in (
        "DRAFT",
        "SUBMITTED",
        "AUTHORISED",
    ):
        raise Invalid("Invoice not of valid status for modification")
    errors: list[str] = []
    day = date_of(element["Date"]) if element.get("Date") else None
    try:
        check_locks(org, day or date_of(existing["Date"]))
    except Invalid as exc:
        errors.extend(exc.messages)
    line_types = str(element.get("LineAmountTypes") or existing["LineAmountTypes"])
    if line_types not in LINE_AMOUNT_TYPES:
        errors.append(f"LineAmountTypes '{line_types}' is not valid.")
        line_types = existing["LineAmountTypes"]
    reference = str(element.get("Reference", existing["Reference"]) or "")
    if len(reference) > 255:
        errors.append("Reference must not be more than 255 characters long.")
    try:
        lines, sub_total, total_tax = line_items(
            org,
            element.get("LineItems"),
            sales=existing["Type"] == "ACCREC",
            line_amount_types=line_types,
        )
    except Invalid as exc:
        errors.extend(exc.messages)
        lines, sub_total, total_tax = [], Decimal("0.00"), Decimal("0.00")
    contact = None
    if not errors and isinstance(element.get("Contact"), dict):
        try:
            contact = contact_for(org, element, undo)
        except Invalid as exc:
            errors.extend(exc.messages)
    total = sub_total + total_tax
    if not errors and total < 0:
        errors.append("The invoice total must be zero or greater.")
    if errors:
        raise Invalid(*errors)
    record = dict(existing)
    record.update(
        {
            "Status": status,
            "Reference": reference,
            "LineAmountTypes": line_types,
            "LineItems": lines,
            "SubTotal": sub_total,
            "TotalTax": total_tax,
            "Total": total,
            "AmountDue": total,
            "IsDiscounted": any(line.get("DiscountRate") for line in lines),
        }
    )
    if contact is not None:
        record["Contact"] = contact_summary(contact)
    if day is not None:
        record["Date"], record["DateString"] = ms_date(day), date_string(day)
    return org.store("Invoices", record, undo)


# -- Payments ---------------------------------------------------------------------------------


def save_payment(
    org: Organisation, element: dict[str, Any], *, existing: dict[str, Any] | None, undo: Undo
) -> dict[str, Any]:
    if existing is not None:
        if str(element.get("Status") or "").upper() != "DELETED":
            raise Invalid("Payments can only be deleted, not edited.")
        return _delete_payment(org, existing, undo)
    ref = element.get("Invoice") if isinstance(element.get("Invoice"), dict) else {}
    invoice = None
    if ref.get("InvoiceID"):
        invoice = org.records["Invoices"].get(str(ref["InvoiceID"]).lower())
    elif ref.get("InvoiceNumber"):
        invoice = org.get("Invoices", str(ref["InvoiceNumber"]))
    if invoice is None:
        raise Invalid("You must specify an Invoice, CreditNote, Prepayment or Overpayment.")
    errors = []
    account = org.account(
        element.get("Account") if isinstance(element.get("Account"), dict) else {}
    )
    if account is None:
        errors.append("Account could not be found")
    elif account["Type"] != "BANK" and not account.get("EnablePaymentsToAccount"):
        # Xero's words for a payment to an account that takes none (provider-facts).
        errors.append("Account type is invalid for making a payment to/from")
    if invoice["Status"] != "AUTHORISED":
        errors.append("Invoice not of valid status for modification")
    amount = decimal_of(element.get("Amount"), "Amount")
    if amount <= 0:
        errors.append("Payment amount must be greater than zero.")
    elif amount != money(amount):
        errors.append("Payment amount must have at most 2 decimal places.")
    elif invoice["Status"] == "AUTHORISED" and amount > invoice["AmountDue"]:
        errors.append("Payment amount exceeds the amount outstanding on this document")
    day = date_of(element.get("Date"))
    try:
        check_locks(org, day)
    except Invalid as exc:
        errors.extend(exc.messages)
    if errors:
        raise Invalid(*errors)
    assert account is not None
    record = {
        "PaymentID": new_id(),
        "Date": ms_date(day),
        "Amount": amount,
        # In the bank account's (base) currency: the invoice's amount at its rate.
        "BankAmount": money(amount / invoice.get("CurrencyRate", Decimal("1.000000"))),
        "Reference": str(element.get("Reference") or "")[:255],
        "CurrencyRate": invoice.get("CurrencyRate", Decimal("1.000000")),
        "PaymentType": "ACCRECPAYMENT" if invoice["Type"] == "ACCREC" else "ACCPAYPAYMENT",
        "Status": "AUTHORISED",
        "IsReconciled": False,
        "HasAccount": True,
        "HasValidationErrors": False,
        "Account": {"AccountID": account["AccountID"], "Code": account["Code"]},
        "Invoice": {
            "Type": invoice["Type"],
            "InvoiceID": invoice["InvoiceID"],
            "InvoiceNumber": invoice["InvoiceNumber"],
            "Contact": invoice["Contact"],
            "CurrencyCode": invoice["CurrencyCode"],
        },
    }
    org.store("Payments", record, undo)
    paid = dict(invoice)
    paid["AmountPaid"] = invoice["AmountPaid"] + amount
    paid["AmountDue"] = invoice["AmountDue"] - amount
    paid["Payments"] = [
        *invoice.get("Payments", []),
        {"PaymentID": record["PaymentID"], "Date": record["Date"], "Amount": amount,
         "Reference": record["Reference"], "CurrencyRate": record["CurrencyRate"]},
    ]  # fmt: skip
    if paid["AmountDue"] == 0:
        paid["Status"] = "PAID"
        paid["FullyPaidOnDate"] = record["Date"]
    org.store("Invoices", paid, undo)
    return record


def _delete_payment(org: Organisation, payment: dict[str, Any], undo: Undo) -> dict[str, Any]:
    record = dict(payment)
    record["Status"] = "DELETED"
    org.store("Payments", record, undo)
    invoice = org.records["Invoices"].get(payment["Invoice"]["InvoiceID"].lower())
    if invoice is not None:
        back = dict(invoice)
        back["AmountPaid"] = invoice["AmountPaid"] - payment["Amount"]
        back["AmountDue"] = invoice["AmountDue"] + payment["Amount"]
        back["Payments"] = [
            p for p in invoice["Payments"] if p["PaymentID"] != payment["PaymentID"]
        ]
        back["Status"] = "AUTHORISED"
        back.pop("FullyPaidOnDate", None)
        org.store("Invoices", back, undo)
    return record


HANDLERS = {
    "Contacts": save_contact,
    "Items": save_item,
    "Invoices": save_invoice,
    "Payments": save_payment,
    "BankTransactions": save_bank_transaction,
    "ManualJournals": save_manual_journal,
}
