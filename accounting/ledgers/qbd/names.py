"""QuickBooks Desktop's field limits and how our values are fitted into them.

Limits from Intuit's qbXML schema (qbxmlops130.xsd, as the On-Screen Reference gives them):
``RefNumber`` 11 on sales receipts, invoices, checks, credit card charges and journal entries
(20 on bills and received payments), ``Name`` 41 on customers and vendors, 31 on items,
``Memo`` 4095 (4000 on journal entries), ``Email`` 1023, line ``Desc`` 4095.

A name longer than its limit keeps its beginning and gets a short hash of the whole name, so
the same name always fits to the same value and two long names that share a beginning stay
apart. List names may not hold a colon (QuickBooks separates sub-customers and sub-items
with it), tabs or line breaks.
"""

from __future__ import annotations

import hashlib

REF_NUMBER = 11
REF_NUMBER_LONG = 20  # BillAdd, ReceivePaymentAdd
CUSTOMER_NAME = 41
VENDOR_NAME = 41
ITEM_NAME = 31
MEMO = 4095
JOURNAL_MEMO = 4000
EMAIL = 1023
DESC = 4095
# Names tried for one customer, vendor or item before its documents fail.
MAX_NAME_CANDIDATES = 5


def _tag(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:4].upper()


def clean(value: str) -> str:
    return " ".join(value.replace(":", "-").split())


def fit(value: str, limit: int) -> str:
    """``value`` cleaned and within ``limit`` characters, deterministically."""
    cleaned = clean(value) or "-"
    if len(cleaned) <= limit:
        return cleaned
    tag = _tag(cleaned)
    return f"{cleaned[: limit - len(tag) - 2].rstrip()} ~{tag}"


def fit_text(value: str, limit: int) -> str:
    """Free text (memos, descriptions): cut, never hashed."""
    return value[:limit]


def candidates(display_name: str, *, email: str, limit: int) -> list[str]:
    """The names tried, in order, for one customer/vendor/item: its own name, then names
    qualified by the email (two buyers called "Jane Doe"), then numbered ones."""
    base = clean(display_name) or "-"
    names = [fit(base, limit)]
    if email:
        names.append(fit(f"{base} ({email})", limit))
    seed = email or base
    for n in range(2, MAX_NAME_CANDIDATES + 1):
        names.append(fit(f"{base} ~{_tag(f'{seed}#{n}')}", limit))
    unique: list[str] = []
    for name in names:
        if name.casefold() not in {u.casefold() for u in unique}:
            unique.append(name)
    return unique[:MAX_NAME_CANDIDATES]
