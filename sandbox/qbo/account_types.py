"""Which account types QuickBooks Online accepts where (sources in
docs/reference/provider-facts.md, "Account types"):

- The account a sales receipt or a payment is deposited to must be a Bank or an Other
  Current Asset account (Undeposited Funds is one); anything else is refused as "Invalid
  account type: You need to select a different type of account for this transaction."
- A product or service cannot post to Accounts Receivable or Accounts Payable: error 6430
  "Invalid account type" ("You can't associate a product or service with accounts of certain
  types ...").

Both answers carry code 6430 here (the deposit one's code is assumed from its identical
message).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.qbo.wire import QboFault

if TYPE_CHECKING:
    from sandbox.qbo.company import Company

INVALID_ACCOUNT_TYPE = 6430
DEPOSIT_TYPES = frozenset({"Bank", "Other Current Asset"})
NOT_FOR_ITEMS = frozenset({"Accounts Receivable", "Accounts Payable"})


def _type_of(company: Company, ref: dict[str, Any] | None) -> str:
    if not ref:
        return ""
    account = company.records.get("Account", {}).get(str(ref.get("value", "")))
    return str((account or {}).get("AccountType", ""))


def check_deposit_account(company: Company, ref: dict[str, Any] | None) -> None:
    """Refuse a sales receipt's or payment's ``DepositToAccountRef`` of another type."""
    if ref and _type_of(company, ref) not in DEPOSIT_TYPES:
        raise QboFault(
            INVALID_ACCOUNT_TYPE,
            "Invalid account type",
            "Invalid account type: You need to select a different type of account for this "
            "transaction.",
            "DepositToAccountRef",
        )


def check_item_account(company: Company, ref: dict[str, Any] | None, element: str) -> None:
    """Refuse an item whose income (or expense) account is A/R or A/P."""
    if ref and _type_of(company, ref) in NOT_FOR_ITEMS:
        raise QboFault(
            INVALID_ACCOUNT_TYPE,
            "Invalid account type",
            "Invalid account type: You can't associate a product or service with accounts of "
            "certain types (such as Accounts Receivable and Accounts Payable). If the product "
            "or service is something you sell, use an income account; if it is something you "
            "buy, use an expense account.",
            element,
        )
