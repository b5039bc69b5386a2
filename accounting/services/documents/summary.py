"""A day's orders of one store into one journal entry (daily summary mode)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from accounting.ledgers.base import (
    ZERO,
    JournalLine,
    PostingSide,
    SummaryDocument,
)
from accounting.services import differences
from accounting.services.documents.common import LedgerFacts, _checked, _marker, _require
from accounting.services.documents.sale import _difference_line, sale_amounts
from unify.core.stored_text import gettext as _

if TYPE_CHECKING:
    from accounting.models import PostingSettings
    from sales.models import Order, OrderLine


@dataclass(frozen=True, slots=True)
class SummaryTotals:
    paid: Decimal = ZERO
    lines: Decimal = ZERO
    shipping: Decimal = ZERO
    tax: Decimal = ZERO
    discounts: Decimal = ZERO
    difference: Decimal = ZERO
    orders: int = 0
    marketplace_tax: Decimal = ZERO


def summary_totals(
    orders: Iterable[tuple[Order, Sequence[OrderLine]]], posting_settings: PostingSettings
) -> SummaryTotals:
    paid = lines_total = shipping = tax = discounts = difference = marketplace_tax = ZERO
    count = 0
    for order, lines in orders:
        amounts = sale_amounts(order, lines, posting_settings)
        if amounts.difference and not (
            posting_settings.reconciliation_enabled and posting_settings.reconciliation_account_id
        ):
            _difference_line(
                amounts.difference,
                posting_settings,
                what=_("Order %(number)s") % {"number": order.display_number},
                total=amounts.paid,
            )
        paid += amounts.paid
        lines_total += sum((a for _l, a in amounts.lines), ZERO)
        shipping += amounts.shipping
        tax += amounts.tax
        discounts += sum((a for _n, a in amounts.discounts), ZERO)
        difference += amounts.difference
        marketplace_tax += amounts.marketplace_tax
        count += 1
    return SummaryTotals(
        paid, lines_total, shipping, tax, discounts, difference, count, marketplace_tax
    )


def build_summary_document(
    *,
    totals: SummaryTotals,
    day: date,
    store_name: str,
    currency: str,
    posting_settings: PostingSettings,
    facts: LedgerFacts,
    document_number: str,
    idempotency_key: str,
    source_reference: str,
) -> SummaryDocument:
    """Debit what came in (deposit account) and the discounts; credit income, shipping and
    tax; the reconciliation difference goes to whichever side keeps the entry balanced."""
    ps = posting_settings
    entries: list[JournalLine] = []

    def add(
        account_label: str, account: str, amount: Decimal, side: PostingSide, text: str
    ) -> None:
        if not amount:
            return
        account = _require(account, account_label)
        if amount < ZERO:
            side = PostingSide.CREDIT if side == PostingSide.DEBIT else PostingSide.DEBIT
            amount = -amount
        entries.append(JournalLine(account_id=account, side=side, amount=amount, description=text))

    label = _("%(store)s sales of %(day)s") % {"store": store_name, "day": day.isoformat()}
    add(_("deposit to"), ps.deposit_account_id, totals.paid, PostingSide.DEBIT, label)
    add(_("discounts"), ps.discount_account_id, totals.discounts, PostingSide.DEBIT, label)
    add(_("product income"), ps.product_income_account_id, totals.lines, PostingSide.CREDIT, label)
    add(
        _("shipping income"),
        ps.shipping_income_account_id,
        totals.shipping,
        PostingSide.CREDIT,
        label,
    )
    add(
        _("sales tax liability"), ps.tax_liability_account_id, totals.tax, PostingSide.CREDIT, label
    )
    if totals.marketplace_tax and differences.nets_on_clearing(ps):
        for side, text in (
            (PostingSide.CREDIT, _("Sales tax collected by the marketplace")),
            (PostingSide.DEBIT, _("Sales tax remitted by the marketplace")),
        ):
            add(
                _("marketplace tax clearing"),
                ps.marketplace_tax_account_id,
                totals.marketplace_tax,
                side,
                text,
            )
    add(
        _("reconciliation difference"),
        ps.reconciliation_account_id,
        totals.difference,
        PostingSide.CREDIT,
        _("Reconciliation difference"),
    )
    doc = SummaryDocument(
        idempotency_key=idempotency_key,
        reference=document_number,
        source_reference=source_reference,
        issued_on=day,
        currency=currency,
        lines=tuple(entries),
        memo=f"{_marker(facts, source_reference)} {label} ({totals.orders})",
    )
    _checked(doc)
    return doc
