"""Xero's lock dates: ``PeriodLockDate`` and ``EndOfYearLockDate`` on the Organisation (GET
/Organisation). Xero refuses a document dated on or before them with a validation error
("The document date cannot be before the end of year lock date, currently set at ...";
sources in docs/reference/provider-facts.md)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_MARKER = "lock date"


def is_lock_refusal(errors: list[str]) -> bool:
    return any(_MARKER in str(message).lower() for message in errors)


def _day(value: Any) -> date | None:
    text = str(value or "").strip()
    if not text:
        return None
    match = _MS_DATE.match(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC).date()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def locked_through(organisation: dict[str, Any]) -> date | None:
    """The last locked day: the later of the two lock dates (None when neither is set)."""
    days = [
        d
        for d in (
            _day(organisation.get("PeriodLockDate")),
            _day(organisation.get("EndOfYearLockDate")),
        )
        if d is not None
    ]
    return max(days) if days else None
