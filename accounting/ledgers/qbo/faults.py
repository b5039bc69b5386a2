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

THROTTLE_MARKERS = (b"ThrottleExceeded", b"errorCode=003001")


def is_throttled(status: int, body: bytes) -> bool:
    """True for a throttling answer, whichever status it came with (429, or 403 with the
    ThrottleExceeded fault)."""
    if status == 429:
        return True
    return status == 403 and any(marker in (body or b"") for marker in THROTTLE_MARKERS)


# A write dated in closed books (on or before the company's closing date).
ACCOUNT_PERIOD_CLOSED = 6210


def closing_date(preferences: dict[str, Any]) -> date | None:
    """``AccountingInfoPrefs.BookCloseDate`` of a Preferences answer (None when unset)."""
    raw = str((preferences.get("AccountingInfoPrefs") or {}).get("BookCloseDate") or "")
    try:
        return date.fromisoformat(raw[:10]) if raw else None
    except ValueError:
        return None


_HOME = re.compile(r"home currency ([A-Z]{3})")


def plain_message(code: int, what: str, detail: str) -> str:
    """A plainer message than QuickBooks' own for faults a merchant fixes in QuickBooks
    ("" when QuickBooks' words are the best there is)."""
    if code == ACCOUNT_PERIOD_CLOSED:
        return (
            f"QuickBooks' books are closed for the date of {what}: QuickBooks refuses "
            f"transactions dated on or before its closing date ({detail}). Unify holds this "
            "posting and does not retry it: move the closing date in QuickBooks (Settings > "
            "Advanced > Accounting) or post it by hand, then choose Retry."
        )
    if "multicurrency is not" in detail:
        home = _HOME.search(detail)
        return (
            f"The QuickBooks company keeps its books in {home.group(1) if home else 'one'} "
            f"currency only and {what} is in another currency: turn on multicurrency in "
            "QuickBooks (Settings > Advanced > Currency) or stop posting this store's orders "
            "to it, then choose Retry."
        )
    return ""
