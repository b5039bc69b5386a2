"""Order statuses as a merchant reads them.

Orders keep the source's own status code (ShipStation's ``awaiting_shipment``...); every
screen shows it through :func:`order_status_label`, never as the code itself."""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

# ShipStation's order statuses, in its own order (order files use the same words).
ORDER_STATUS_LABELS = {
    "awaiting_payment": _("Awaiting payment"),
    "awaiting_shipment": _("Awaiting shipment"),
    "pending_fulfillment": _("Pending fulfillment"),
    "shipped": _("Shipped"),
    "on_hold": _("On hold"),
    "cancelled": _("Cancelled"),
    "rejected_fulfillment": _("Rejected fulfillment"),
}

_CODE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")


def order_status_label(code: str) -> str:
    """The label of a status code; a code we do not know yet reads as words ("on_backorder":
    "On backorder"), and a status typed by a person (an order file's "Completed") as it is."""
    if not code:
        return ""
    label = ORDER_STATUS_LABELS.get(code)
    if label is not None:
        return str(label)
    if _CODE.fullmatch(code):
        return code.replace("_", " ").capitalize()
    return code
