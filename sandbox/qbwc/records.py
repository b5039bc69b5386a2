"""What a QuickBooks Desktop company file holds (list entries and transactions), its seeded
chart of accounts, and the qbXML reading helpers the company uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

PARSE_ERROR_HRESULT = "0x80040400"
PARSE_ERROR_MESSAGE = "QuickBooks found an error when parsing the provided XML text stream."
DEFAULT_COMPANY_NAME = "Sandbox Outdoor Supply"

# The seeded chart of accounts: (name, AccountType, SpecialAccountType).
SEED_ACCOUNTS = (
    ("Checking", "Bank", ""),
    ("Undeposited Funds", "OtherCurrentAsset", "UndepositedFunds"),
    ("Accounts Receivable", "AccountsReceivable", "AccountsReceivable"),
    ("Accounts Payable", "AccountsPayable", "AccountsPayable"),
    ("Company Visa", "CreditCard", ""),
    ("Sales Tax Payable", "OtherCurrentLiability", "SalesTaxPayable"),
    ("Merchandise Sales", "Income", ""),
    ("Shipping Income", "Income", ""),
    ("Discounts Given", "Income", ""),
    ("Postage and Delivery", "Expense", ""),
    ("Reconciliation Discrepancies", "Expense", ""),
)
SEED_ITEMS = (("Gift Card", "Merchandise Sales"),)

_TXN_KINDS = {
    "SalesReceiptAdd": "SalesReceipt",
    "InvoiceAdd": "Invoice",
    "ReceivePaymentAdd": "ReceivePayment",
    "CheckAdd": "Check",
    "CreditCardChargeAdd": "CreditCardCharge",
    "BillAdd": "Bill",
    "JournalEntryAdd": "JournalEntry",
}
_LIST_ADDS = {"CustomerAdd": "customer", "VendorAdd": "vendor", "ItemNonInventoryAdd": "item"}


def _d(text: str | None) -> Decimal:
    return Decimal((text or "0").strip() or "0")


def _child(element, name: str):
    return next((c for c in element if c.tag == name), None)


def _text(element, name: str) -> str:
    node = _child(element, name)
    return (node.text or "").strip() if node is not None else ""


class Refused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ListEntry:
    list_id: str
    kind: str  # customer | vendor | item | account | employee | other
    name: str
    edit_sequence: str
    created: str
    email: str = ""
    account_type: str = ""
    special_type: str = ""
    account_id: str = ""  # items: the account they post to
    active: bool = True


@dataclass
class Txn:
    txn_id: str
    kind: str
    ref_number: str
    txn_date: str
    memo: str
    edit_sequence: str
    created: str
    entity_id: str = ""
    account_id: str = ""
    total: str = "0.00"
    lines: list[dict[str, str]] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)  # TxnIDs of linked transactions
    applied_to: str = ""  # ReceivePayment: the invoice
