"""Day-by-day running totals for the dashboard's charts, kept by PostgreSQL triggers
(migration 0017), like the Sales tab's totals (sales/rollup.py):

- ``sales_order_daily``: per organization, day (the order date's day in the organization's
  time zone), store, connection, order status, posting status, label yes/no, difference
  yes/no and currency: orders, order totals, shipping charged, label costs;
- ``sales_sku_daily``: per organization, day, store, connection, currency and SKU: quantity
  and revenue (quantity x unit price) of the product lines of orders not merged away.

Triggers append one row per combination a statement changed (``folded`` false), so writers
never wait for each other; ``daily_rollup_compact`` (beat, with the Sales tab's compaction)
replaces the rows of each day that received some by their sums. Reads add up the rows of
the chosen days: a few thousand rows whatever the number of orders.

The Sales tab's date presets are whole days in the organization's time zone, so the
dashboard's totals for a period equal the Sales tab's totals for the same filters to the
cent (tests/dashboard/test_charts.py). Orders without an order date are in no day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.db import connection, transaction

from sales.filters import OrderFilters

ORDER_DIMENSIONS = (
    "day", "store_id", "connection_id", "status", "posting_status", "has_label",
    "has_difference", "currency",
)  # fmt: skip
ORDER_MEASURES = ("orders", "order_total", "shipping_charged", "label_costs")
SKU_DIMENSIONS = ("day", "store_id", "connection_id", "currency", "sku")
SKU_MEASURES = ("quantity", "revenue")


def available() -> bool:
    return connection.vendor == "postgresql"


def local_days(filters: OrderFilters, tz: ZoneInfo) -> tuple[date | None, date | None]:
    """The filter's bounds as days in the organization's zone: ``[first, end)``."""
    first = filters.date_from.astimezone(tz).date() if filters.date_from else None
    end = filters.date_until.astimezone(tz).date() if filters.date_until else None
    return first, end


def _day_conditions(filters: OrderFilters, tz: ZoneInfo) -> tuple[list[str], list]:
    first, end = local_days(filters, tz)
    conditions, params = [], []
    if first is not None:
        conditions.append("day >= %s")
        params.append(first)
    if end is not None:
        conditions.append("day < %s")
        params.append(end)
    return conditions, params


class DailyRow(NamedTuple):
    """One group of day totals (a named tuple: a year of them is built per page view, and
    a frozen dataclass costs several times as much to make)."""

    day: date
    store_id: int
    posting_status: str
    currency: str
    orders: int
    order_total: Decimal
    shipping_charged: Decimal
    label_costs: Decimal


def order_days(*, organization_id: int, filters: OrderFilters, tz: ZoneInfo) -> list[DailyRow]:
    """Per day, store, posting status and currency, for every filter but the posting status
    and the search (the caller applies the posting status; the dashboard has no search)."""
    conditions, params = _day_conditions(filters, tz)
    if filters.store_id is not None:
        conditions.append("store_id = %s")
        params.append(filters.store_id)
    if filters.connection_id is not None:
        conditions.append("connection_id = %s")
        params.append(filters.connection_id)
    if filters.status:
        conditions.append("status = %s")
        params.append(filters.status)
    if filters.label == "has":
        conditions.append("has_label")
    elif filters.label == "missing":
        conditions.append("NOT has_label")
    if filters.difference:
        conditions.append("has_difference")
    where = " AND ".join(["organization_id = %s", *conditions])
    sql = f"""
        SELECT day, store_id, posting_status, currency, sum(orders), sum(order_total),
               sum(shipping_charged), sum(label_costs)
        FROM sales_order_daily WHERE {where}
        GROUP BY 1, 2, 3, 4
        HAVING sum(orders) <> 0
    """  # noqa: S608 - fixed fragments only; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [organization_id, *params])
        rows = cursor.fetchall()
    # Sorted here, not by PostgreSQL: its sort of the groups (text keys under the database's
    # collation) cost more than the sums themselves (a hash aggregate needs no order).
    rows.sort(key=lambda row: row[:4])
    return [
        DailyRow(day, store_id, posting_status, currency, int(n), total, shipping, labels)
        for day, store_id, posting_status, currency, n, total, shipping, labels in rows
    ]


@dataclass(frozen=True, slots=True)
class SkuRow:
    sku: str
    currency: str
    quantity: Decimal
    revenue: Decimal


def top_skus(
    *, organization_id: int, filters: OrderFilters, tz: ZoneInfo, limit: int = 10
) -> list[SkuRow]:
    """The SKUs with the most revenue in the period (store and connection filters apply)."""
    conditions, params = _day_conditions(filters, tz)
    if filters.store_id is not None:
        conditions.append("store_id = %s")
        params.append(filters.store_id)
    if filters.connection_id is not None:
        conditions.append("connection_id = %s")
        params.append(filters.connection_id)
    where = " AND ".join(["organization_id = %s", *conditions])
    sql = f"""
        SELECT sku, currency, sum(quantity), sum(revenue)
        FROM sales_sku_daily WHERE {where}
        GROUP BY 1, 2
        HAVING sum(quantity) <> 0 OR sum(revenue) <> 0
        ORDER BY 4 DESC, 1, 2
        LIMIT %s
    """  # noqa: S608 - fixed fragments only; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [organization_id, *params, limit])
        rows = cursor.fetchall()
    return [SkuRow(sku, currency, quantity, revenue) for sku, currency, quantity, revenue in rows]


def daily_rollup_compact() -> int:
    """Replace the rows of every (organization, day) that received new rows by their sums;
    returns how many rows were folded. One compactor at a time; writers never wait."""
    if not available():
        return 0
    folded = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext('sales_daily_rollup'))")
        if not cursor.fetchone()[0]:
            return 0
        for table, dims, measures in (
            ("sales_order_daily", ORDER_DIMENSIONS, ORDER_MEASURES),
            ("sales_sku_daily", SKU_DIMENSIONS, SKU_MEASURES),
        ):
            dim_list = ", ".join(dims)
            sums = ", ".join(f"sum({m})" for m in measures)
            nonzero = " OR ".join(f"sum({m}) <> 0" for m in measures)
            # One statement: the rows it deletes are those its snapshot sees; rows that
            # writers commit meanwhile stay, unfolded, for the next round.
            cursor.execute(
                f"""
                WITH touched AS (
                    SELECT DISTINCT organization_id, day FROM {table} WHERE NOT folded
                ), moved AS (
                    DELETE FROM {table} r USING touched t
                    WHERE r.organization_id = t.organization_id AND r.day = t.day
                    RETURNING r.*
                ), inserted AS (
                    INSERT INTO {table} (organization_id, {dim_list}, {", ".join(measures)},
                                         folded)
                    SELECT organization_id, {dim_list}, {sums}, true FROM moved
                    GROUP BY organization_id, {dim_list}
                    HAVING {nonzero}
                    RETURNING 1
                )
                SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM inserted)
                """  # noqa: S608 - fixed table and column names only
            )
            folded += int(cursor.fetchone()[0])
    return folded


def daily_rollup_rebuild(*, organization_id: int | None = None) -> None:
    """Recompute the day totals from the orders (after writes that bypassed the triggers)."""
    if not available():
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE sales_order, sales_orderline IN SHARE ROW EXCLUSIVE MODE")
        only = "" if organization_id is None else "WHERE id = %s"
        cursor.execute(
            f"SELECT id, timezone FROM tenancy_organization {only}",  # noqa: S608
            [] if organization_id is None else [organization_id],
        )
        for org_id, tz_name in cursor.fetchall():
            cursor.execute("SELECT sales_daily_recompute(%s, %s)", [org_id, tz_name])
