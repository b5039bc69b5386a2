"""QuickBooks Online's account rules for the posting settings (``Account.AccountType``; see
:mod:`accounting.ledgers.account_types`): a sales receipt or payment is deposited to a Bank or
Other Current Asset account (Undeposited Funds); items (products, shipping, the tax and
reconciliation items Unify creates) never sit on Accounts Receivable or Accounts Payable
(6430); income mappings are Income accounts, costs Expense or Cost of Goods Sold; label costs
paid at once come out of a Bank or Credit Card account."""

from __future__ import annotations

from accounting.ledgers.account_types import Rule, rule

_INCOME = ("Income", "Other Income")
_COST = ("Expense", "Cost of Goods Sold", "Other Expense")
_NOT_FOR_ITEMS = ("Accounts Receivable", "Accounts Payable")

ACCOUNT_RULES: dict[str, Rule] = {
    "product_income_account_id": rule(*_INCOME),
    "shipping_income_account_id": rule(*_INCOME),
    "discount_account_id": rule(*_INCOME, *_COST),
    "tax_liability_account_id": rule("Other Current Liability"),
    "deposit_account_id": rule("Bank", "Other Current Asset"),
    "shipping_expense_account_id": rule(*_COST),
    "fulfillment_fee_account_id": rule(*_COST),
    "return_label_account_id": rule(*_COST),
    "label_payment_account_id": rule("Bank", "Credit Card"),
    "reconciliation_account_id": rule(excluded=_NOT_FOR_ITEMS),
    # Marketplace-collected tax netted on a clearing account: through an item, like
    # reconciliation (never A/R or A/P).
    "marketplace_tax_account_id": rule(excluded=_NOT_FOR_ITEMS),
}
