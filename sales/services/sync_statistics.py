"""Planner statistics refreshed while a first import grows the tables."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

# A first import of a large account grows the tables faster than autovacuum re-reads their
# statistics; with stale numbers PostgreSQL takes the new connection for an empty one and
# looks orders up by scanning all of its rows (a date index) instead of by source id (the
# unique index): every page would cost more than the last. Each table's statistics are
# refreshed after this many of its new rows, then after twice as many each time (plans
# change with the table's order of magnitude, not with every 10,000 rows), and when a listing
# that wrote to it ends. The schedule is kept per table: the labels listed first must not
# put off the orders table's first refresh (its look-ups would then scan for 80,000 rows).
ANALYZE_EVERY_ROWS = 10_000

# What each listing writes, and the columns its look-ups filter on (only those: the source
# records, several KB of JSON a row, would otherwise be read back and decompressed for
# statistics nobody uses; lines are only replaced by order id).
_ANALYZED = {
    "sales_order": "sales_order (organization_id, connection_id, external_id, store_name)",
    "sales_shippingcost": (
        "sales_shippingcost (organization_id, connection_id, external_id, order_external_id, "
        "order_id)"
    ),
}


def _refresh_statistics(table: str) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with transaction.atomic(), connection.cursor() as cursor:
        # A small sample is enough to tell the planner the connection is no longer empty;
        # autovacuum's own ANALYZE later reads the full sample.
        cursor.execute("SET LOCAL default_statistics_target = 10")
        cursor.execute(f"ANALYZE {_ANALYZED[table]}")


@dataclass
class _StatisticsSchedule:
    """When one table's statistics are refreshed next (see ``ANALYZE_EVERY_ROWS``)."""

    rows_since: int = 0
    after: int = 0

    def due(self, created: int, *, listing_ended: bool) -> bool:
        self.rows_since += created
        if self.rows_since >= (self.after or ANALYZE_EVERY_ROWS):
            self.after = 2 * (self.after or ANALYZE_EVERY_ROWS)
        elif not listing_ended or self.rows_since < ANALYZE_EVERY_ROWS // 2:
            return False
        self.rows_since = 0
        return True
