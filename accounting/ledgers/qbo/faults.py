"""QuickBooks Online answers that are not what their HTTP status says.

Throttling: Intuit documents HTTP 429 for a throttled request, but it has also answered
throttling with HTTP 403 and the same ``ThrottleExceeded`` fault (an XML body,
``message=ThrottleExceeded; errorCode=003001; statusCode=403``). Such a 403 means "wait and
retry", never "this company no longer lets us in": the connection is not marked for
reconnection and no owner is emailed. Sources in docs/reference/provider-facts.md.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from unify.core.stored_text import gettext as _

THROTTLE_MARKERS = (b"ThrottleExceeded", b"errorCode=003001")


def is_throttled(status: int, body: bytes) -> bool:
    """True for a throttling answer, whichever status it came with (429, or 403 with the
    ThrottleExceeded fault)."""
    if status == 429:
        return True
    return status == 403 and any(marker in (body or b"") for marker in THROTTLE_MARKERS)


# A write dated in closed books (on or before the company's closing date): QuickBooks answers
# it with 5010 "Account Period Closed" (the code it also uses for a stale SyncToken, so the
# words tell them apart).
ACCOUNT_PERIOD_CLOSED = 5010
PERIOD_CLOSED_WORDS = ("account period closed", "account period has closed")
# A DocNumber already used: 6140 on sales forms, and 6210 "Duplicate Document Number Error"
# (Intuit's list of frequent errors); both mean the same, for every document type.
DUPLICATE_DOC_NUMBER_CODES = frozenset({6140, 6210})


STALE_OBJECT = 5010


def fault_code(exc: Any) -> int:
    """The numeric code of a python-quickbooks exception (0 when it has none)."""
    try:
        return int(exc.error_code)
    except (TypeError, ValueError):
        return 0


def is_stale(exc: Any) -> bool:
    """5010 is a stale SyncToken, unless its words say the books are closed (same code)."""
    code = fault_code(exc)
    return code == STALE_OBJECT and not is_period_closed(
        code, str(exc.message or ""), str(exc.detail or "")
    )


def is_duplicate_doc_number(code: int) -> bool:
    return code in DUPLICATE_DOC_NUMBER_CODES


def is_period_closed(code: int, message: str, detail: str = "") -> bool:
    text = f"{message} {detail}".casefold()
    return code == ACCOUNT_PERIOD_CLOSED and any(words in text for words in PERIOD_CLOSED_WORDS)


def closing_date(preferences: dict[str, Any]) -> date | None:
    """``AccountingInfoPrefs.BookCloseDate`` of a Preferences answer (None when unset)."""
    raw = str((preferences.get("AccountingInfoPrefs") or {}).get("BookCloseDate") or "")
    try:
        return date.fromisoformat(raw[:10]) if raw else None
    except ValueError:
        return None


_HOME = re.compile(r"home currency ([A-Z]{3})")


def hold_reason(code: int, detail: str, message: str = "") -> str:
    """The ``HoldReason`` of a refusal the merchant resolves in QuickBooks ("" otherwise)."""
    if is_period_closed(code, message, detail):
        return "closed_books"
    if "multicurrency is not" in detail:
        return "currency"
    return ""


def plain_message(code: int, what: str, detail: str, message: str = "") -> str:
    """A plainer message than QuickBooks' own for faults a merchant fixes in QuickBooks
    ("" when QuickBooks' words are the best there is)."""
    if is_period_closed(code, message, detail):
        return _(
            "QuickBooks' books are closed for the date of %(what)s: QuickBooks refuses "
            "transactions dated on or before its closing date (%(detail)s). Unify holds this "
            "posting and does not retry it: move the closing date in QuickBooks (Settings > "
            "Advanced > Accounting) or post it by hand, then choose Retry."
        ) % {"what": what, "detail": detail}
    if "multicurrency is not" in detail:
        home = _HOME.search(detail)
        if home:
            return _(
                "The QuickBooks company keeps its books in %(currency)s currency only and "
                "%(what)s is in another currency: turn on multicurrency in QuickBooks "
                "(Settings > Advanced > Currency) or stop posting this store's orders to it, "
                "then choose Retry."
            ) % {"currency": home.group(1), "what": what}
        return _(
            "The QuickBooks company keeps its books in one currency only and %(what)s is in "
            "another currency: turn on multicurrency in QuickBooks (Settings > Advanced > "
            "Currency) or stop posting this store's orders to it, then choose Retry."
        ) % {"what": what}
    return ""
