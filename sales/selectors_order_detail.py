"""An order's page on the Sales tab: its lines, labels, fees, reconciliation and audit trail."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext_lazy as _

from sales.models import Order, OrderLine, ShippingCost
from sales.sources import reimported_label
from unify.core.models import AuditEvent
from unify.tenancy.models import Organization


def order_get(*, organization: Organization, order_id: int) -> Order:
    return Order.objects.select_related("connection", "source_store").get(
        organization=organization, pk=order_id
    )


@dataclass(frozen=True, slots=True)
class Reconciliation:
    lines_subtotal: Decimal
    discount_total: Decimal
    shipping_charged: Decimal
    tax_total: Decimal
    expected: Decimal
    amount_paid: Decimal
    difference: Decimal
    order_total: Decimal
    explanation: str

    @property
    def balanced(self) -> bool:
        return self.difference == 0


def order_reconciliation(order: Order) -> Reconciliation:
    """lines + shipping + tax - discounts against what was paid, with the likeliest reason
    for a difference (the difference itself is never hidden or rounded away)."""
    expected = order.expected_paid
    difference = order.amount_paid - expected
    explanation = ""
    if difference:
        if order.amount_paid == 0:
            explanation = _(
                "Nothing was recorded as paid: the order may be unpaid, or paid out by a "
                "marketplace that does not report the payment (for example FBA orders)."
            )
        elif order.tax_total and difference == -order.tax_total:
            explanation = _(
                "The difference equals the tax: the marketplace likely collected and remitted "
                "the sales tax itself, so the buyer's payment to you excludes it."
            )
        elif difference < 0:
            explanation = _(
                "The buyer paid less than the items, shipping and tax add up to: usually a "
                "discount or coupon the store did not itemise as an order line."
            )
        else:
            explanation = _(
                "The buyer paid more than the items, shipping and tax add up to: usually a fee, "
                "a tip or gift wrapping the store did not itemise as an order line."
            )
    return Reconciliation(
        lines_subtotal=order.lines_subtotal,
        discount_total=order.discount_total,
        shipping_charged=order.shipping_charged,
        tax_total=order.tax_total,
        expected=expected,
        amount_paid=order.amount_paid,
        difference=difference,
        order_total=order.order_total,
        explanation=str(explanation),
    )


def order_lines(*, organization: Organization, order: Order) -> list[OrderLine]:
    return list(
        OrderLine.objects.filter(organization=organization, order=order).order_by("position")
    )


def order_label_costs(*, organization: Organization, order: Order) -> list[ShippingCost]:
    return list(
        ShippingCost.objects.filter(organization=organization, order=order)
        .defer("raw")
        .order_by("create_date", "pk")
    )


def order_fulfillment_fees(*, organization: Organization, order: Order) -> list:
    from sales.models import FulfillmentFee

    return list(
        FulfillmentFee.objects.filter(organization=organization, order=order)
        .defer("raw")
        .order_by("create_date", "pk")
    )


LATE_LABEL_ACTION = "sales.order.label_after_posting"
AUDIT_LABELS = {
    "sales.order.ignored": _("Ignored"),
    "sales.order.unignored": _("No longer ignored"),
    "sales.order.reimported": reimported_label(),
}


def order_audit_trail(
    *, organization: Organization, order: Order, limit: int = 50
) -> list[AuditEvent]:
    events = list(
        AuditEvent.objects.filter(organization=organization, target=f"sales.order:{order.pk}")
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )
    for event in events:
        if event.action == LATE_LABEL_ACTION:
            # Written by accounting when a label was bought after the order was posted.
            from accounting.services.late_labels import late_label_reason

            event.label = late_label_reason(event.metadata)
        else:
            event.label = str(AUDIT_LABELS.get(event.action, event.action))
    return events


def address_lines(address: dict[str, Any] | None) -> list[str]:
    """An address as sources give it (``name``, ``street1``, ``city``...) as printable lines."""
    if not isinstance(address, dict):
        return []

    def part(key: str) -> str:
        value = address.get(key)
        return str(value).strip() if value not in (None, "") else ""

    place = " ".join(p for p in (part("city") + ("," if part("state") else ""), part("state"),
                                  part("postalCode")) if p and p != ",")  # fmt: skip
    lines = [
        part("name"), part("company"), part("street1"), part("street2"), part("street3"), place,
        part("country"), part("phone"),
    ]  # fmt: skip
    return [line for line in lines if line]


def order_raw_pretty(order: Order) -> str:
    return json.dumps(
        order.raw, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False, sort_keys=True
    )
