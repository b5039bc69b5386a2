"""Writing one page of orders or label costs: bulk, idempotent, in the caller's transaction.
Label costs are in ``upsert_costs``, import issues in ``upsert_issues``; their names are
re-exported here.

Repeating a page (a retried request, a resumed run, an overlapping window) changes nothing:
rows are found by their source id, unchanged ones (same ``raw_hash``) are not written at
all, changed ones are rewritten in one ``INSERT .. ON CONFLICT DO UPDATE``, and their lines
are replaced only when the lines themselves changed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from connections.models import StoreConnection
from connections.sources.base import SourceOrder, SourceRecordError
from connections.sources.registry import UnknownSourceProvider, source_provider
from sales.models import BILLED_TO_OTHERS, Order, OrderLine, PostingStatus
from sales.services import bulk, merges
from sales.services.records import (
    ZERO,
    MappedOrder,
    RecordInvalid,
    label_status_for,
    map_order,
    raw_text,
)
from sales.services.upsert_costs import CostPageResult, shipments_map, shipping_cost_upsert_page
from sales.services.upsert_issues import import_issues_record
from sales.services.upsert_rows import MappedPage
from sales.services.upsert_rows import source_id_rows as _rows
from unify.core.stored_text import message_of

__all__ = [
    "CostPageResult",
    "MappedPage",
    "OrderFilter",
    "PageResult",
    "StoreInfo",
    "connection_source",
    "import_issues_record",
    "order_upsert_page",
    "orders_flag_changed_after_posting",
    "orders_map",
    "orders_map_sources",
    "orders_write_mapped",
    "shipments_map",
    "shipping_cost_upsert_page",
]


@dataclass(slots=True)
class StoreInfo:
    pk: int
    name: str
    included: bool


@dataclass(slots=True)
class OrderFilter:
    """Which new orders to import (sync settings). Orders already imported are always
    updated, whatever their new status or store: a cancellation must reach an order we hold."""

    statuses: frozenset[str] = frozenset()  # empty: every status
    stores: dict[str, StoreInfo] = field(default_factory=dict)  # by store external id

    def admits_new(self, status: str, store_external_id: str) -> bool:
        if self.statuses and status not in self.statuses:
            return False
        store = self.stores.get(store_external_id)
        # A store the source added after the connection was made is imported until the
        # merchant says otherwise (the sync settings list it once stores are refreshed).
        return store is None or store.included

    def admits_store(self, store_id: int | str | None) -> bool:
        store = self.stores.get("" if store_id is None else str(store_id))
        return store is None or store.included


@dataclass(slots=True)
class PageResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    issues: int = 0
    order_ids: list[int] = field(default_factory=list)  # created or updated


# ---------------------------------------------------------------------------------------------
# Orders
# ---------------------------------------------------------------------------------------------


def _raw_is_whole_record(origin: str) -> bool:
    try:
        return source_provider(origin).raw_is_whole_record
    except UnknownSourceProvider:
        return False  # every text checked on its own


def connection_source(*, organization_id: int, connection_id: int) -> str:
    """The source key of a connection's orders (its provider's registry key)."""
    return (
        StoreConnection.objects.for_org(organization_id)
        .filter(pk=connection_id)
        .values_list("provider", flat=True)
        .get()
    )


def orders_map_sources(
    sources: Sequence[SourceOrder],
    *,
    organization_id: int,
    connection_id: int | None,
    origin: str,
    store_for: Callable[[SourceOrder], tuple[int | None, str]],
    currency: str,
    synced_at: datetime,
    issues: list[tuple[str, str, str, str]],
    key: Callable[[MappedOrder], Hashable] = lambda item: item.external_id,
) -> dict[Hashable, MappedOrder]:
    mapped: dict[Hashable, MappedOrder] = {}
    raw_is_whole_record = _raw_is_whole_record(origin)
    for source in sources:
        try:
            store_pk, store_name = store_for(source)
            item = map_order(
                source,
                organization_id=organization_id,
                connection_id=connection_id,
                origin=origin,
                source_store_id=store_pk,
                store_name=store_name,
                currency=currency,
                synced_at=synced_at,
                raw_is_whole_record=raw_is_whole_record,
            )
        except (RecordInvalid, ValueError, TypeError, ArithmeticError) as exc:
            issues.append(
                ("order", str(source.external_id or source.number or "")[:200], message_of(exc),
                 raw_text(source.raw))
            )  # fmt: skip
            continue
        # The same order twice on one page (the source's paging under edits): the later wins.
        mapped[key(item)] = item
    return mapped


def _label_totals_from_costs(
    *, organization_id: int, connection_id: int, items: list[MappedOrder]
) -> dict[str, list[int]]:
    """Set each order's label totals from its labels on the connection (matched ones and
    ones still waiting for it), so the order is written once, complete. Returns the waiting
    labels' ids by order source id."""
    rows = _rows(
        "SELECT id, order_external_id, order_id, cost, insurance, voided, is_return, "
        "bill_to_party FROM sales_shippingcost WHERE organization_id = %s AND connection_id = %s "
        "AND order_external_id {ids}",
        [organization_id, connection_id],
        [i.external_id for i in items],
    )
    outbound: dict[str, Decimal] = {}
    returns: dict[str, Decimal] = {}
    waiting: dict[str, list[int]] = {}
    for pk, ref, order_id, cost, insurance, voided, is_return, bill_to_party in rows:
        if order_id is None:
            waiting.setdefault(ref, []).append(pk)
        if voided:
            continue
        bucket = returns if is_return else outbound
        # A label billed to the recipient or a third party is a label, not the merchant's cost.
        paid = ZERO if bill_to_party in BILLED_TO_OTHERS else cost + insurance
        bucket[ref] = bucket.get(ref, ZERO) + paid
    for item in items:
        ref = item.external_id
        item.values["label_cost_total"] = outbound.get(ref, ZERO)
        item.values["return_label_cost_total"] = returns.get(ref, ZERO)
        item.values["label_status"] = label_status_for(
            has_outbound_label=ref in outbound,
            status=item.values["status"],
            externally_fulfilled=item.values["externally_fulfilled"],
        )
    return waiting


