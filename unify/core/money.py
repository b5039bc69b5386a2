"""The one rounding rule for money, shared by the import and every ledger's documents.

Amounts are rounded to cents **half-up** (``ROUND_HALF_UP``: 2.345 -> 2.35, -2.345 -> -2.35),
and an order line's amount is rounded on its own before lines are summed (quantity x unit
price, each to the cent, then added), which is what ledgers check
(``Amount = Qty x UnitPrice`` per line) and what a buyer sees on a receipt. The import uses the
same rule for an order's subtotal and reconciliation difference, so a difference shown as 0.00
in the Sales tab is never a 0.01 line in the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ROUNDING = ROUND_HALF_UP
# How many places a stored line quantity and unit price keep (sales.OrderLine).
LINE_PLACES = Decimal("0.0001")


def to_cents(value: Decimal) -> Decimal:
    """``value`` rounded to cents by the one rule."""
    return value.quantize(CENT, rounding=ROUNDING)


def line_places(value: Decimal) -> Decimal:
    """A line's quantity or unit price as stored (four places, the same rule)."""
    return value.quantize(LINE_PLACES, rounding=ROUNDING)


def line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """One line's amount: quantity x unit price, rounded to cents on its own."""
    return to_cents(quantity * unit_price)


def sum_of_lines(pairs: Iterable[tuple[Decimal, Decimal]]) -> Decimal:
    """The sum of (quantity, unit price) lines, each rounded first."""
    return sum((line_amount(q, p) for q, p in pairs), Decimal("0.00"))
