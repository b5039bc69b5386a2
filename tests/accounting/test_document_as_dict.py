"""``document_as_dict`` gives what ``dataclasses.asdict`` gives, for every document kind."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from accounting.ledgers.as_dict import document_as_dict
from accounting.ledgers.base import (
    AmountLine,
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

COMMON = {
    "idempotency_key": "k1",
    "reference": "1001",
    "source_reference": "1001",
    "issued_on": date(2026, 3, 1),
    "currency": "USD",
    "memo": "m [unify:1]",
}


def _sale() -> SaleDocument:
    item = ItemRef(name="Mug", sku="MUG", create_if_missing=True, match_key="item:sku:mug")
    return SaleDocument(
        **COMMON,
        kind=DocumentKind.INVOICE_PAYMENT,
        customer=PartyRef(display_name="Ann", email="ann@example.com"),
        lines=(
            SaleLine(
                description="Mug",
                item=item,
                quantity=Decimal("2"),
                unit_price=Decimal("5.00"),
                amount=Decimal("10.00"),
            ),
        ),
        shipping=AmountLine(description="Shipping", amount=Decimal("4.50"), account_id="80"),
        discounts=(AmountLine(description="Promo", amount=Decimal("1.00")),),
        tax=Decimal("0.83"),
        tax_code_id="TAX",
        difference=None,
        total=Decimal("14.33"),
        payment=PaymentInfo(
            deposit_account_id="12", amount=Decimal("14.33"), paid_on=date(2026, 3, 2)
        ),
    )


def test_same_as_asdict_for_sales_expenses_and_summaries():
    expense = ExpenseDocument(
        **COMMON,
        kind=DocumentKind.EXPENSE,
        vendor=PartyRef(display_name="UPS"),
        lines=(ExpenseLine(account_id="60", amount=Decimal("7.10"), description="Label"),),
        payment_account_id="10",
    )
    summary = SummaryDocument(
        **COMMON,
        lines=(
            JournalLine(account_id="1", side=PostingSide.DEBIT, amount=Decimal("3")),
            JournalLine(account_id="2", side=PostingSide.CREDIT, amount=Decimal("3")),
        ),
    )
    for doc in (_sale(), expense, summary):
        mine, theirs = document_as_dict(doc), dataclasses.asdict(doc)
        assert mine == theirs
        assert repr(mine) == repr(theirs)  # the same types too (tuples stay tuples)
