"""How long the documents still waiting take at the ledger's own limits (the Accounting
tab's progress bar). Ledger-neutral: a provider may say how many documents its limits let
through a minute (``documents_per_minute``); without it no estimate is shown."""

from __future__ import annotations

import math

from accounting.ledgers.registry import get_provider
from accounting.models import LedgerConnection


def seconds_left(connection: LedgerConnection, waiting: int) -> int | None:
    """Seconds the ``waiting`` documents need at the provider's limits, or None."""
    if waiting <= 0:
        return 0
    try:
        provider = get_provider(connection.provider)
    except Exception:  # noqa: BLE001 - an unknown provider simply has no estimate
        return None
    rate = getattr(provider, "documents_per_minute", None)
    per_minute, minute_seconds = rate() if callable(rate) else (0.0, 60.0)
    if per_minute <= 0:
        return None
    return math.ceil(waiting / per_minute * minute_seconds)
