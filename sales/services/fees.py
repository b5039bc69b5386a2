"""Fulfillment fees (issue 16, item 8).

An order shipped by a fulfillment provider (ShipBob, Amazon FBA, ...) has no label bought
in the source; the source records a *fulfillment* instead (``SourceFulfillment``), whose
``fulfillment_fee`` is what the provider charged: the merchant's cost, like a label's. Each
sync of a sales-channel connection reads:

- the fulfillments created in its window (``iter_fulfillment_pages`` by creation date);
- again, by order, the fulfillments of the orders the run changed that have a fee still
  counted: the fulfillment listing has no void-date filter, and a voided fulfillment only
  shows as a change of its order (at most ``SALES_FEE_REREAD_ORDERS`` orders a run; the rest on
  the next run).

A fee is attached to its order by the source's order id (never by number); a voided one is
kept, marked, and no longer counted. ``Order.fulfillment_fee_total`` is the sum of its
counted fees.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection as db
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from connections.sources.base import Page, SourceFulfillment
from sales.models import FulfillmentFee, Order
from sales.services.records import money2, raw_for_storage_text, text

logger = logging.getLogger(__name__)

FIELDS = (
    "order_external_id", "order_number", "create_date", "ship_date", "provider", "carrier",
    "tracking_number", "fee", "voided", "void_date", "raw", "last_synced_at",
)  # fmt: skip


def _reread_limit() -> int:
    return int(getattr(settings, "SALES_FEE_REREAD_ORDERS", 200))


def _values(source: SourceFulfillment, synced_at: datetime) -> dict[str, Any]:
    raw, _hash, _text, _suspicious = raw_for_storage_text(source.raw)
    return {
        "order_external_id": text(source.order_id, 64),
        "order_number": text(source.order_number, 100),
        "create_date": source.create_date,
        "ship_date": source.ship_date,
        "provider": text(source.provider, 100),
        "carrier": text(source.carrier, 60),
        "tracking_number": text(source.tracking_number, 200),
        "fee": money2(source.fulfillment_fee, field="fulfillmentFee"),
        "voided": source.voided,
        "void_date": source.void_date,
        "raw": dict(raw),
        "last_synced_at": synced_at,
    }


def fulfillment_fees_write(
    *, organization_id: int, connection_id: int, fulfillments: Iterable[SourceFulfillment]
) -> int:
    """Insert or update these fulfillments, attach them to their orders and refresh those
    orders' fee totals (one transaction). Returns how many rows were new or changed."""
    now = timezone.now()
    incoming = {f.external_id: _values(f, now) for f in fulfillments if f.external_id}
    if not incoming:
        return 0
    with transaction.atomic():
        existing = {
            fee.external_id: fee
            for fee in FulfillmentFee.objects.select_for_update().filter(
                organization_id=organization_id,
                connection_id=connection_id,
                external_id__in=list(incoming),
            )
        }
        orders = dict(
            Order.objects.filter(
                organization_id=organization_id,
                connection_id=connection_id,
                external_id__in={v["order_external_id"] for v in incoming.values()} - {""},
            ).values_list("external_id", "pk")
        )
        touched: set[int] = set()
        new, changed = [], []
        for external_id, values in incoming.items():
            order_id = orders.get(values["order_external_id"])
            fee = existing.get(external_id)
            if fee is None:
                new.append(
                    FulfillmentFee(
                        organization_id=organization_id,
                        connection_id=connection_id,
                        external_id=external_id,
                        order_id=order_id,
                        **values,
                    )
                )
            else:
                if fee.order_id:
                    touched.add(fee.order_id)
                same = all(getattr(fee, k) == values[k] for k in FIELDS if k != "last_synced_at")
                if same and (fee.order_id == order_id or order_id is None):
                    continue
                for name, value in values.items():
                    setattr(fee, name, value)
                fee.order_id = order_id or fee.order_id
                changed.append(fee)
            if order_id:
                touched.add(order_id)
        FulfillmentFee.objects.bulk_create(new, batch_size=200)
        FulfillmentFee.objects.bulk_update(
            changed, [*FIELDS, "order_id", "updated_at"], batch_size=200
        )
        order_fee_totals_refresh(organization_id=organization_id, order_ids=touched)
    return len(new) + len(changed)


