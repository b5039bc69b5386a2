"""Xero's account rules for the posting settings (``Account.Type``; see
:mod:`accounting.ledgers.account_types`): payments go only to BANK accounts or accounts with
``EnablePaymentsToAccount`` (the catalog marks those ``detail="payments"``); SPEND bank
transactions come out of a BANK account."""

from __future__ import annotations

from accounting.ledgers.account_types import Rule, rule

_INCOME = ("REVENUE", "SALES", "OTHERINCOME")
_COST = ("EXPENSE", "DIRECTCOSTS", "OVERHEADS")

ACCOUNT_RULES: dict[str, Rule] = {
    "product_income_account_id": rule(*_INCOME),
    "shipping_income_account_id": rule(*_INCOME),
    "discount_account_id": rule(*_INCOME, *_COST),
    "tax_liability_account_id": rule("CURRLIAB", "LIABILITY"),
    "deposit_account_id": rule("BANK", payments=True),
    "shipping_expense_account_id": rule(*_COST),
    "fulfillment_fee_account_id": rule(*_COST),
    "return_label_account_id": rule(*_COST),
    "label_payment_account_id": rule("BANK"),
    "reconciliation_account_id": rule(*_INCOME, *_COST, "CURRENT", "CURRLIAB", "LIABILITY"),
    "marketplace_tax_account_id": rule("CURRENT", "CURRLIAB", "LIABILITY"),
}
