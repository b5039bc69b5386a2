"""Sales tax on a QuickBooks Online sale (US companies), so QuickBooks records exactly the tax
ShipStation reports (sources in docs/reference/provider-facts.md):

- automated sales tax (US companies since November 2017) computes tax from the ship-to
  address for a sale that does not state it, and taxes lines without a tax code by their
  item: every sale therefore carries its ``ShipAddr``, a ``TAX``/``NON`` code on every line,
  and ``TxnTaxDetail.TotalTax`` (0.00 when there is none), which QuickBooks honours;
- ``TAX`` and ``NON`` are line codes only: the transaction's ``TxnTaxCodeRef`` is sent only
  for a mapped sales tax rate or group, never for them;
- tax that has no ledger tax code travels as its own line to the liability account; the
  sale's own tax is then 0.00 and every line ``NON`` (else QuickBooks would add tax again).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from accounting.ledgers.base import ZERO, PostalAddress, SaleDocument

TAXABLE = "TAX"
NOT_TAXABLE = "NON"
LINE_CODES = (TAXABLE, NOT_TAXABLE)


def _stated(doc: SaleDocument) -> bool:
    """The sale's tax goes to QuickBooks as its tax (not as a line on a liability account)."""
    return bool(doc.tax) and not doc.tax_account_id


def item_line_code(doc: SaleDocument) -> str:
    """The code of a sold item's line: taxable when the buyer paid tax on the sale."""
    return TAXABLE if _stated(doc) else NOT_TAXABLE


def txn_tax_detail(doc: SaleDocument) -> dict[str, Any]:
    tax: Decimal = doc.tax if _stated(doc) else ZERO
    detail: dict[str, Any] = {"TotalTax": tax}
    code = doc.tax_code_id.strip()
    if _stated(doc) and code and code.upper() not in LINE_CODES:
        detail = {"TxnTaxCodeRef": {"value": code}, "TotalTax": tax}
    return detail


def ship_addr(address: PostalAddress | None) -> dict[str, str] | None:
    """QuickBooks' ``PhysicalAddress`` (at most five lines of 500 characters)."""
    if address is None:
        return None
    out: dict[str, str] = {}
    for number, line in enumerate(address.lines[:5], start=1):
        out[f"Line{number}"] = line[:500]
    for key, value, limit in (
        ("City", address.city, 255),
        ("CountrySubDivisionCode", address.region, 255),
        ("PostalCode", address.postal_code, 30),
        ("Country", address.country, 255),
    ):
        if value:
            out[key] = value[:limit]
    return out
