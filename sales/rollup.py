"""Running totals of the orders, kept by PostgreSQL itself, for the Sales tab's counts and
totals row when no date range or search narrows the list.

Adding up 200,000 orders takes PostgreSQL a few hundred milliseconds on a busy machine,
however good the index; the totals of everything are asked for on every visit of the Sales
tab. So the database keeps them, per organization and per combination of the other filters
(store, connection, order status, posting status, label cost yes/no, difference yes/no,
currency):

- ``sales_order_rollup`` holds the totals as of the last compaction;
- statement-level triggers on ``sales_order`` append what every INSERT, UPDATE and DELETE
  changed to ``sales_order_rollup_delta`` (one row per combination a statement touched,
  inserted in the writer's own transaction, so the totals are exact for whatever snapshot
  reads them, and no writer ever waits for another: appends take no row locks);
- ``order_rollup_compact`` (beat, every minute) folds the deltas into the totals in one
  transaction.

A read is the sum over both tables for the organization: a few hundred rows instead of the
orders. Date ranges and searches read the orders themselves (their sets are smaller).

Only on PostgreSQL; elsewhere (the embedded SQLite default) the Sales tab always adds up the
orders. ``TRUNCATE sales_order`` empties the totals too (a trigger); writes that bypass
triggers (``session_replication_role = replica``) must be followed by
``order_rollup_rebuild``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

DIMENSIONS = (
    "store_id", "connection_id", "status", "posting_status", "has_label", "has_difference",
    "currency",
)  # fmt: skip
MEASURES = ("orders", "order_total", "shipping_charged", "label_costs")

# The order columns each dimension and measure is computed from (``o`` is an order row).
ROW_EXPRESSIONS = (
    "o.organization_id, COALESCE(o.source_store_id, 0), COALESCE(o.connection_id, 0), "
    "o.status, o.posting_status, o.label_status = 'has_label', "
    "o.reconciliation_difference <> 0, o.currency"
)
GROUPED_MEASURES = (
    "count(*), sum(o.order_total), sum(o.shipping_charged), "
    "sum(o.label_cost_total + o.return_label_cost_total)"
)


def available() -> bool:
    return connection.vendor == "postgresql"


@dataclass(frozen=True, slots=True)
class RollupFilter:
    store_id: int | None = None
    connection_id: int | None = None
    status: str = ""
    label: str = ""  # "has" | "missing"
    difference: bool = False


def summary_rows(*, organization_id: int, where: RollupFilter) -> list[dict[str, Any]]:
    """Rows of (posting_status, currency, n, total, shipping, labels) like the direct
    aggregate's, from the totals and the pending deltas."""
    conditions, params = ["TRUE"], []
    if where.store_id is not None:
        conditions.append("store_id = %s")
        params.append(where.store_id)
    if where.connection_id is not None:
        conditions.append("connection_id = %s")
        params.append(where.connection_id)
    if where.status:
        conditions.append("status = %s")
        params.append(where.status)
    if where.label == "has":
        conditions.append("has_label")
    elif where.label == "missing":
        conditions.append("NOT has_label")
    if where.difference:
        conditions.append("has_difference")
    sql = f"""
        SELECT posting_status, currency, sum(orders), sum(order_total), sum(shipping_charged),
               sum(label_costs)
        FROM (
            SELECT * FROM sales_order_rollup WHERE organization_id = %s
            UNION ALL
            SELECT organization_id, {", ".join(DIMENSIONS)}, {", ".join(MEASURES)}
            FROM sales_order_rollup_delta WHERE organization_id = %s
        ) r
        WHERE {" AND ".join(conditions)}
        GROUP BY posting_status, currency
        HAVING sum(orders) <> 0
    """  # noqa: S608 - only fixed fragments are formatted in; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [organization_id, organization_id, *params])
        rows = cursor.fetchall()
    return [
        {
            "posting_status": posting_status,
            "currency": currency,
            "n": int(n),
            "total": total or Decimal("0.00"),
            "shipping": shipping or Decimal("0.00"),
            "labels": labels or Decimal("0.00"),
            "returns": Decimal("0.00"),
        }
        for posting_status, currency, n, total, shipping, labels in rows
    ]


def order_rollup_compact() -> int:
    """Fold the pending deltas into the totals; returns how many delta rows were folded.
    One compactor at a time (advisory lock); writers are never blocked."""
    if not available():
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext('sales_order_rollup'))")
        if not cursor.fetchone()[0]:
            return 0
        dims = ", ".join(DIMENSIONS)
        cursor.execute(
            f"""
            WITH moved AS (
                DELETE FROM sales_order_rollup_delta RETURNING *
            ), folded AS (
                INSERT INTO sales_order_rollup AS t (organization_id, {dims}, {", ".join(MEASURES)})
                SELECT organization_id, {dims}, sum(orders), sum(order_total),
                       sum(shipping_charged), sum(label_costs)
                FROM moved GROUP BY organization_id, {dims}
                ON CONFLICT (organization_id, {dims}) DO UPDATE SET
                    orders = t.orders + excluded.orders,
                    order_total = t.order_total + excluded.order_total,
                    shipping_charged = t.shipping_charged + excluded.shipping_charged,
                    label_costs = t.label_costs + excluded.label_costs
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM folded)
            """  # noqa: S608 - fixed column lists only
        )
        moved, _folded = cursor.fetchone()
        cursor.execute("DELETE FROM sales_order_rollup WHERE orders = 0")
    return int(moved)


def order_rollup_rebuild(*, organization_id: int | None = None) -> None:
    """Recompute the totals from the orders (after writes that bypassed the triggers)."""
    if not available():
        return
    only_org = "" if organization_id is None else "WHERE organization_id = %s"
    params = [] if organization_id is None else [organization_id]
    with transaction.atomic(), connection.cursor() as cursor:
        # Writers wait for the few seconds this takes; their deltas then land on top.
        cursor.execute("LOCK TABLE sales_order IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"DELETE FROM sales_order_rollup_delta {only_org}", params)  # noqa: S608
        cursor.execute(f"DELETE FROM sales_order_rollup {only_org}", params)  # noqa: S608
        cursor.execute(
            f"""
            INSERT INTO sales_order_rollup (organization_id, {", ".join(DIMENSIONS)},
                {", ".join(MEASURES)})
            SELECT {ROW_EXPRESSIONS}, {GROUPED_MEASURES}
            FROM sales_order o {only_org.replace("organization_id", "o.organization_id")}
            GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
            """,  # noqa: S608 - fixed fragments only
            params,
        )