def orders_write_mapped(
    mapped: dict[Hashable, MappedOrder],
    existing: dict[Hashable, tuple[int, str, str, str, str]],
    *,
    conflict: str,
    conflict_where: str = "",
    result: PageResult,
    before_write: Callable[[list[MappedOrder]], None] | None = None,
) -> list[int]:
    """Insert new and rewrite changed orders; replace lines where they changed. Returns the
    ids of orders whose accounting content changed (for ``changed_after_posting``)."""
    to_write: list[MappedOrder] = []
    relined: list[MappedOrder] = []
    changed_content: list[int] = []
    for ref, item in mapped.items():
        current = existing.get(ref)
        if current is None:
            item.pk = None  # (an id from an attempt that was rolled back is not the row's)
            to_write.append(item)
            relined.append(item)
            result.created += 1
            continue
        pk, raw_hash, content_hash, lines_hash, _posting = current
        if raw_hash == item.raw_hash:
            result.unchanged += 1
            continue
        item.pk = pk
        to_write.append(item)
        result.updated += 1
        if content_hash != item.content_hash:
            changed_content.append(pk)
        if lines_hash != item.lines_hash:
            relined.append(item)
    if not to_write:
        return []
    if before_write is not None:
        before_write(to_write)
    fresh = bulk.orders_write(to_write, conflict=conflict, conflict_where=conflict_where)
    if relined:
        # Also for orders we believed new: one written meanwhile by someone else (a re-import
        # from the Sales tab) must not keep its old lines next to the new ones. Rows inserted
        # under fresh ids have none.
        stale = [i.pk for i in relined if id(i) not in fresh]
        if stale:
            OrderLine.objects.filter(order_id__in=stale).delete()
        bulk.order_lines_write(relined)
    result.order_ids.extend(i.pk for i in to_write)
    return changed_content


