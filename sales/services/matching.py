"""Label costs <-> orders.

- Sales channel: a label names its order's source id; it is attached to the order with
  that source id on the same connection, now or when the order arrives later.
- Shipping expense: orders come from the shop's order file, uploaded for the connection, and
  labels from the connection's source. A label is matched to an order-file order of its own
  connection with the same order number and the same store (the order's source store = the
  label's store; a label without a store accepts any), and when both carry an order key, the
  keys must agree. Order numbers repeat across stores, so a number alone never matches. A
  label that leaves more than one candidate is left unmatched rather than guessed: it stays
  listed until an order settles it. Matching runs when orders are uploaded and at the end of
  every sync, so either side may arrive first.

An order's ``label_cost_total`` is the sum of ``cost + insurance`` over its labels that are
neither voided nor return labels; return labels are summed apart. ``label_status`` says
whether a label was bought, or the order shipped without one (no label cost), or neither.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.db.models import (
    Case,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from connections.models import ConnectionMode
from sales.models import BILLED_TO_OTHERS, LabelStatus, Order, OrderSource, ShippingCost

WAITING_CHUNK = 2000
ZERO = Value(0, output_field=DecimalField(max_digits=14, decimal_places=2))


def order_label_totals_refresh(*, organization_id: int, order_ids: Sequence[int]) -> None:
    if not order_ids:
        return
    labels = ShippingCost.objects.filter(
        organization_id=organization_id, order_id=OuterRef("pk"), voided=False
    )

    def total(queryset):
        # Labels billed to the recipient or a third party are labels, not the merchant's cost.
        queryset = queryset.exclude(bill_to_party__in=BILLED_TO_OTHERS)
        return Coalesce(
            Subquery(
                queryset.order_by()
                .values("order_id")
                .annotate(
                    total=Sum(
                        F("cost") + F("insurance"),
                        output_field=DecimalField(max_digits=14, decimal_places=2),
                    )
                )
                .values("total")[:1]
            ),
            ZERO,
        )

    outbound = labels.filter(is_return=False)
    Order.objects.filter(organization_id=organization_id, pk__in=list(set(order_ids))).update(
        label_cost_total=total(outbound),
        return_label_cost_total=total(labels.filter(is_return=True)),
        label_status=Case(
            When(Exists(outbound), then=Value(LabelStatus.HAS_LABEL)),
            When(
                Q(status="shipped") | Q(externally_fulfilled=True),
                then=Value(LabelStatus.NO_LABEL),
            ),
            default=Value(LabelStatus.NONE),
        ),
    )


def _pick(cost: dict, candidates: list[dict]) -> int | None:
    found = candidates
    store = cost["store_external_id"]
    if store:
        found = [o for o in found if o["store"] == store]
    key = cost["order_key"]
    if key:
        exact = [o for o in found if o["order_key"] == key]
        found = exact or [o for o in found if not o["order_key"]]
    return found[0]["pk"] if len(found) == 1 else None


def shipping_costs_match_order_files(
    *,
    organization_id: int,
    cost_filter: Q,
    numbers: Sequence[str] | None = None,
) -> int:
    """Shipping expense: match unmatched labels of shipping-expense connections to the
    order-file orders of the same connection (rules in the module doc). Returns how many
    labels were matched."""
    costs_qs = ShippingCost.objects.filter(
        cost_filter,
        organization_id=organization_id,
        order__isnull=True,
        connection__mode=ConnectionMode.SHIPPING_EXPENSE,
    ).exclude(order_number="")
    if numbers is not None:
        costs_qs = costs_qs.filter(order_number__in=list(set(numbers)))
    costs = list(
        costs_qs.values("pk", "order_number", "order_key", "store_external_id", "connection_id")
    )
    if not costs:
        return 0
    orders = (
        Order.objects.filter(
            organization_id=organization_id,
            source=OrderSource.ORDER_FILE,
            connection_id__in={c["connection_id"] for c in costs},
            number__in={c["order_number"] for c in costs},
        )
        .order_by()
        .values("pk", "connection_id", "number", "order_key", "source_store__external_id")
    )
    by_number: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for row in orders:
        store = row["source_store__external_id"]
        by_number[(row["connection_id"], row["number"])].append(
            {
                "pk": row["pk"],
                "order_key": row["order_key"],
                "store": None if store is None else str(store),
            }
        )
    matched = []
    for cost in costs:
        candidates = by_number.get((cost["connection_id"], cost["order_number"]), [])
        order_id = _pick(cost, candidates)
        if order_id is not None:
            matched.append(ShippingCost(pk=cost["pk"], order_id=order_id))
    if matched:
        ShippingCost.objects.bulk_update(matched, ["order"], batch_size=500)
        order_label_totals_refresh(
            organization_id=organization_id, order_ids=[c.order_id for c in matched]
        )
    return len(matched)


def shipping_costs_match_waiting(*, organization_id: int, connection_id: int) -> int:
    """Shipping expense: try every label of the connection still waiting for its order (run
    at the end of each sync, so a label whose order was uploaded earlier but which itself
    did not change is matched too). Returns how many were matched."""
    waiting = list(
        ShippingCost.objects.filter(
            organization_id=organization_id, connection_id=connection_id, order__isnull=True
        )
        .exclude(order_number="")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    matched = 0
    for start in range(0, len(waiting), WAITING_CHUNK):
        chunk = waiting[start : start + WAITING_CHUNK]
        matched += shipping_costs_match_order_files(
            organization_id=organization_id, cost_filter=Q(pk__in=chunk)
        )
    return matched
