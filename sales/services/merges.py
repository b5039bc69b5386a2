"""Orders merged or split in their source.

When a merchant combines orders, the source keeps one (its ``SourceOrder.merged_ids`` name the
others) and the others vanish: no listing shows them and asking for one finds nothing. The
surviving order carries their lines and amounts, so each sale must be counted there once:

- an order merged away that was not posted is marked "merged into #N": never posted, left
  out of the Sales tab's totals, still listed (with the mark) so nothing silently vanishes;
- one that was already posted keeps its posting, flagged for review: "Update in the
  ledger" takes its document out of the ledger (the path of a label voided after posting),
  after which it is marked merged like the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db.models import Q
from django.utils import timezone

from sales.models import Order, PostingStatus

POSTED = (PostingStatus.POSTED, PostingStatus.CHANGED)


def orders_mark_merged(
    *, organization_id: int, connection_id: int, merged: Mapping[str, Sequence[str]]
) -> int:
    """``merged``: surviving order source id -> the source ids merged into it. Returns how
    many of our orders were newly marked (inside the caller's page transaction)."""
    merged = {survivor: ids for survivor, ids in merged.items() if ids}
    if not merged:
        return 0
    survivors = dict(
        Order.objects.filter(
            organization_id=organization_id,
            connection_id=connection_id,
            external_id__in=list(merged),
        ).values_list("external_id", "pk")
    )
    now = timezone.now()
    marked = 0
    for survivor, ids in merged.items():
        survivor_pk = survivors.get(survivor)
        if survivor_pk is None:
            continue
        away = Order.objects.filter(
            organization_id=organization_id,
            connection_id=connection_id,
            external_id__in=[i for i in ids if i != survivor],
            merged_into__isnull=True,
        )
        marked += away.filter(posting_status__in=POSTED).update(
            merged_into_id=survivor_pk, changed_after_posting=True, updated_at=now
        )
        marked += away.filter(~Q(posting_status__in=POSTED)).update(
            merged_into_id=survivor_pk, posting_status=PostingStatus.MERGED, updated_at=now
        )
    return marked


def orders_number_split_parts(
    *, organization_id: int, connection_id: int, split: Mapping[str, str]
) -> int:
    """Number the parts split off other orders (``split``: part's source id -> the source id
    of the order it was split off). The source gives every part the same order number (and
    order key); Unify keeps the first order's number as it is and numbers each split part
    2, 3, ... in the order they were imported (by source order id within one page), so
    the number shown and posted ("1001-2") names one sale. A part keeps its number for
    good. Returns how many parts were newly numbered (inside the caller's transaction)."""
    if not split:
        return 0
    parts = list(
        Order.objects.filter(
            organization_id=organization_id,
            connection_id=connection_id,
            external_id__in=list(split),
            split_part=0,
        ).only("pk", "external_id", "number", "order_key", "source_store_id")
    )
    parts.sort(key=lambda o: (len(o.external_id), o.external_id))
    numbered = 0
    for part in parts:
        siblings = Order.objects.filter(
            organization_id=organization_id,
            connection_id=connection_id,
            number=part.number,
            order_key=part.order_key,
            source_store_id=part.source_store_id,
        ).exclude(pk=part.pk)
        taken = max(siblings.values_list("split_part", flat=True), default=0)
        Order.objects.filter(pk=part.pk).update(split_part=max(2, taken + 1))
        numbered += 1
    return numbered
