"""A company's closing date, as QuickBooks Online enforces it: a transaction dated on or before
``Preferences.AccountingInfoPrefs.BookCloseDate`` cannot be created, changed or deleted
through the API: error 5010 "Account Period Closed", detail "The account period has closed."
(as QuickBooks answered it in routablehq/python-quickbooks#208; see
docs/reference/provider-facts.md). 6210 is not this: it is a duplicate document number."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from sandbox.qbo.wire import QboFault

if TYPE_CHECKING:
    from sandbox.qbo.company import Company

ACCOUNT_PERIOD_CLOSED = 5010


def closing_date(company: Company) -> date | None:
    raw = company.pref("AccountingInfoPrefs", "BookCloseDate", None)
    if not raw:
        return None
    try:
        return date.fromisoformat(str(raw)[:10])
    except ValueError:
        return None


def refuse_if_closed(
    company: Company, txn_date: str, existing: dict[str, Any] | None = None
) -> None:
    """Raise 5010 "Account Period Closed" when ``txn_date`` (or, for a change, the stored
    date) is in closed books."""
    closed = closing_date(company)
    if closed is None:
        return
    dates = [txn_date] + ([str(existing.get("TxnDate", ""))] if existing else [])
    for value in dates:
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            continue
        if day <= closed:
            raise QboFault(
                ACCOUNT_PERIOD_CLOSED,
                "Account Period Closed",
                f"The account period has closed. Enter a transaction date after the closing "
                f"date {closed.isoformat()}.",
                "TxnDate",
            )