def orders_flag_changed_after_posting(order_ids: list[int]) -> None:
    if order_ids:
        # Conditional in SQL, not from the rows read earlier: posting may run concurrently.
        Order.objects.filter(pk__in=order_ids, posting_status=PostingStatus.POSTED).update(
            changed_after_posting=True, posting_status=PostingStatus.CHANGED
        )


def orders_map(
    *,
    organization_id: int,
    connection_id: int,
    orders: Sequence[SourceOrder],
    order_filter: OrderFilter,
    currency: str,
    synced_at: datetime,
    origin: str | None = None,
) -> MappedPage:
    """Map a page of the connection's orders without touching the database (the sync does
    this while the previous page is being written). ``origin``: the connection's provider
    key (looked up when not given, which reads the database)."""
    if origin is None:
        origin = connection_source(organization_id=organization_id, connection_id=connection_id)
    issues: list[tuple[str, str, str, str]] = []

    def store_for(source: SourceOrder) -> tuple[int | None, str]:
        info = order_filter.stores.get("" if source.store_id is None else str(source.store_id))
        return (info.pk, info.name) if info else (None, "")

    mapped = orders_map_sources(
        orders,
        organization_id=organization_id,
        connection_id=connection_id,
        origin=origin,
        store_for=store_for,
        currency=currency,
        synced_at=synced_at,
        issues=issues,
    )
    return MappedPage(mapped=mapped, issues=issues)


def order_upsert_page(
    *,
    organization_id: int,
    connection_id: int,
    orders: Sequence[SourceOrder] = (),
    errors: Sequence[SourceRecordError] = (),
    order_filter: OrderFilter,
    currency: str,
    run_id: int | None,
    synced_at: datetime,
    premapped: MappedPage | None = None,
    origin: str | None = None,
) -> PageResult:
    """Upsert one page of the connection's orders (call inside the page's transaction). Give
    the orders, or ``premapped`` (``orders_map`` of them). ``origin``: the connection's
    provider key (looked up when not given)."""
    result = PageResult()
    page = premapped or orders_map(
        organization_id=organization_id,
        connection_id=connection_id,
        orders=orders,
        order_filter=order_filter,
        currency=currency,
        synced_at=synced_at,
        origin=origin,
    )
    mapped, issues = dict(page.mapped), page.issues
    existing = {
        row[0]: row[1:]
        for row in _rows(
            "SELECT external_id, id, raw_hash, content_hash, lines_hash, posting_status "
            "FROM sales_order WHERE organization_id = %s AND connection_id = %s "
            "AND external_id {ids}",
            [organization_id, connection_id],
            list(mapped),
        )
    }
    for external_id in list(mapped):
        item = mapped[external_id]
        if external_id not in existing and not order_filter.admits_new(
            item.values["status"], item.store_external_id
        ):
            del mapped[external_id]
            result.skipped += 1
    waiting: dict[str, list[int]] = {}

    def with_label_totals(items: list[MappedOrder]) -> None:
        waiting.update(
            _label_totals_from_costs(
                organization_id=organization_id, connection_id=connection_id, items=items
            )
        )

    changed = orders_write_mapped(
        mapped,
        existing,
        conflict="organization_id, connection_id, external_id",
        result=result,
        before_write=with_label_totals,
    )
    orders_flag_changed_after_posting(changed)
    if waiting:
        # Labels imported before their order: attach them now that the order has an id.
        bulk.shipping_costs_attach(
            [(cost_pk, mapped[ref].pk) for ref, cost_pks in waiting.items() for cost_pk in cost_pks]
        )
    result.issues = import_issues_record(
        [*errors, *issues],
        organization_id=organization_id,
        connection_id=connection_id,
        run_id=run_id,
    )
    merges.orders_mark_merged(
        organization_id=organization_id,
        connection_id=connection_id,
        merged={ref: item.merged_ids for ref, item in page.mapped.items() if item.merged_ids},
    )
    merges.orders_number_split_parts(
        organization_id=organization_id,
        connection_id=connection_id,
        split={ref: item.parent_id for ref, item in mapped.items() if item.parent_id},
    )
    return result
