"""Our ledger-neutral documents as Xero request bodies (no I/O, no ORM).

- A sale is an ``ACCREC`` invoice, ``AUTHORISED``, ``LineAmountTypes`` ``Exclusive``: product
  lines (item code when the SKU is a Xero item), a shipping line, discount lines (negative
  amounts), and the tax: with a tax code, on the product lines as their ``TaxAmount`` (Xero
  takes a given TaxAmount over its own computation, so the invoice total is what the buyer
  paid to the cent); without one, as a line on the sales tax liability account. A
  reconciliation difference is its own line. Then a ``Payment`` to the deposit account.
- A label cost is a ``SPEND`` bank transaction from the paying account, or an ``ACCPAY`` bill.
- A daily summary is a ``POSTED`` manual journal: debits positive, credits negative.

The marker that tells our document from one a person typed (see ``document_marker``) is the
start of the invoice's or transaction's ``Reference`` and of the journal's ``Narration``.
Unit amounts are sent with four decimals (``unitdp=4``); where no four-decimal unit amount
times the quantity gives the line's amount, the line becomes one unit at the amount.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from xero_python.api_client.serializer import serialize

from accounting.ledgers.base import (
    CENT,
    ZERO,
    DocumentKind,
    ExpenseDocument,
    PostingSide,
    SaleDocument,
    SaleLine,
    SummaryDocument,
)

UNIT = Decimal("0.0001")
ONE = Decimal(1)
# Field limits (Xero): invoice numbers and references 255, item codes 30, item names 50,
# contact names 255; descriptions 4,000.
REFERENCE_MAX = 255
ITEM_CODE_MAX = 30
ITEM_NAME_MAX = 50
CONTACT_NAME_MAX = 255
DESCRIPTION_MAX = 4000


def ms_date(day: date) -> str:
    """A date as xero-python writes it (``/Date(ms)/``, midnight UTC)."""
    return serialize(day, "date[ms-format]")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class AccountCodes:
    """Our mappings hold Xero AccountIDs; lines name accounts by code when they have one."""

    def __init__(self, codes: Mapping[str, str]) -> None:
        self.codes = dict(codes)

    def ref(self, account_id: str) -> dict[str, str]:
        code = self.codes.get(account_id, "")
        return {"AccountCode": code} if code else {"AccountID": account_id}

    def account(self, account_id: str) -> dict[str, str]:
        """For Payment.Account and BankTransaction.BankAccount."""
        return {"AccountID": account_id}


def _line(description: str, quantity: Decimal, unit: Decimal, amount: Decimal) -> dict[str, Any]:
    """A line whose quantity x four-decimal unit amount is exactly ``amount``."""
    unit4 = unit.quantize(UNIT, rounding=ROUND_HALF_UP)
    if quantity and money(quantity * unit4) == amount:
        return {"Description": description[:DESCRIPTION_MAX], "Quantity": quantity,
                "UnitAmount": unit4}  # fmt: skip
    text = f"{description} ({quantity} x {unit})" if quantity != ONE else description
    return {"Description": text[:DESCRIPTION_MAX], "Quantity": ONE, "UnitAmount": amount}


def _spread(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """``total`` in cents over ``weights``, proportionally, largest remainder: sums exactly."""
    if not weights:
        return []
    base = sum(weights, ZERO)
    if base <= 0:
        return [total] + [ZERO] * (len(weights) - 1)
    cents = int((total / CENT).to_integral_value())
    raw = [Decimal(cents) * w / base for w in weights]
    floors = [int(r) for r in raw]
    left = cents - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: raw[i] - floors[i], reverse=True)
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(f) * CENT for f in floors]


def sale_invoice(
    doc: SaleDocument,
    *,
    contact_id: str,
    item_codes: Mapping[str, str],
    accounts: AccountCodes,
) -> dict[str, Any]:
    """``item_codes``: item match key -> the Xero item code found or created for it."""
    lines: list[dict[str, Any]] = []
    product_lines: list[tuple[dict[str, Any], SaleLine]] = []
    for line in doc.lines:
        body = _line(line.description or line.item.name, line.quantity, line.unit_price,
                     line.amount)  # fmt: skip
        code = item_codes.get(line.item.match_key) or line.item.external_id
        if code:
            body["ItemCode"] = code
        if line.item.income_account_id:
            body.update(accounts.ref(line.item.income_account_id))
        body["TaxType"] = line.tax_code_id or "NONE"
        lines.append(body)
        product_lines.append((body, line))
    if doc.shipping is not None and doc.shipping.amount:
        body = _line(doc.shipping.description, ONE, doc.shipping.amount, doc.shipping.amount)
        body.update(accounts.ref(doc.shipping.account_id))
        body["TaxType"] = "NONE"
        lines.append(body)
    for discount in doc.discounts:
        body = _line(discount.description, ONE, -discount.amount, -discount.amount)
        body.update(accounts.ref(discount.account_id))
        body["TaxType"] = "NONE"
        lines.append(body)
    if doc.tax:
        if doc.tax_code_id:
            taxed = [b for b, _line_of in product_lines] or lines[:1]
            weights = [money(b["Quantity"] * b["UnitAmount"]) for b in taxed]
            for body, share in zip(taxed, _spread(doc.tax, weights), strict=True):
                body["TaxType"] = doc.tax_code_id
                body["TaxAmount"] = share
        else:
            body = _line("Sales tax", ONE, doc.tax, doc.tax)
            body.update(accounts.ref(doc.tax_account_id))
            body["TaxType"] = "NONE"
            lines.append(body)
    if doc.difference is not None and doc.difference.amount:
        body = _line(doc.difference.description, ONE, doc.difference.amount, doc.difference.amount)
        body.update(accounts.ref(doc.difference.account_id))
        body["TaxType"] = "NONE"
        lines.append(body)
    return {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "Date": ms_date(doc.issued_on),
        "DueDate": ms_date(doc.issued_on),
        "InvoiceNumber": doc.reference,
        "Reference": doc.memo[:REFERENCE_MAX],
        "Status": "AUTHORISED",
        "LineAmountTypes": "Exclusive",
        "CurrencyCode": doc.currency,
        "LineItems": lines,
    }


def payment(doc: SaleDocument, *, invoice_id: str, amount: Decimal) -> dict[str, Any]:
    return {
        "Invoice": {"InvoiceID": invoice_id},
        "Account": {"AccountID": doc.payment.deposit_account_id},
        "Date": ms_date(doc.payment.paid_on),
        "Amount": amount,
        "Reference": doc.payment.reference[:REFERENCE_MAX],
    }


def _expense_lines(doc: ExpenseDocument, accounts: AccountCodes) -> list[dict[str, Any]]:
    lines = []
    for line in doc.lines:
        body = _line(line.description or "Shipping label", ONE, line.amount, line.amount)
        body.update(accounts.ref(line.account_id))
        body["TaxType"] = "NONE"
        lines.append(body)
    return lines


def bank_transaction(doc: ExpenseDocument, *, contact_id: str, accounts: AccountCodes) -> dict:
    return {
        "Type": "SPEND",
        "Contact": {"ContactID": contact_id},
        "BankAccount": accounts.account(doc.payment_account_id),
        "Date": ms_date(doc.issued_on),
        "Reference": f"{doc.reference} {doc.memo}".strip()[:REFERENCE_MAX],
        "LineAmountTypes": "NoTax",
        "CurrencyCode": doc.currency,
        "LineItems": _expense_lines(doc, accounts),
    }


def bill(doc: ExpenseDocument, *, contact_id: str, accounts: AccountCodes) -> dict[str, Any]:
    return {
        "Type": "ACCPAY",
        "Contact": {"ContactID": contact_id},
        "Date": ms_date(doc.issued_on),
        "DueDate": ms_date(doc.issued_on),
        "InvoiceNumber": doc.reference,
        "Reference": doc.memo[:REFERENCE_MAX],
        "Status": "AUTHORISED",
        "LineAmountTypes": "NoTax",
        "CurrencyCode": doc.currency,
        "LineItems": _expense_lines(doc, accounts),
    }


def manual_journal(doc: SummaryDocument, *, accounts: AccountCodes) -> dict[str, Any]:
    lines = []
    for line in doc.lines:
        amount = line.amount if line.side == PostingSide.DEBIT else -line.amount
        lines.append(
            {
                "Description": line.description[:DESCRIPTION_MAX],
                "LineAmount": amount,
                "TaxType": "NONE",
                **accounts.ref(line.account_id),
            }
        )
    return {
        "Narration": f"{doc.memo} {doc.reference}".strip()[:DESCRIPTION_MAX],
        "Date": ms_date(doc.issued_on),
        "Status": "POSTED",
        "LineAmountTypes": "NoTax",
        "JournalLines": lines,
    }


# Which collection each kind of document goes to, and its id field.
COLLECTION_OF_KIND = {
    DocumentKind.SALES_RECEIPT: ("Invoices", "InvoiceID"),
    DocumentKind.INVOICE_PAYMENT: ("Invoices", "InvoiceID"),
    DocumentKind.BILL: ("Invoices", "InvoiceID"),
    DocumentKind.EXPENSE: ("BankTransactions", "BankTransactionID"),
    DocumentKind.JOURNAL_ENTRY: ("ManualJournals", "ManualJournalID"),
}


def where_literal(value: str) -> str:
    """A string literal for Xero's ``where`` filter."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def total_of(record: Mapping[str, Any]) -> Decimal | None:
    value = record.get("Total")
    if value is None:
        lines = record.get("JournalLines") or []
        debits = sum((Decimal(str(x.get("LineAmount", 0))) for x in lines
                      if Decimal(str(x.get("LineAmount", 0))) > 0), ZERO)  # fmt: skip
        return debits if lines else None
    return Decimal(str(value))
