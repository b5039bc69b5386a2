"""A queued posting's document, read back from what the engine stored when it queued it
(``Posting.document``: ``dataclasses.asdict`` of the ledger-neutral document, Decimals and
dates as strings)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from accounting.ledgers.base import (
    AmountLine,
    Document,
    DocumentKind,
    ExpenseDocument,
    ExpenseLine,
    ItemRef,
    JournalLine,
    PartyRef,
    PaymentInfo,
    PostingSide,
    SaleDocument,
    SaleLine,
    SummaryDocument,
)


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _party(data: dict[str, Any]) -> PartyRef:
    return PartyRef(
        display_name=data.get("display_name", ""),
        external_id=data.get("external_id", ""),
        email=data.get("email", ""),
        match_key=data.get("match_key", ""),
    )


def _item(data: dict[str, Any] | None) -> ItemRef | None:
    if not data:
        return None
    return ItemRef(
        name=data.get("name", ""),
        external_id=data.get("external_id", ""),
        sku=data.get("sku", ""),
        create_if_missing=bool(data.get("create_if_missing")),
        income_account_id=data.get("income_account_id", ""),
        match_key=data.get("match_key", ""),
    )


def _amount_line(data: dict[str, Any] | None) -> AmountLine | None:
    if not data:
        return None
    return AmountLine(
        description=data.get("description", ""),
        amount=_d(data["amount"]),
        account_id=data.get("account_id", ""),
        item=_item(data.get("item")),
    )


def document_from_json(data: dict[str, Any]) -> Document:
    kind = DocumentKind(data["kind"])
    common = {
        "idempotency_key": data.get("idempotency_key", ""),
        "reference": data["reference"],
        "source_reference": data.get("source_reference", ""),
        "issued_on": _date(data["issued_on"]),
        "currency": data.get("currency", "USD"),
        "memo": data.get("memo", ""),
    }
    if kind in (DocumentKind.SALES_RECEIPT, DocumentKind.INVOICE_PAYMENT):
        payment = data["payment"]
        return SaleDocument(
            **common,
            kind=kind,
            customer=_party(data["customer"]),
            lines=tuple(
                SaleLine(
                    description=line.get("description", ""),
                    item=_item(line["item"]),
                    quantity=_d(line["quantity"]),
                    unit_price=_d(line["unit_price"]),
                    amount=_d(line["amount"]),
                    tax_code_id=line.get("tax_code_id", ""),
                )
                for line in data.get("lines", ())
            ),
            shipping=_amount_line(data.get("shipping")),
            discounts=tuple(_amount_line(d) for d in data.get("discounts", ())),
            tax=_d(data.get("tax", "0")),
            tax_code_id=data.get("tax_code_id", ""),
            difference=_amount_line(data.get("difference")),
            total=_d(data["total"]),
            payment=PaymentInfo(
                deposit_account_id=payment.get("deposit_account_id", ""),
                amount=_d(payment["amount"]),
                paid_on=_date(payment["paid_on"]),
                payment_method_id=payment.get("payment_method_id", ""),
                reference=payment.get("reference", ""),
            ),
            tax_account_id=data.get("tax_account_id", ""),
            tax_item=_item(data.get("tax_item")),
        )
    if kind in (DocumentKind.EXPENSE, DocumentKind.BILL):
        return ExpenseDocument(
            **common,
            kind=kind,
            vendor=_party(data["vendor"]),
            lines=tuple(
                ExpenseLine(
                    account_id=line["account_id"],
                    amount=_d(line["amount"]),
                    description=line.get("description", ""),
                )
                for line in data.get("lines", ())
            ),
            payment_account_id=data.get("payment_account_id", ""),
            payment_account_type=data.get("payment_account_type", ""),
        )
    return SummaryDocument(
        **common,
        lines=tuple(
            JournalLine(
                account_id=line["account_id"],
                side=PostingSide(line["side"]),
                amount=_d(line["amount"]),
                description=line.get("description", ""),
            )
            for line in data.get("lines", ())
        ),
    )
