"""Building a claimed posting's document (or releasing the posting when it cannot be
built: skipped with the reason, or failed with a message for the merchant)."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from accounting.models import Posting, PostingKind, PostingState
from accounting.services import fees as fees_module
from accounting.services import summaries
from accounting.services.documents import (
    DocumentBuildError,
    build_expense_document,
    build_sale_document,
    build_summary_document,
    summary_totals,
)
from accounting.services.engine.claim import Claim
from accounting.services.engine.context import _Context
from accounting.services.engine.eligibility import order_ineligibility
from accounting.services.engine.release import _fail_internal, _release, _wait_for_day_end
from sales.models import FulfillmentFee, Order, ShippingCost
from sales.models import PostingStatus as OrderPostingStatus
from unify.core.stored_text import gettext as _

logger = logging.getLogger(__name__)


class _Skip(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def build_or_release(claim: Claim, ctx: _Context) -> tuple[Any, str, list[int]] | None:
    """The posting's document, its content hash and the orders it covers; or None after
    releasing the posting (skipped with the reason, or failed with a message for the
    merchant). Shared by the one-by-one path and the request batches."""
    posting = claim.posting
    try:
        doc, content_hash, covered_orders = _build(ctx, posting)
    except summaries.DayStillOpen as wait:
        _wait_for_day_end(claim, wait)
        return None
    except _Skip as skip:
        _release(claim, status=PostingState.SKIPPED, message=skip.reason, restore_sent=True)
        return None
    except DocumentBuildError as exc:
        _release(
            claim,
            status=PostingState.FAILED,
            message=exc.user_message,
            restore_sent=True,
            order_status=OrderPostingStatus.FAILED,
            hold_reason=exc.hold_reason,
        )
        return None
    except Exception as exc:
        logger.exception("building the document of posting %s failed", posting.pk)
        _fail_internal(
            claim,
            exc,
            _("Unify could not build this document (an internal error). Support has the details."),
            restore_sent=True,
        )
        return None
    return doc, content_hash, covered_orders


def _build(ctx: _Context, posting: Posting):
    """(document, content hash, orders it covers)."""
    ps = ctx.settings
    if posting.kind == PostingKind.SALE:
        order, lines = ctx.order_and_lines(posting.order_id)
        if order is None:
            raise _Skip(_("The order no longer exists."))
        reason = order_ineligibility(order, ps, ctx.tz)
        if reason:
            raise _Skip(reason)
        doc = build_sale_document(
            order=order,
            lines=lines,
            posting_settings=ps,
            facts=ctx.facts,
            document_number=posting.document_number,
            idempotency_key=posting.idempotency_key,
            source_reference=posting.source_reference,
            refs=ctx.refs,
            tz=ctx.tz,
            claims=ctx.claims,
        )
        return doc, order.content_hash, [order.pk]
    if posting.kind == PostingKind.SHIPPING_COST:
        cost = (
            ShippingCost.objects.filter(pk=posting.shipping_cost_id)
            .select_related("connection")
            .first()
        )
        if cost is None:
            raise _Skip(_("The label cost no longer exists."))
        if cost.voided:
            raise _Skip(_("The label was voided."))
        order = Order.objects.filter(pk=cost.order_id).first() if cost.order_id else None
        if order is not None and order.is_ignored:
            raise _Skip(_("The order is ignored."))
        doc = _cost_document(build_expense_document, posting, ps, ctx, cost=cost, order=order)
        return doc, cost.raw_hash, []
    if posting.kind == PostingKind.FULFILLMENT_FEE:
        fee = (
            FulfillmentFee.objects.filter(pk=posting.fulfillment_fee_id)
            .select_related("connection")
            .first()
        )
        if fee is None:
            raise _Skip(_("The fulfillment fee no longer exists."))
        if fee.voided:
            raise _Skip(_("The fulfillment was voided."))
        order = Order.objects.filter(pk=fee.order_id).first() if fee.order_id else None
        if order is not None and order.is_ignored:
            raise _Skip(_("The order is ignored."))
        doc = _cost_document(fees_module.build_fee_document, posting, ps, ctx, fee=fee, order=order)
        return doc, str(fee.fee), []
    summaries.check_day_closed(posting, ctx.tz)
    orders = summaries.summary_orders(ctx.organization, ps, posting)
    if not orders:
        raise _Skip(_("No orders to summarise for this day."))
    totals = summary_totals(orders, ps)
    first = orders[0][0]
    # No store name on the orders (an order file without one): the connection's own name.
    store_name = first.store_name or (first.connection.name if first.connection_id else "")
    doc = build_summary_document(
        totals=totals,
        day=posting.summary_date,
        store_name=store_name,
        currency=orders[0][0].currency or "USD",
        posting_settings=ps,
        facts=ctx.facts,
        document_number=posting.document_number,
        idempotency_key=posting.idempotency_key,
        source_reference=posting.source_reference,
    )
    return doc, summaries.summary_hash(orders), [o.pk for o, _lines in orders]


def _cost_document(builder, posting: Posting, ps, ctx, **source):
    """A label cost's or a fulfillment fee's document, with its payment account's type."""
    doc = builder(
        **source,
        posting_settings=ps,
        facts=ctx.facts,
        document_number=posting.document_number,
        idempotency_key=posting.idempotency_key,
        source_reference=posting.source_reference,
        refs=ctx.refs,
        tz=ctx.tz,
    )
    if doc.payment_account_id:
        doc = dataclasses.replace(
            doc, payment_account_type=ctx.account_kinds.get(doc.payment_account_id, "")
        )
    return doc
