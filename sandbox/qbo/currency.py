"""Currencies as a QuickBooks Online company holds them: one home currency
(``Preferences.CurrencyPrefs.HomeCurrency``) and, only when ``MultiCurrencyEnabled`` is on,
transactions in other currencies with an ``ExchangeRate`` (home units per foreign unit; the
one given, else QuickBooks' own rate). A company without multicurrency refuses a transaction
in another currency. Preference names are Intuit's; the refusal's code and words are assumed
(docs/reference/provider-facts.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox.qbo.wire import business_error, to_decimal

if TYPE_CHECKING:
    from sandbox.qbo.company import Company

NAMES = {
    "USD": "United States Dollar",
    "CAD": "Canadian Dollar",
    "EUR": "Euro",
    "GBP": "British Pound Sterling",
    "AUD": "Australian Dollar",
}
# The stand-in's "QuickBooks rate" when a transaction states none (home units per unit).
RATES_TO_USD = {
    "CAD": Decimal("0.73"),
    "EUR": Decimal("1.08"),
    "GBP": Decimal("1.27"),
    "AUD": Decimal("0.66"),
}


def home_currency(company: Company) -> str:
    home = company.pref("CurrencyPrefs", "HomeCurrency", {"value": "USD"})
    value = home.get("value") if isinstance(home, dict) else home
    return str(value or "USD").upper()


def apply_currency(company: Company, record: dict[str, Any], body: dict[str, Any]) -> None:
    """Set the transaction's ``CurrencyRef`` (and ``ExchangeRate`` when foreign)."""
    home = home_currency(company)
    raw = body.get("CurrencyRef")
    wanted = str((raw.get("value") if isinstance(raw, dict) else raw) or home).upper()
    record.pop("ExchangeRate", None)
    record["CurrencyRef"] = {"value": wanted, "name": NAMES.get(wanted, wanted)}
    if wanted == home:
        return
    if not company.pref("CurrencyPrefs", "MultiCurrencyEnabled", False):
        raise business_error(
            f"Currency {wanted} is not the home currency {home} and multicurrency is not "
            "turned on for this company.",
            element="CurrencyRef",
        )
    rate = to_decimal(body.get("ExchangeRate"), "ExchangeRate")
    if rate is None:
        rate = RATES_TO_USD.get(wanted, Decimal("1"))
    record["ExchangeRate"] = rate