def order_fee_totals_refresh(*, organization_id: int, order_ids: Iterable[int]) -> None:
    """``fulfillment_fee_total`` of these orders from their fees that are not voided."""
    ids = sorted(set(order_ids))
    if not ids:
        return
    with db.cursor() as cursor:
        cursor.execute(
            "UPDATE sales_order o SET fulfillment_fee_total = COALESCE(("
            "  SELECT sum(f.fee) FROM sales_fulfillmentfee f"
            "  WHERE f.order_id = o.id AND NOT f.voided), 0) "
            "WHERE o.organization_id = %s AND o.id = ANY(%s) AND o.fulfillment_fee_total <> "
            "COALESCE((SELECT sum(f.fee) FROM sales_fulfillmentfee f"
            "  WHERE f.order_id = o.id AND NOT f.voided), 0)",
            [organization_id, ids],
        )


def fees_attach_waiting(*, organization_id: int, connection_id: int) -> int:
    """Attach fees read before their order was imported, now that it is."""
    waiting = FulfillmentFee.objects.filter(
        organization_id=organization_id,
        connection_id=connection_id,
        order__isnull=True,
    ).exclude(order_external_id="")
    refs = set(waiting.values_list("order_external_id", flat=True)[:5000])
    if not refs:
        return 0
    orders = dict(
        Order.objects.filter(
            organization_id=organization_id, connection_id=connection_id, external_id__in=refs
        ).values_list("external_id", "pk")
    )
    attached = 0
    with transaction.atomic():
        for ref, pk in orders.items():
            attached += waiting.filter(order_external_id=ref).update(order_id=pk)
        order_fee_totals_refresh(organization_id=organization_id, order_ids=orders.values())
    return attached


def _pages(
    fetch_page: Callable[[Callable[[int], Iterator[Page]], int], Page],
    listing_of: Callable[[int], Iterator[Page[SourceFulfillment]]],
) -> Iterator[Page[SourceFulfillment]]:
    """Every page of one listing, each read through ``fetch_page`` (the run's retries and
    rate-limit waits)."""
    number = 1
    while True:
        page = fetch_page(listing_of, number)
        yield page
        if page.is_last or not page.items:
            return
        number += 1


def fulfillment_fees_import(
    *,
    adapter: Any,
    organization_id: int,
    connection_id: int,
    window_start: datetime,
    window_end: datetime,
    changed_since: datetime,
    fetch_page: Callable[[Callable[[int], Iterator[Page]], int], Page],
) -> int:
    """Read the window's fulfillments and re-read those of changed orders (see the module
    docstring). Idempotent: a run cut short is simply read again by the next one."""
    written = 0

    def window_pages(number: int) -> Iterator[Page[SourceFulfillment]]:
        return adapter.iter_fulfillment_pages(
            created_since=window_start, created_until=window_end, start_page=number
        )

    for page in _pages(fetch_page, window_pages):
        written += fulfillment_fees_write(
            organization_id=organization_id, connection_id=connection_id, fulfillments=page.items
        )
    reread = list(
        Order.objects.filter(
            Q(organization_id=organization_id, connection_id=connection_id),
            updated_at__gte=changed_since,
            fulfillment_fees__voided=False,
        )
        .values_list("external_id", flat=True)
        .distinct()[: _reread_limit()]
    )
    for order_ref in reread:

        def order_pages(number: int, ref: str = order_ref) -> Iterator[Page[SourceFulfillment]]:
            return adapter.iter_fulfillment_pages(order_id=ref, start_page=number)

        for page in _pages(fetch_page, order_pages):
            written += fulfillment_fees_write(
                organization_id=organization_id,
                connection_id=connection_id,
                fulfillments=page.items,
            )
    fees_attach_waiting(organization_id=organization_id, connection_id=connection_id)
    return written
