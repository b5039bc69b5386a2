"""What the order and the label-cost upserts share: a page mapped to rows, and the look-up of
a page's rows by source id."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection


@dataclass(slots=True)
class MappedPage:
    """A page turned into rows (by external id), and the records that could not be."""

    mapped: dict
    issues: list[tuple[str, str, str, str]]


def source_id_rows(sql: str, params: list, ids: list[str]) -> list[tuple]:
    """A page's look-ups by source id (``{ids}`` in ``sql``): on PostgreSQL one array
    parameter instead of a 500-item ``IN`` list built and quoted by the ORM, and rows as the
    driver reads them (``Decimal`` for money). The caller passes the organization itself."""
    if not ids:
        return []
    if connection.vendor == "postgresql":
        sql, params = sql.format(ids="= ANY(%s)"), [*params, ids]
    else:
        sql, params = sql.format(ids=f"IN ({', '.join(['%s'] * len(ids))})"), [*params, *ids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if connection.vendor != "postgresql":
        # SQLite hands back its own types; the ORM's converters are the reference.
        rows = [tuple(Decimal(str(v)) if isinstance(v, float) else v for v in r) for r in rows]
    return rows
