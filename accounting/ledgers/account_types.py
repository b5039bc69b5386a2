"""Which ledger accounts each posting-settings mapping may use, per ledger, so the settings
page offers only accounts the ledger will accept there (sources in
docs/reference/provider-facts.md, "Account types").

QuickBooks Online (``Account.AccountType``): a sales receipt or payment is deposited to a
Bank or Other Current Asset account (Undeposited Funds); items (products, shipping, the tax
and reconciliation items Unify creates) never sit on Accounts Receivable or Accounts Payable
(6430); income mappings are Income accounts, costs Expense or Cost of Goods Sold; label
costs paid at once come out of a Bank or Credit Card account.

Xero (``Account.Type``): payments go only to BANK accounts or accounts with
``EnablePaymentsToAccount`` (the catalog marks those ``detail="payments"``); SPEND bank
transactions come out of a BANK account.

A ledger without rules here (QuickBooks Desktop) offers every account.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounting.ledgers.base import CatalogEntry


@dataclass(frozen=True, slots=True)
class Rule:
    kinds: frozenset[str] = frozenset()  # allowed account types (empty: any but ``excluded``)
    excluded: frozenset[str] = frozenset()
    payments: bool = False  # Xero: also any account that takes payments

    def allows(self, entry: CatalogEntry) -> bool:
        if entry.kind in self.excluded:
            return False
        if self.payments and entry.detail == "payments":
            return True
        return not self.kinds or entry.kind in self.kinds


def _rule(*kinds: str, excluded: tuple[str, ...] = (), payments: bool = False) -> Rule:
    return Rule(frozenset(kinds), frozenset(excluded), payments)


_QBO_INCOME = ("Income", "Other Income")
_QBO_COST = ("Expense", "Cost of Goods Sold", "Other Expense")
_QBO_NOT_FOR_ITEMS = ("Accounts Receivable", "Accounts Payable")
_XERO_INCOME = ("REVENUE", "SALES", "OTHERINCOME")
_XERO_COST = ("EXPENSE", "DIRECTCOSTS", "OVERHEADS")

RULES: dict[str, dict[str, Rule]] = {
    "qbo": {
        "product_income_account_id": _rule(*_QBO_INCOME),
        "shipping_income_account_id": _rule(*_QBO_INCOME),
        "discount_account_id": _rule(*_QBO_INCOME, *_QBO_COST),
        "tax_liability_account_id": _rule("Other Current Liability"),
        "deposit_account_id": _rule("Bank", "Other Current Asset"),
        "shipping_expense_account_id": _rule(*_QBO_COST),
        "fulfillment_fee_account_id": _rule(*_QBO_COST),
        "label_payment_account_id": _rule("Bank", "Credit Card"),
        "reconciliation_account_id": _rule(excluded=_QBO_NOT_FOR_ITEMS),
        # Marketplace-collected tax netted on a clearing account: through an item, like
        # reconciliation (never A/R or A/P).
        "marketplace_tax_account_id": _rule(excluded=_QBO_NOT_FOR_ITEMS),
    },
    "xero": {
        "product_income_account_id": _rule(*_XERO_INCOME),
        "shipping_income_account_id": _rule(*_XERO_INCOME),
        "discount_account_id": _rule(*_XERO_INCOME, *_XERO_COST),
        "tax_liability_account_id": _rule("CURRLIAB", "LIABILITY"),
        "deposit_account_id": _rule("BANK", payments=True),
        "shipping_expense_account_id": _rule(*_XERO_COST),
        "fulfillment_fee_account_id": _rule(*_XERO_COST),
        "label_payment_account_id": _rule("BANK"),
        "reconciliation_account_id": _rule(
            *_XERO_INCOME, *_XERO_COST, "CURRENT", "CURRLIAB", "LIABILITY"
        ),
        "marketplace_tax_account_id": _rule("CURRENT", "CURRLIAB", "LIABILITY"),
    },
}


def accounts_for(
    provider: str, field: str, accounts: tuple[CatalogEntry, ...]
) -> tuple[CatalogEntry, ...]:
    """The accounts of the catalog that ``field`` may be mapped to on ``provider``."""
    rule = RULES.get(provider, {}).get(field)
    if rule is None:
        return accounts
    return tuple(a for a in accounts if rule.allows(a))


def allows(provider: str, field: str, entry: CatalogEntry) -> bool:
    rule = RULES.get(provider, {}).get(field)
    return rule is None or rule.allows(entry)
