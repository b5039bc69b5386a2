"""Writing one page of label costs: bulk, idempotent, in the caller's transaction (see
``sales.services.upsert``); each label is attached to its order and the order's label totals
refreshed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from connections.sources.base import SourceRecordError, SourceShipment
from sales.models import ShippingCost
from sales.services import bulk, matching
from sales.services.records import RecordInvalid, map_shipment, raw_text
from sales.services.upsert_issues import import_issues_record
from sales.services.upsert_rows import MappedPage
from sales.services.upsert_rows import source_id_rows as _rows
from unify.core.stored_text import message_of


@dataclass(slots=True)
class CostPageResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    issues: int = 0


def shipments_map(
    *,
    organization_id: int,
    connection_id: int,
    shipments: Sequence[SourceShipment],
    synced_at: datetime,
) -> MappedPage:
    """Map a page of labels without touching the database."""
    issues: list[tuple[str, str, str, str]] = []
    mapped = {}
    for source in shipments:
        try:
            item = map_shipment(
                source,
                organization_id=organization_id,
                connection_id=connection_id,
                synced_at=synced_at,
            )
        except (RecordInvalid, ValueError, TypeError, ArithmeticError) as exc:
            issues.append(
                (
                    "shipment",
                    str(source.external_id or "")[:200],
                    message_of(exc),
                    raw_text(source.raw),
                )
            )
            continue
        mapped[item.external_id] = item
    return MappedPage(mapped=mapped, issues=issues)


def shipping_cost_upsert_page(
    *,
    organization_id: int,
    connection_id: int,
    shipments: Sequence[SourceShipment] = (),
    errors: Sequence[SourceRecordError] = (),
    match_order_files: bool,
    run_id: int | None,
    synced_at: datetime,
    premapped: MappedPage | None = None,
) -> CostPageResult:
    """Upsert one page of labels, attach them to their orders and refresh those orders'
    label totals (call inside the page's transaction). Give the shipments, or
    ``premapped`` (``shipments_map`` of them)."""
    result = CostPageResult()
    page = premapped or shipments_map(
        organization_id=organization_id,
        connection_id=connection_id,
        shipments=shipments,
        synced_at=synced_at,
    )
    mapped, issues = page.mapped, page.issues
    existing = dict(
        _rows(
            "SELECT external_id, raw_hash FROM sales_shippingcost WHERE organization_id = %s "
            "AND connection_id = %s AND external_id {ids}",
            [organization_id, connection_id],
            list(mapped),
        )
    )
    to_write = []
    for external_id, item in mapped.items():
        if external_id not in existing:
            result.created += 1
        elif existing[external_id] == item.raw_hash:
            result.unchanged += 1
            continue
        else:
            result.updated += 1
        to_write.append(item)
    if to_write and match_order_files:
        bulk.shipping_costs_write(to_write, known=existing)
        written = [c.external_id for c in to_write]
        matching.shipping_costs_match_order_files(
            organization_id=organization_id,
            cost_filter=Q(connection_id=connection_id, external_id__in=written),
        )
        order_ids = list(
            ShippingCost.objects.filter(
                organization_id=organization_id,
                connection_id=connection_id,
                external_id__in=written,
                order__isnull=False,
            ).values_list("order_id", flat=True)
        )
        matching.order_label_totals_refresh(organization_id=organization_id, order_ids=order_ids)
    elif to_write:
        # Sales channel: a label names its order in the source; when that order is already
        # here, the label is written attached and the order's totals are refreshed.
        orders = dict(
            _rows(
                "SELECT external_id, id FROM sales_order WHERE organization_id = %s "
                "AND connection_id = %s AND external_id {ids}",
                [organization_id, connection_id],
                list({i.values["order_external_id"] for i in to_write}),
            )
        )
        for item in to_write:
            item.values["order_id"] = orders.get(item.values["order_external_id"])
        bulk.shipping_costs_write(to_write, known=existing)
        matching.order_label_totals_refresh(
            organization_id=organization_id,
            order_ids=[i.values["order_id"] for i in to_write if i.values["order_id"]],
        )
    result.issues = import_issues_record(
        [*errors, *issues],
        organization_id=organization_id,
        connection_id=connection_id,
        run_id=run_id,
    )
    return result
