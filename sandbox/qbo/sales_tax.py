"""US sales tax on sales forms, as QuickBooks Online applies it (sources in
docs/reference/provider-facts.md):

- Automated sales tax (AST; US companies created since November 2017, flagged by
  ``Preferences.TaxPrefs.PartnerTaxEnabled``): when a sale does not state
  ``TxnTaxDetail.TotalTax``, QuickBooks computes the tax itself from the destination, the
  sale's ``ShipAddr`` (the company's address when there is none). A stated ``TotalTax`` is
  honoured as the tax of the sale (0.00 included).
- Which lines are taxed: a line's ``TaxCodeRef`` ``TAX`` or ``NON``; a line without one is
  taxed when its item is ``Taxable`` (items created through the API in an AST company are
  taxable unless they say otherwise).
- ``TAX`` and ``NON`` are line-level codes only: as a transaction's ``TxnTaxCodeRef`` (the rate
  of the whole sale) they are refused.

The AST engine's rates are not public; the stand-in uses one fixed rate per state
(``STATE_RATES``, the state-level base rates, no local rates), enough for a test to see a
posting that leaves the tax to QuickBooks come out off by that amount. A company without AST
(``PartnerTaxEnabled`` false) records the stated tax, else the sum of its ``TaxLine`` amounts,
else nothing.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from sandbox.qbo.wire import business_error

if TYPE_CHECKING:
    from sandbox.qbo.company import Company

CENT = Decimal("0.01")
LINE_CODES = ("TAX", "NON")
# State base rates (percent); a state not listed has no state sales tax in this stand-in.
STATE_RATES: dict[str, Decimal] = {
    "CA": Decimal("7.25"),
    "NY": Decimal("4"),
    "TX": Decimal("6.25"),
    "FL": Decimal("6"),
    "WA": Decimal("6.5"),
    "IL": Decimal("6.25"),
    "PA": Decimal("6"),
    "NJ": Decimal("6.625"),
    "MA": Decimal("6.25"),
    "GA": Decimal("4"),
    "OH": Decimal("5.75"),
    "CO": Decimal("2.9"),
    "AZ": Decimal("5.6"),
    "NV": Decimal("6.85"),
}


def uses_ast(company: Company) -> bool:
    return bool(company.pref("TaxPrefs", "PartnerTaxEnabled", False))


def items_taxable_by_default(company: Company) -> bool:
    return uses_ast(company)


def check_txn_code(raw_detail: Any) -> None:
    """Refuse ``TAX``/``NON`` as the transaction's tax code (they are line-level codes)."""
    if not isinstance(raw_detail, dict):
        return
    ref = raw_detail.get("TxnTaxCodeRef")
    value = ref.get("value") if isinstance(ref, dict) else ref
    if str(value or "").upper() in LINE_CODES:
        raise business_error(
            f"Invalid tax rate id - {value}. TAX and NON are line codes; the transaction's "
            "TxnTaxCodeRef must be a sales tax rate or group.",
            element="TxnTaxDetail.TxnTaxCodeRef",
        )


def states_total(raw_detail: Any) -> bool:
    return isinstance(raw_detail, dict) and raw_detail.get("TotalTax") not in (None, "")


def line_taxable(company: Company, detail: dict[str, Any], item_id: str | None) -> bool:
    code = detail.get("TaxCodeRef")
    value = code.get("value") if isinstance(code, dict) else code
    if value:
        return str(value).upper() == "TAX"
    if not item_id:
        return False
    item = company.records.get("Item", {}).get(item_id)
    return bool(item and item.get("Taxable"))


def destination_state(company: Company, body: dict[str, Any]) -> str:
    ship = body.get("ShipAddr")
    if isinstance(ship, dict) and ship.get("CountrySubDivisionCode"):
        return str(ship["CountrySubDivisionCode"]).strip().upper()
    address = company.company_info.get("LegalAddr") or company.company_info.get("CompanyAddr")
    return str((address or {}).get("CountrySubDivisionCode") or "").strip().upper()


def automated_tax(
    company: Company, body: dict[str, Any], taxable: Decimal, subtotal: Decimal, discount: Decimal
) -> dict[str, Any] | None:
    """The ``TxnTaxDetail`` the AST engine gives a sale that stated no tax, or None when the
    company has no AST or the sale states its tax."""
    raw = body.get("TxnTaxDetail")
    if not uses_ast(company) or states_total(raw):
        return None
    state = destination_state(company, body)
    rate = STATE_RATES.get(state, Decimal(0))
    if subtotal > 0 and discount:
        # A discount on the whole sale lowers the taxable amount in proportion.
        taxable -= discount * taxable / subtotal
    tax = (max(taxable, Decimal(0)) * rate / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)
    detail: dict[str, Any] = {"TotalTax": tax}
    if tax:
        detail["TaxLine"] = [
            {
                "Amount": tax,
                "DetailType": "TaxLineDetail",
                "TaxLineDetail": {
                    "PercentBased": True,
                    "TaxPercent": rate,
                    "NetAmountTaxable": taxable.quantize(CENT, rounding=ROUND_HALF_UP),
                },
            }
        ]
    return detail
