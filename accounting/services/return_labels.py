"""Return labels: postage the merchant pays to get goods back, not outbound shipping.

The source marks them on the shipment (``SourceShipment.is_return``). Their cost is posted like
any label cost (same mode, same paying account, exactly once), but:

- to its own account: ``PostingSettings.return_label_account_id``, or (blank) the shipping
  expense account, always with "Return label" on the line so it reads apart in the ledger;
- shown apart on the order page: a "Return label" badge and a total of its own
  (``Order.return_label_cost_total``, kept out of ``label_cost_total`` by the import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from accounting.models import PostingSettings
    from sales.models import ShippingCost


def expense_account(cost: ShippingCost, ps: PostingSettings, shipping_expense: str) -> str:
    """The account a label's cost goes to: a return label's own account when one is chosen,
    else ``shipping_expense`` (the mapped shipping expense account)."""
    if cost.is_return and ps.return_label_account_id:
        return ps.return_label_account_id
    return shipping_expense


def line_texts(*, label: str, number: str) -> tuple[str, str]:
    """(label line, insurance line) descriptions of a return label's cost."""
    if number:
        return (
            _("Return label %(label)s for order %(number)s") % {"label": label, "number": number},
            _("Return label insurance for order %(number)s") % {"number": number},
        )
    return (
        _("Return label %(label)s (not linked to an order)") % {"label": label},
        _("Return label insurance (not linked to an order)"),
    )
