"""Day-by-day running totals for the dashboard's charts, kept by PostgreSQL triggers
(migration 0017), like the Sales tab's totals (sales/rollup.py):

- ``sales_order_daily``: per organization, day (the order date's day in the organization's
  time zone), store, connection, order status, posting status, label yes/no, difference
  yes/no and currency: orders, order totals, shipping charged, label costs;
- ``sales_sku_daily``: per organization, day, store, connection, currency and SKU: quantity
  and revenue (quantity x unit price) of the product lines of orders not merged away.

Triggers append one row per combination a statement changed (``folded`` false), so writers
never wait for each other; ``daily_rollup_compact`` (beat, with the Sales tab's compaction)
replaces the rows of each day that received some by their sums, and adds them to the month
totals (``sales_order_monthly``, ``sales_sku_monthly``: migration 0021; no triggers).

Reads add up the rows of the chosen days: a few thousand rows whatever the number of orders.
Long periods read whole months from the month totals (plus the month's day rows not folded
yet) and only the days around them from the day totals; a part of a month may be read as the
whole month minus its other days when those are fewer (the last 30 days: two months minus a
few days). The dashboard's reads go to the database in one round trip.

The Sales tab's date presets are whole days in the organization's time zone, so the
dashboard's totals for a period equal the Sales tab's totals for the same filters to the
cent (tests/dashboard/test_charts.py, test_month_totals.py). Orders without an order date
are in no day (the dashboard takes the totals of a period without any date bound from the
Sales tab's running totals).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
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


class DailyRow(NamedTuple):
    """One group of day (or month) totals (a named tuple: a year of them may be built per
    page view, and a frozen dataclass costs several times as much to make). ``day`` is the
    first day of the group's day or month."""

    day: date
    store_id: int
    posting_status: str
    currency: str
    orders: int
    order_total: Decimal
    shipping_charged: Decimal
    label_costs: Decimal


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def whole_months(first: date | None, end: date | None) -> tuple[date | None, date | None] | None:
    """The whole months inside ``[first, end)`` as ``[m0, m1)`` (first days of months; None
    where the period is open), or None when there is no whole month in it."""
    m0 = None if first is None else (first if first.day == 1 else next_month(first))
    m1 = None if end is None else end.replace(day=1)
    if m0 is not None and m1 is not None and m0 >= m1:
        return None
    return m0, m1


def _range(column: str, low: date | None, high: date | None) -> tuple[list[str], list]:
    conditions, params = [], []
    if low is not None:
        conditions.append(f"{column} >= %s")
        params.append(low)
    if high is not None:
        conditions.append(f"{column} < %s")
        params.append(high)
    return conditions, params


def _partials(first: date, end: date) -> list[tuple[date, date]]:
    """``[first, end)`` cut at the month boundaries."""
    cuts, day = [], first
    while day < end:
        stop = min(next_month(day), end)
        cuts.append((day, stop))
        day = stop
    return cuts


def _pieces(
    *,
    daily: str,
    monthly: str,
    dims: str,
    measures: tuple[str, ...],
    day_bucket: str,
    organization_id: int,
    first: date | None,
    end: date | None,
    dimensions: tuple[list[str], list],
    month_dimensions: tuple[list[str], list],
    complement_before: date | None = None,
) -> tuple[str, list]:
    """``UNION ALL`` of the rows making up the period ``[first, end)``: the whole months from
    the month table plus those months' day rows not folded yet (the two together are the
    month: migration 0021), and the days before and after them from the day table.

    With ``complement_before`` (the day after today, for the cost), a part of a month may
    also be read as its whole month minus the month's other days, when those are fewer:
    the last 30 days are two months minus a few days, not 30 days of rows. Every result
    row is then a month bucket (``day_bucket`` is only right for whole rows of a day)."""
    dim_sql, dim_params = dimensions
    month_dim_sql, month_dim_params = month_dimensions
    parts: list[str] = []
    params: list = []
    plain = ", ".join(measures)
    negated = ", ".join(f"-{m}" for m in measures)

    def add(table: str, bucket: str, conditions: list[str], values: list, sign: str) -> None:
        where = " AND ".join(["organization_id = %s", *conditions])
        parts.append(f"SELECT {bucket} AS bucket, {dims}, {sign} FROM {table} WHERE {where}")  # noqa: S608
        params.extend([organization_id, *values])

    def month_rows(m0: date | None, m1: date | None) -> None:
        span, span_params = _range("month", m0, m1)
        add(monthly, "month", [*span, *month_dim_sql], [*span_params, *month_dim_params], plain)
        span, span_params = _range("day", m0, m1)
        conditions = [*span, "NOT folded", *dim_sql]
        add(daily, day_bucket, conditions, [*span_params, *dim_params], plain)

    def day_rows(low: date | None, high: date | None, sign: str = plain) -> None:
        span, span_params = _range("day", low, high)
        add(daily, day_bucket, [*span, *dim_sql], [*span_params, *dim_params], sign)

    def partial(low: date, high: date) -> None:
        """``[low, high)``, inside one month."""
        start, stop = low.replace(day=1), next_month(low)
        outside = (low - start).days
        if complement_before is not None:
            outside += max(0, (min(stop, complement_before) - high).days)
        if complement_before is None or outside + 2 >= (high - low).days:
            day_rows(low, high)
            return
        month_rows(start, stop)
        if low > start:
            day_rows(start, low, negated)
        if high < stop:
            day_rows(high, stop, negated)

    months = whole_months(first, end)
    if months is None:  # both ends set, no whole month between them
        for low, high in _partials(first, end):
            partial(low, high)
        return " UNION ALL ".join(parts), params
    m0, m1 = months
    month_rows(m0, m1)
    if m0 is not None and first is not None and first < m0:
        partial(first, m0)
    if m1 is not None and end is not None and m1 < end:
        partial(m1, end)
    return " UNION ALL ".join(parts), params


