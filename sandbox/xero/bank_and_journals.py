"""Handlers of Xero's bank transactions and manual journals (see :mod:`sandbox.xero.books`
for how they are called, :mod:`sandbox.xero.rules` for the shared rules).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

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
)
from sandbox.xero.wire import date_string, ms_date

# -- Bank transactions ------------------------------------------------------------------------


def save_bank_transaction(
    org: Organisation, element: dict[str, Any], *, existing: dict[str, Any] | None, undo: Undo
) -> dict[str, Any]:
    if existing is not None:
        if str(element.get("Status") or "").upper() != "DELETED":
            raise Invalid("The stand-in only deletes bank transactions through POST.")
        record = dict(existing)
        record["Status"] = "DELETED"
        return org.store("BankTransactions", record, undo)
    kind = str(element.get("Type") or "")
    if kind not in ("SPEND", "RECEIVE"):
        raise Invalid("The bank transaction Type must be SPEND or RECEIVE.")
    errors: list[str] = []
    bank_ref = element.get("BankAccount") if isinstance(element.get("BankAccount"), dict) else {}
    bank = org.account(bank_ref)
    if bank is None or bank["Type"] != "BANK":
        errors.append("A valid BankAccount must be specified.")
    day = date_of(element.get("Date"))
    try:
        check_locks(org, day)
    except Invalid as exc:
        errors.extend(exc.messages)
    line_types = str(element.get("LineAmountTypes") or "Exclusive")
    try:
        currency = currency_of(org, element)
    except Invalid as exc:
        errors.extend(exc.messages)
        currency = org.info["BaseCurrency"]
    try:
        lines, sub_total, total_tax = line_items(
            org,
            element.get("LineItems"),
            sales=kind == "RECEIVE",
            line_amount_types=line_types if line_types in LINE_AMOUNT_TYPES else "Exclusive",
            exclude_account=bank["Code"] if bank else "",
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
    if not errors and sub_total + total_tax <= 0:
        errors.append("The bank transaction total must be greater than zero.")
    if errors:
        raise Invalid(*errors)
    assert bank is not None and contact is not None
    record = {
        "BankTransactionID": new_id(),
        "Type": kind,
        "Contact": contact_summary(contact),
        "BankAccount": {"AccountID": bank["AccountID"], "Code": bank["Code"], "Name": bank["Name"]},
        "DateString": date_string(day),
        "Date": ms_date(day),
        "Reference": str(element.get("Reference") or "")[:255],
        "Status": "AUTHORISED",
        "LineAmountTypes": line_types,
        "LineItems": lines,
        "SubTotal": sub_total,
        "TotalTax": total_tax,
        "Total": sub_total + total_tax,
        "CurrencyCode": currency,
        "CurrencyRate": currency_rate(org, currency, element),
        "IsReconciled": bool(element.get("IsReconciled", False)),
        "HasAttachments": False,
    }
    return org.store("BankTransactions", record, undo)


# -- Manual journals --------------------------------------------------------------------------


def save_manual_journal(
    org: Organisation, element: dict[str, Any], *, existing: dict[str, Any] | None, undo: Undo
) -> dict[str, Any]:
    if existing is not None and "JournalLines" not in element:
        status = str(element.get("Status") or "").upper()
        if status not in ("VOIDED", "DELETED"):
            raise Invalid("The stand-in only voids or deletes manual journals through POST.")
        record = dict(existing)
        record["Status"] = status
        return org.store("ManualJournals", record, undo)
    if existing is not None and existing["Status"] not in ("DRAFT", "POSTED"):
        raise Invalid(f"A {existing['Status'].lower()} manual journal cannot be edited.")
    record = _manual_journal_record(org, element)
    if existing is not None:
        # An edit keeps the journal (its id) and takes the new lines, date and narration.
        record["ManualJournalID"] = existing["ManualJournalID"]
    return org.store("ManualJournals", record, undo)


def _manual_journal_record(org: Organisation, element: dict[str, Any]) -> dict[str, Any]:
    errors: list[str] = []
    narration = str(element.get("Narration") or "").strip()
    if not narration:
        errors.append("Narration must be specified.")
    status = str(element.get("Status") or "DRAFT").upper()
    if status not in ("DRAFT", "POSTED"):
        errors.append(f"Manual journal status {status} is not valid for creation.")
    day = date_of(element.get("Date"))
    try:
        check_locks(org, day)
    except Invalid as exc:
        errors.extend(exc.messages)
    raw = element.get("JournalLines")
    lines: list[dict[str, Any]] = []
    debits = credits = Decimal("0.00")
    if not isinstance(raw, list) or len(raw) < 2:
        errors.append("A manual journal must have at least two journal lines.")
        raw = []
    for line in raw:
        if not isinstance(line, dict):
            errors.append("A journal line could not be read.")
            continue
        account = org.account(code=str(line.get("AccountCode") or "")) or org.account(
            {"AccountID": line.get("AccountID")}
        )
        if account is None:
            errors.append(f"Account code '{line.get('AccountCode', '')}' is not a valid code.")
            continue
        tax_type = str(line.get("TaxType") or "NONE")
        if org.tax_rate(tax_type) is None:
            errors.append(f"The TaxType code '{tax_type}' does not exist.")
            continue
        try:
            amount = decimal_of(line.get("LineAmount"), "LineAmount")
        except Invalid as exc:
            errors.extend(exc.messages)
            continue
        if amount != money(amount):
            errors.append("LineAmount must have at most 2 decimal places.")
            continue
        if amount > 0:
            debits += amount
        else:
            credits -= amount
        lines.append(
            {
                "Description": str(line.get("Description") or "")[:4000],
                "LineAmount": money(amount),
                "AccountCode": account["Code"],
                "AccountID": account["AccountID"],
                "TaxType": tax_type,
                "TaxAmount": Decimal("0.00"),
                "IsBlank": False,
            }
        )
    if not errors and status == "POSTED" and debits != credits:
        errors.append(f"The total debits ({debits}) must equal total credits ({credits}).")
    if errors:
        raise Invalid(*errors)
    return {
        "ManualJournalID": new_id(),
        "Date": ms_date(day),
        "DateString": date_string(day),
        "Status": status,
        "LineAmountTypes": str(element.get("LineAmountTypes") or "NoTax"),
        "Narration": narration[:4000],
        "JournalLines": lines,
        "ShowOnCashBasisReports": bool(element.get("ShowOnCashBasisReports", True)),
        "HasAttachments": False,
    }
