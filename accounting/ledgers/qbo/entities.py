"""QuickBooks' entities as the adapter names them: query literals, cleaned names, the
request ids of customers, vendors and items, the entity and app page of each document kind."""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils.translation import gettext_lazy

from accounting.ledgers.base import DocumentKind

# QuickBooks' entity names as a person reads them in a message.
_ENTITY_NAMES = {
    "Customer": gettext_lazy("customer"),
    "Vendor": gettext_lazy("vendor"),
    "Invoice": gettext_lazy("invoice"),
    "SalesReceipt": gettext_lazy("sales receipt"),
    "Payment": gettext_lazy("payment"),
    "Purchase": gettext_lazy("expense"),
    "Bill": gettext_lazy("bill"),
    "JournalEntry": gettext_lazy("journal entry"),
}


ENTITY_FOR_KIND = {
    DocumentKind.SALES_RECEIPT: "SalesReceipt",
    DocumentKind.INVOICE_PAYMENT: "Invoice",
    DocumentKind.EXPENSE: "Purchase",
    DocumentKind.BILL: "Bill",
    DocumentKind.JOURNAL_ENTRY: "JournalEntry",
}
APP_PAGE_FOR_KIND = {
    DocumentKind.SALES_RECEIPT: "salesreceipt",
    DocumentKind.INVOICE_PAYMENT: "invoice",
    DocumentKind.EXPENSE: "expense",
    DocumentKind.BILL: "bill",
    DocumentKind.JOURNAL_ENTRY: "journal",
}
DUPLICATE_NAME = 6240
OBJECT_NOT_FOUND = 610
# Names tried for one customer or vendor before giving up (the name, then qualified ones).
MAX_NAME_CANDIDATES = 5


def quote(value: str) -> str:
    """A string literal for QBO's query language."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def clean_name(value: str, limit: int = 100) -> str:
    """QBO names may not hold a colon (it separates sub-customers/sub-items), tabs or
    newlines, and have length limits."""
    cleaned = " ".join(value.replace(":", "-").split())
    return cleaned[:limit] or "-"


def _ref(value: str) -> dict[str, str]:
    return {"value": value}


def _entity_request_id(kind: str, name: str, email: str = "") -> str:
    # The email is part of it: two buyers of the same name must not replay each other's create.
    key = f"{name.casefold()}\n{email.casefold()}" if email else name.casefold()
    return f"unify-{kind}-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def _with_suffix(name: str, suffix: str, limit: int = 100) -> str:
    """``name`` + ``suffix`` within QBO's name limit, shortening the name, not the suffix."""
    room = max(limit - len(suffix), 1)
    return clean_name(name[:room].rstrip() + suffix, limit)


def _same_buyer(row: dict[str, Any], email: str) -> bool:
    """A customer found by name is this buyer unless both have an email and they differ."""
    theirs = str((row.get("PrimaryEmailAddr") or {}).get("Address") or "").strip()
    return not theirs or not email or theirs.casefold() == email.casefold()
