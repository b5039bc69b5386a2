"""Orders ShipStation fails on: a page of ``/orders`` that answers HTTP 500 every time because
of one record.

Production clients step over such a record by shrinking the page (SkuVault's
``shipStationAccess`` halves it down to 1 and skips that position). Unify does the same with
page sizes that divide the listing's (500 -> 100 -> 10 -> 1); the reading around the record,
its import issue and the later retries are the import's (:mod:`sales.services.unreadable`).
ShipStation gives nothing of a record it cannot read, so the issue keeps where it sits: the
listing sorted by modify date, between the modify dates of its readable neighbours.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connections.sources.provider import UnreadableRecords
from unify.core.exceptions import ProviderUnavailable


class ShipStationUnreadableRecords(UnreadableRecords):
    shrink_sizes = (100, 10, 1)

    def fails_on_a_record(self, exc: Exception) -> bool:
        """Only a 500 may be ShipStation failing on one record of the page: a 502/503 is the
        load balancer, a timeout is the network."""
        return isinstance(exc, ProviderUnavailable) and exc.status_code == 500

    def window_where(self, window_start: datetime, window_end: datetime) -> dict[str, Any]:
        return {
            "listing": "/orders",
            "sortBy": "ModifyDate",
            "modifyDateStart": window_start.isoformat(),
            "modifyDateEnd": window_end.isoformat(),
        }
