"""Which ledger, which orders: the organization's active ledger, its posting settings and
the orders those settings allow to be posted."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, time

from django.db.models import QuerySet

from accounting.models import LedgerConnection, LedgerStatus, PostingSettings
from accounting.services import labels
from accounting.services.documents import source_name
from sales.models import Order, ShippingCost
from sales.models import PostingStatus as OrderPostingStatus
from unify.core.stored_text import gettext as _
from unify.tenancy.models import Organization

logger = logging.getLogger(__name__)


CANCELLED_STATUSES = ("cancelled", "canceled")


# ---------------------------------------------------------------------------------------------
# Which ledger, which orders
# ---------------------------------------------------------------------------------------------


def active_ledger(organization: Organization) -> LedgerConnection | None:
    """The organization's ledger (connected or waiting to be reconnected), if any."""
    return (
        LedgerConnection.objects.filter(organization=organization)
        .exclude(status=LedgerStatus.DISABLED)
        .first()
    )


def _settings_of(connection: LedgerConnection) -> PostingSettings:
    ps, _created = PostingSettings.objects.get_or_create(
        ledger_connection=connection, defaults={"organization_id": connection.organization_id}
    )
    return ps


def _day_start(day: date, tz) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def eligible_orders(*, organization: Organization, posting_settings: PostingSettings) -> QuerySet:
    """Orders the settings allow to be posted: never ignored or cancelled ones."""
    ps = posting_settings
    qs = (
        Order.objects.filter(
            organization=organization,
            is_ignored=False,
            is_cancelled=False,
            merged_into__isnull=True,
        )
        .exclude(status__in=CANCELLED_STATUSES)
        .exclude(posting_status__in=(OrderPostingStatus.IGNORED, OrderPostingStatus.MERGED))
    )
    if ps.eligible_statuses:
        qs = qs.filter(status__in=ps.eligible_statuses)
    if ps.start_date:
        qs = qs.filter(order_date__gte=_day_start(ps.start_date, organization.tzinfo))
    if ps.store_ids:
        qs = qs.filter(source_store_id__in=ps.store_ids)
    return qs


def order_ineligibility(order: Order, ps: PostingSettings, tz) -> str:
    """Why ``order`` may not be posted now ("" when it may)."""
    if order.is_ignored or order.posting_status == OrderPostingStatus.IGNORED:
        return _("The order is ignored.")
    if order.is_cancelled or order.status in CANCELLED_STATUSES:
        return _("The order is cancelled.")
    if order.merged_into_id is not None:
        return _("The order was merged into another order in %(source)s, which is posted.") % {
            "source": source_name(order.source)
        }
    if ps.eligible_statuses and order.status not in ps.eligible_statuses:
        return _("Orders with status “%(status)s” are not posted (see the posting settings).") % {
            "status": order.status
        }
    if ps.start_date and order.order_date and order.order_date < _day_start(ps.start_date, tz):
        return _("The order is older than the posting start date.")
    if ps.store_ids and order.source_store_id not in ps.store_ids:
        return _("The order's store is not posted (see the posting settings).")
    return ""


def _label_costs_for(
    organization: Organization, ps: PostingSettings, order_ids: Iterable[int]
) -> QuerySet:
    qs = ShippingCost.objects.filter(organization=organization, order_id__in=list(order_ids))
    return labels.merchant_paid(qs.filter(voided=False).exclude(order__is_ignored=True))
