"""Which label costs are the merchant's to post, beside those of posted orders.

- A label billed to the recipient or a third party (``advancedOptions.billToParty``) is kept
  and shown, but the carrier does not charge the merchant for it: it is never posted.
- A label without an order (bought in the source without one, e.g. a quick ship) is the
  merchant's shipping expense all the same: it is posted on its own, once, when label costs
  are posted at all, from the posting start date on.
- The expense date of a label is the day it was bought (its create date, in the
  organization's time zone), not the ship date printed on it, which can be later: the
  postage is charged when the label is bought.
"""

from __future__ import annotations

from datetime import date, datetime, time

from django.db.models import QuerySet

from accounting.models import LabelCostMode, LedgerConnection, PostingSettings
from sales.models import BILLED_TO_OTHERS, ShippingCost
from unify.tenancy.models import Organization


def merchant_paid(costs: QuerySet) -> QuerySet:
    """``costs`` without the labels someone else pays for."""
    return costs.exclude(bill_to_party__in=BILLED_TO_OTHERS)


def orderless_label_costs_to_post(
    *,
    organization: Organization,
    ledger: LedgerConnection,
    posting_settings: PostingSettings,
    connection_id: int | None = None,
) -> QuerySet:
    """Labels without an order (of one store connection, or all) that this ledger has not
    received yet."""
    if posting_settings.label_cost_mode == LabelCostMode.OFF:
        return ShippingCost.objects.none()
    costs = merchant_paid(
        ShippingCost.objects.filter(organization=organization, order_external_id="", voided=False)
    ).exclude(postings__ledger_connection=ledger)
    if connection_id is not None:
        costs = costs.filter(connection_id=connection_id)
    if posting_settings.start_date:
        start = datetime.combine(posting_settings.start_date, time(), tzinfo=organization.tzinfo)
        costs = costs.filter(create_date__gte=start)
    return costs.order_by("pk")


def label_expense_date(cost: ShippingCost, tz) -> date:
    """The day a label's cost is booked: the day it was bought (see the module)."""
    if cost.create_date is not None:
        return cost.create_date.astimezone(tz).date()
    if cost.ship_date is not None:
        return cost.ship_date
    return cost.created_at.astimezone(tz).date()