def _order_dimensions(filters: OrderFilters) -> tuple[list[str], list]:
    conditions, params = [], []
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
    return conditions, params


# The dashboard's sums are a few thousand rows: starting parallel workers for them costs more
# than the sums (measured on a busy 2-core machine: 20 ms of Gather for 3 ms of work), and
# their CPU time would not show in the request's. Set for the reads' own statement only.
NO_PARALLEL = "SET LOCAL max_parallel_workers_per_gather = 0"


def _one_round_trip() -> bool:
    """Several statements in one ``execute`` need client-side binding (Django's default
    with psycopg 3; the embedded SQLite has no day totals at all)."""
    return not connection.settings_dict.get("OPTIONS", {}).get("server_side_binding")


def _read(statements: list[tuple[str, list]]) -> list[list[tuple]]:
    """The rows of each statement, in one round trip to the database when possible (each
    round trip waits for the database's turn on a busy machine)."""
    results: list[list[tuple]] = []
    with connection.cursor() as cursor:
        if _one_round_trip():
            sql = ";\n".join([NO_PARALLEL, *(s for s, _ in statements)])
            cursor.execute(sql, [p for _, params in statements for p in params])
            for _statement in statements:
                cursor.cursor.nextset()
                results.append(cursor.fetchall())
        else:
            for sql, params in statements:
                cursor.execute(sql, params)
                results.append(cursor.fetchall())
    return results


def first_day_sql(*, organization_id: int) -> tuple[str, list]:
    """The earliest day with orders (for periods open at the start)."""
    return "SELECT min(day) FROM sales_order_daily WHERE organization_id = %s", [organization_id]


def first_day(*, organization_id: int) -> date | None:
    return _read([first_day_sql(organization_id=organization_id)])[0][0][0]


def order_days_sql(
    *,
    organization_id: int,
    filters: OrderFilters,
    tz: ZoneInfo,
    by_month: bool = False,
    complement_before: date | None = None,
) -> tuple[str, list]:
    """Per day (``by_month``: per month), store, posting status and currency, for every
    filter but the posting status and the search (the caller applies the posting status;
    the dashboard has no search). By month, whole months are read from the month totals."""
    first, end = local_days(filters, tz)
    dimensions = _order_dimensions(filters)
    dims = "store_id, posting_status, currency"
    if by_month:
        union, params = _pieces(
            daily="sales_order_daily",
            monthly="sales_order_monthly",
            dims=dims,
            measures=ORDER_MEASURES,
            day_bucket="date_trunc('month', day)::date",
            organization_id=organization_id,
            first=first,
            end=end,
            dimensions=dimensions,
            month_dimensions=dimensions,
            complement_before=complement_before,
        )
    else:
        days, day_params = _range("day", first, end)
        where = " AND ".join(["organization_id = %s", *days, *dimensions[0]])
        union = (
            f"SELECT day AS bucket, {dims}, {', '.join(ORDER_MEASURES)} "  # noqa: S608
            f"FROM sales_order_daily WHERE {where}"
        )
        params = [organization_id, *day_params, *dimensions[1]]
    sql = f"""
        SELECT bucket, store_id, posting_status, currency, sum(orders), sum(order_total),
               sum(shipping_charged), sum(label_costs)
        FROM ({union}) r
        GROUP BY 1, 2, 3, 4
        HAVING sum(orders) <> 0
    """  # noqa: S608 - fixed fragments only; values are parameters
    return sql, params


def order_day_rows(rows: list[tuple]) -> list[DailyRow]:
    # Sorted here, not by PostgreSQL: its sort of the groups (text keys under the database's
    # collation) cost more than the sums themselves (a hash aggregate needs no order).
    rows.sort(key=lambda row: row[:4])
    return [
        DailyRow(day, store_id, posting_status, currency, int(n), total, shipping, labels)
        for day, store_id, posting_status, currency, n, total, shipping, labels in rows
    ]


def order_days(**kwargs) -> list[DailyRow]:
    """``order_days_sql``'s rows (same arguments)."""
    return order_day_rows(_read([order_days_sql(**kwargs)])[0])


@dataclass(frozen=True, slots=True)
class SkuRow:
    sku: str
    currency: str
    quantity: Decimal
    revenue: Decimal


ALL = -1  # the month table's store_id / connection_id of its per-connection and total rows


