"""Bulk writes of import pages: PostgreSQL's COPY where available, the ORM elsewhere.

On PostgreSQL a page is streamed with ``COPY`` (psycopg formats rows in C) into a session
temporary table and merged with one ``INSERT .. SELECT .. ON CONFLICT DO UPDATE .. RETURNING``;
new order lines are copied straight into their table. Compared with the ORM's bulk insert
(SQL text with tens of thousands of placeholders, built and parsed in Python, every value
prepared by its field) this is what lets the import keep up with the download. SQLite (the
embedded default) takes the ORM path; both write the same rows.

The caller holds the transaction; everything here runs inside it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Sequence
from contextvars import ContextVar

from django.db import IntegrityError, transaction
from django.db import connection as db
from django.utils import timezone

from sales.models import Order, OrderLine, PostingStatus, ShippingCost
from sales.services.records import (
    COST_COLUMNS,
    LINE_COLUMNS,
    ORDER_COLUMNS,
    ORDER_IMPORT_FIELDS,
    SHIPPING_COST_IMPORT_FIELDS,
    MappedOrder,
    MappedShipment,
    copy_timestamp,
)
from unify.tenancy.rls import row_level_security_enforced

# Set on insert only; the import never rewrites them (posting and review own them), so they
# are not in the update list either.
_ORDER_INSERT_CONSTANTS = {
    "changed_after_posting": "false",
    "is_ignored": "false",
    "split_part": "0",
    "posting_status": f"'{PostingStatus.NOT_POSTED}'",
}
_ORDER_UPDATED = [
    c for c in ORDER_COLUMNS if c not in ("organization_id", "connection_id", "external_id")
]
_COST_UPDATED = [
    c
    for c in COST_COLUMNS
    if c not in ("organization_id", "connection_id", "external_id", "order_id")
]


def use_copy() -> bool:
    return db.vendor == "postgresql"


def _temp_table(cursor, name: str, source: str, columns: Sequence[str]) -> None:
    cols = ", ".join(columns)
    # One per database session; emptied before each use (a caller may merge several pages in
    # one transaction) and, as a safety net, at each commit.
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {name} ON COMMIT DELETE ROWS AS "  # noqa: S608
        f"SELECT {cols}, created_at, updated_at FROM {source} WITH NO DATA"
    )
    cursor.execute(f"TRUNCATE {name}")


def _copy(cursor, table: str, columns: Sequence[str], rows) -> None:
    # Django wraps execute(), not copy(): its errors become Django's here (IntegrityError),
    # and the row-level security settings are brought up to date here too.
    if hasattr(db, "rls_sync"):
        db.rls_sync()
    with (
        db.wrap_database_errors,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _copy_into(cursor, table: str, columns: Sequence[str], rows) -> None:
    """``COPY`` into a tenant table. PostgreSQL refuses ``COPY FROM`` into a table under
    row-level security for a role held to it (unify/tenancy/rls.py): there the rows are
    copied into a temporary table and moved with one ``INSERT ... SELECT``, which the policy
    checks."""
    if not row_level_security_enforced(db):
        _copy(cursor, table, columns, rows)
        return
    cols = ", ".join(columns)
    staging = f"rls_copy_{table}"
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS "  # noqa: S608
        f"SELECT {cols} FROM {table} WITH NO DATA"
    )
    cursor.execute(f"TRUNCATE {staging}")
    _copy(cursor, staging, columns, rows)
    cursor.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {staging}")  # noqa: S608


_sequences: dict[str, str] = {}
# Fresh ids drawn ahead for the sync run in progress (see ``id_reserve``): table -> ids.
_reserve: ContextVar[dict[str, list[int]] | None] = ContextVar("sales_id_reserve", default=None)
ID_RESERVE_BATCH = 5_000


@contextlib.contextmanager
def id_reserve() -> Iterator[None]:
    """While a sync run executes, new rows' ids are drawn from their sequence thousands at a
    time instead of once per page: one round trip for ten pages, each of which waits for
    the database's turn on a busy machine. Ids drawn and never used are gaps in the
    sequence, as after any rolled-back insert; an id is never handed out twice."""
    token = _reserve.set({})
    try:
        yield
    finally:
        _reserve.reset(token)


def _draw(cursor, table: str, count: int) -> list[int]:
    sequence = _sequences.get(table)
    if sequence is None:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        sequence = _sequences[table] = cursor.fetchone()[0]
    cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, count])
    return [row[0] for row in cursor.fetchall()]


def _new_ids(cursor, table: str, count: int) -> list[int]:
    """``count`` fresh primary keys of ``table`` from its own sequence (at most one round
    trip; none while a reserve holds enough)."""
    reserve = _reserve.get()
    if reserve is None:
        return _draw(cursor, table, count)
    pool = reserve.setdefault(table, [])
    if len(pool) < count:
        pool.extend(_draw(cursor, table, max(count - len(pool), ID_RESERVE_BATCH)))
    ids = pool[:count]
    del pool[:count]
    return ids


# Set by a caller that retries its whole transaction on a unique violation (the sync's page
# writer): then new rows are copied without a savepoint around them.
_optimistic: ContextVar[bool] = ContextVar("sales_copy_optimistic", default=False)


@contextlib.contextmanager
def optimistic_copy(enabled: bool = True) -> Iterator[None]:
    """Within: ``_copy_new`` takes no savepoint (two round trips fewer) and a row that exists
    after all raises ``IntegrityError``, which aborts the caller's transaction; the caller
    must roll it back and write again outside this block, where such rows are merged."""
    token = _optimistic.set(enabled)
    try:
        yield
    finally:
        _optimistic.reset(token)


def _copy_new(table: str, columns: Sequence[str], rows) -> bool:
    """Rows believed new go straight into ``table`` with ``COPY``, skipping the staging table
    and the merge: half the writing, most of a first import. If one exists after all
    (written meanwhile by someone else: a unique violation), nothing of this step stays and
    ``False`` tells the caller to merge them instead (or, in ``optimistic_copy``, the
    ``IntegrityError`` goes to the caller)."""
    if _optimistic.get():
        with db.cursor() as cursor:
            _copy_into(cursor, table, columns, rows)
        return True
    try:
        with transaction.atomic(), db.cursor() as cursor:
            _copy_into(cursor, table, columns, rows)
    except IntegrityError:
        return False
    return True


def _orders_copy_new(items: Sequence[MappedOrder], now) -> bool:
    """``_copy_new`` for orders, with their ids drawn from the sequence first (the lines and
    labels written next need them)."""
    columns = ["id", *ORDER_COLUMNS, "created_at", "updated_at", *_ORDER_INSERT_CONSTANTS]
    constants = (False, False, 0, PostingStatus.NOT_POSTED.value)
    with db.cursor() as cursor:
        ids = _new_ids(cursor, "sales_order", len(items))
    stamp = copy_timestamp(now)
    rows = (
        (pk, *item.row(), stamp, stamp, *constants) for pk, item in zip(ids, items, strict=True)
    )
    if not _copy_new("sales_order", columns, rows):
        return False
    for pk, item in zip(ids, items, strict=True):
        item.pk = pk
    return True


def orders_write(
    items: Sequence[MappedOrder], *, conflict: str, conflict_where: str = ""
) -> set[int]:
    """Insert or rewrite these orders; sets ``item.pk`` on each. ``conflict`` names the
    unique columns (``conflict_where`` the predicate of a partial unique index). Items
    without a ``pk`` are taken for new ones. Returns the ``id()`` of the items that were
    certainly new rows (inserted under fresh ids: nothing can refer to them yet)."""
    if not items:
        return set()
    now = timezone.now()
    if not use_copy():
        _orders_write_orm(items, now)
        return set()
    new = [i for i in items if i.pk is None]
    copied: set[int] = set()
    if new and _orders_copy_new(new, now):
        copied = {id(i) for i in new}
        items = [i for i in items if id(i) not in copied]
        if not items:
            return copied
    columns = [*ORDER_COLUMNS, "created_at", "updated_at"]
    insert_columns = [*columns, *_ORDER_INSERT_CONSTANTS]
    select = ", ".join([*columns, *_ORDER_INSERT_CONSTANTS.values()])
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in [*_ORDER_UPDATED, "updated_at"])
    where = f" WHERE {conflict_where}" if conflict_where else ""
    with db.cursor() as cursor:
        _temp_table(cursor, "sales_incoming_order", "sales_order", ORDER_COLUMNS)
        stamp = copy_timestamp(now)
        _copy(cursor, "sales_incoming_order", columns, (i.row() + (stamp, stamp) for i in items))
        cursor.execute(
            f"INSERT INTO sales_order ({', '.join(insert_columns)}) "  # noqa: S608
            f"SELECT {select} FROM sales_incoming_order "
            f"ON CONFLICT ({conflict}){where} DO UPDATE SET {updates} "
            "RETURNING id, organization_id, connection_id, store_name, external_id"
        )
        ids = {tuple(row[1:]): row[0] for row in cursor.fetchall()}
    for item in items:
        v = item.values
        item.pk = ids[(v["organization_id"], v["connection_id"], v["store_name"], v["external_id"])]
    return copied


def _orders_write_orm(items: Sequence[MappedOrder], now) -> None:
    new = [i for i in items if i.pk is None]
    changed = [i for i in items if i.pk is not None]
    if new:
        models = [i.model() for i in new]
        Order.objects.bulk_create(models, batch_size=100)
        for item, model in zip(new, models, strict=True):
            item.pk = model.pk
    if changed:
        models = [i.model() for i in changed]
        for model in models:
            model.updated_at = now  # bulk_update does not apply auto_now
        Order.objects.bulk_update(models, list(ORDER_IMPORT_FIELDS), batch_size=100)


def order_lines_write(items: Sequence[MappedOrder]) -> None:
    """Add the lines of these (saved) orders; their old lines are already gone."""
    if not items:
        return
    now = timezone.now()
    if use_copy():
        columns = ["organization_id", "order_id", *LINE_COLUMNS, "created_at", "updated_at"]
        stamp = copy_timestamp(now)
        rows = (
            (item.values["organization_id"], item.pk, *line, stamp, stamp)
            for item in items
            for line in item.lines
        )
        with db.cursor() as cursor:
            _copy_into(cursor, "sales_orderline", columns, rows)
        return
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                organization_id=item.values["organization_id"],
                order_id=item.pk,
                **dict(zip(LINE_COLUMNS, line, strict=True)),
            )
            for item in items
            for line in item.lines
        ],
        batch_size=500,
    )


def shipping_costs_write(
    items: Sequence[MappedShipment], *, known: Collection[str] | None = None
) -> None:
    """Insert or rewrite these labels (never their order link: once matched, it stays).
    ``known``: the external ids already stored; the others are taken for new ones."""
    if not items:
        return
    now = timezone.now()
    columns = [*COST_COLUMNS, "created_at", "updated_at"]
    if use_copy() and known is not None:
        new = [i for i in items if i.external_id not in known]
        stamp = copy_timestamp(now)
        rows = (i.row() + (stamp, stamp) for i in new)
        if new and _copy_new("sales_shippingcost", columns, rows):
            items = [i for i in items if i.external_id in known]
            if not items:
                return
    if not use_copy():
        for item in items:
            item.values["updated_at"] = now
        ShippingCost.objects.bulk_create(
            [i.model() for i in items],
            update_conflicts=True,
            unique_fields=["organization", "connection", "external_id"],
            update_fields=list(SHIPPING_COST_IMPORT_FIELDS),
            batch_size=100,
        )
        for item in items:
            if item.values["order_id"] is not None:
                ShippingCost.objects.filter(
                    connection_id=item.values["connection_id"],
                    external_id=item.external_id,
                    order__isnull=True,
                ).update(order_id=item.values["order_id"])
        return
    # A label keeps the order it was matched to; an unmatched one takes the order now known.
    updates = ", ".join(
        [
            *(f"{c} = EXCLUDED.{c}" for c in [*_COST_UPDATED, "updated_at"]),
            "order_id = COALESCE(sales_shippingcost.order_id, EXCLUDED.order_id)",
        ]
    )
    with db.cursor() as cursor:
        _temp_table(cursor, "sales_incoming_cost", "sales_shippingcost", COST_COLUMNS)
        stamp = copy_timestamp(now)
        _copy(cursor, "sales_incoming_cost", columns, (i.row() + (stamp, stamp) for i in items))
        cursor.execute(
            f"INSERT INTO sales_shippingcost ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(columns)} FROM sales_incoming_cost "
            "ON CONFLICT (organization_id, connection_id, external_id) "
            f"DO UPDATE SET {updates}"
        )


def shipping_costs_attach(pairs: Sequence[tuple[int, int]]) -> None:
    """Point these labels (by id) at these orders: ``[(label id, order id), ...]``."""
    if not pairs:
        return
    if not use_copy():
        ShippingCost.objects.bulk_update(
            [ShippingCost(pk=cost_pk, order_id=order_pk) for cost_pk, order_pk in pairs],
            ["order"],
            batch_size=500,
        )
        return
    cost_ids, order_ids = zip(*pairs, strict=True)
    with db.cursor() as cursor:
        cursor.execute(
            "UPDATE sales_shippingcost AS c SET order_id = v.order_id "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, order_id) "
            "WHERE c.id = v.id AND c.order_id IS NULL",
            [list(cost_ids), list(order_ids)],
        )