def top_skus_sql(
    *,
    organization_id: int,
    filters: OrderFilters,
    tz: ZoneInfo,
    limit: int = 10,
    complement_before: date | None = None,
) -> tuple[str, list]:
    """The SKUs with the most revenue in the period (store and connection filters apply).
    Whole months come from the month totals, at the level the filters ask for (a store, a
    connection, the whole organization)."""
    first, end = local_days(filters, tz)
    conditions, params = [], []
    if filters.store_id is not None:
        conditions.append("store_id = %s")
        params.append(filters.store_id)
    if filters.connection_id is not None:
        conditions.append("connection_id = %s")
        params.append(filters.connection_id)
    level = list(conditions), list(params)
    if filters.store_id is None:
        level[0].insert(0, "store_id = %s")
        level[1].insert(0, ALL)
        if filters.connection_id is None:
            level[0].append("connection_id = %s")
            level[1].append(ALL)
    union, union_params = _pieces(
        daily="sales_sku_daily",
        monthly="sales_sku_monthly",
        dims="sku, currency",
        measures=SKU_MEASURES,
        day_bucket="day",
        organization_id=organization_id,
        first=first,
        end=end,
        dimensions=(conditions, params),
        month_dimensions=level,
        complement_before=complement_before,
    )
    sql = f"""
        SELECT sku, currency, sum(quantity), sum(revenue)
        FROM ({union}) r
        GROUP BY 1, 2
        HAVING sum(quantity) <> 0 OR sum(revenue) <> 0
        ORDER BY 4 DESC, 1, 2
        LIMIT %s
    """  # noqa: S608 - fixed fragments only; values are parameters
    return sql, [*union_params, limit]


def sku_rows(rows: list[tuple]) -> list[SkuRow]:
    return [SkuRow(sku, currency, quantity, revenue) for sku, currency, quantity, revenue in rows]


def top_skus(**kwargs) -> list[SkuRow]:
    """``top_skus_sql``'s rows (same arguments)."""
    return sku_rows(_read([top_skus_sql(**kwargs)])[0])


def read_all(statements: list[tuple[str, list]]) -> list[list[tuple]]:
    """Several of the ``*_sql`` statements' rows, in one round trip."""
    return _read(statements)


def _month_upsert(table: str, dims: tuple[str, ...], measures: tuple[str, ...]) -> str:
    """The CTE adding the folded day rows that were not folded before (``moved``) to their
    months (see migration 0021); SKUs at their three levels."""
    month = "date_trunc('month', day)"
    rest = [d for d in dims if d != "day"]
    sums = ", ".join(f"sum({m})" for m in measures)
    nonzero = " OR ".join(f"sum({m}) <> 0" for m in measures)
    add = ", ".join(f"{m} = {table}.{m} + EXCLUDED.{m}" for m in measures)
    if table == "sales_sku_monthly":
        key = "organization_id, store_id, connection_id, month, currency, sku"
        select = (
            f"{month}::date, COALESCE(store_id, {ALL}), COALESCE(connection_id, {ALL}), "
            "currency, sku"
        )
        group = (
            f"GROUPING SETS ((organization_id, {month}, store_id, connection_id, currency, sku),"
            f" (organization_id, {month}, connection_id, currency, sku),"
            f" (organization_id, {month}, currency, sku))"
        )
        columns = "month, store_id, connection_id, currency, sku"
    else:
        key = f"organization_id, month, {', '.join(rest)}"
        select = f"{month}::date, {', '.join(rest)}"
        group = f"organization_id, {month}, {', '.join(rest)}"
        columns = f"month, {', '.join(rest)}"
    return f"""
        INSERT INTO {table} (organization_id, {columns}, {", ".join(measures)})
        SELECT organization_id, {select}, {sums} FROM moved WHERE NOT folded
        GROUP BY {group}
        HAVING {nonzero}
        ON CONFLICT ({key}) DO UPDATE SET {add}
        RETURNING 1
    """  # noqa: S608 - fixed table and column names only


def daily_rollup_compact() -> int:
    """Replace the rows of every (organization, day) that received new rows by their sums,
    adding those new rows to their months; returns how many rows were folded. One
    compactor at a time (nor while an organization's totals are recomputed); writers never
    wait."""
    if not available():
        return 0
    folded = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext('sales_daily_rollup'))")
        if not cursor.fetchone()[0]:
            return 0
        for table, monthly, dims, measures in (
            ("sales_order_daily", "sales_order_monthly", ORDER_DIMENSIONS, ORDER_MEASURES),
            ("sales_sku_daily", "sales_sku_monthly", SKU_DIMENSIONS, SKU_MEASURES),
        ):
            dim_list = ", ".join(dims)
            sums = ", ".join(f"sum({m})" for m in measures)
            nonzero = " OR ".join(f"sum({m}) <> 0" for m in measures)
            # One statement: the rows it deletes are those its snapshot sees; rows that
            # writers commit meanwhile stay, unfolded, for the next round (and are read
            # beside the month totals until then).
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
                ), months AS ({_month_upsert(monthly, dims, measures)})
                SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM inserted),
                       (SELECT count(*) FROM months)
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
