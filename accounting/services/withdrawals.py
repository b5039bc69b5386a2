"""Sales withdrawn after posting: an order posted, then cancelled in its source (or no longer
in a status the settings post, such as an order back in the queue because its only label was
voided) must not stay in the ledger as a sale.

The import flags the order "changed after posting"; :func:`withdrawals_flag` lists its posted
sale with the reason; "Update selected in the ledger" queues it, and the engine then removes
the document (an invoice together with its payment) exactly like a voided label's expense:
under the claim's lease, fenced on record, a retry after an unknown outcome finding the
document gone. The posting ends "removed", the order "not posted", so it posts afresh if it
becomes eligible again (:func:`withdrawals_reopen`). A skipped posting reopens the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.utils import timezone

from accounting.ledgers.registry import get_provider
from accounting.models import (
    LedgerConnection,
    Posting,
    PostingKind,
    PostingSettings,
    PostingState,
)
from accounting.services.documents import idempotency_key, source_name
from sales.models import Order
from sales.models import PostingStatus as OrderPostingStatus
from unify.core.stored_text import gettext as _

if TYPE_CHECKING:
    from accounting.ledgers.base import RemovalResult

CANCELLED_STATUSES = ("cancelled", "canceled")


def withdrawal_reason(order: Order, ps: PostingSettings) -> str:
    """Why a posted sale of ``order`` no longer belongs in the ledger ("" when it does).
    Only the order's own state counts: a settings change never takes posted sales out."""
    if order.merged_into_id is not None:
        return ""  # the merge path removes it (engine: merged orders)
    if order.is_cancelled or order.status in CANCELLED_STATUSES:
        return _("The order was cancelled in %(source)s after it was posted.") % {
            "source": source_name(order.source)
        }
    if ps.eligible_statuses and order.status not in ps.eligible_statuses:
        return _(
            "The order's status changed to “%(status)s” in %(source)s after it was posted, "
            "and orders with that status are not posted (a voided label puts an order back "
            "in the queue)."
        ) % {"status": order.status, "source": source_name(order.source)}
    return ""


def _flag_message(reason: str, ledger: LedgerConnection) -> str:
    if get_provider(ledger.provider).supports_update:
        return _(
            "%(reason)s “Update selected in the ledger” removes the sale (and its payment) "
            "from %(ledger)s."
        ) % {"reason": reason, "ledger": ledger.get_provider_display()}
    return _("%(reason)s Remove the sale in %(ledger)s.") % {
        "reason": reason,
        "ledger": ledger.get_provider_display(),
    }


def withdrawals_flag(*, ledger: LedgerConnection, ps: PostingSettings) -> int:
    """List posted sales whose order was withdrawn since, with the reason. Returns how many
    were newly given a reason."""
    candidates = (
        Posting.objects.filter(
            ledger_connection=ledger,
            kind=PostingKind.SALE,
            status=PostingState.POSTED,
            order__changed_after_posting=True,
            order__merged_into__isnull=True,
        )
        .select_related("order")
        .only("pk", "error", "needs_review", "order")
    )
    count = 0
    now = timezone.now()
    for posting in candidates:
        reason = withdrawal_reason(posting.order, ps)
        if not reason:
            continue
        message = _flag_message(reason, ledger)
        if posting.needs_review and posting.error == message:
            continue
        Posting.objects.filter(pk=posting.pk).update(
            needs_review=True, error=message[:4000], updated_at=now
        )
        count += 1
    return count


def is_withdrawn_sale(posting: Posting, ps: PostingSettings) -> bool:
    """A sale already in the ledger (queued again by "Update in the ledger") whose order was
    withdrawn since: its document is taken out, not updated."""
    if posting.kind != PostingKind.SALE or not posting.external_id or posting.revision == 0:
        return False
    order = Order.objects.filter(pk=posting.order_id).first() if posting.order_id else None
    return order is not None and bool(withdrawal_reason(order, ps))


def removal_refused_message(ledger: str, reason: str) -> str:
    return _(
        "The order was withdrawn after posting, but %(ledger)s refused to delete this sale: "
        "%(reason)s Remove it in %(ledger)s by hand, or try the update again afterwards."
    ) % {"ledger": ledger, "reason": reason}


def removal_unsupported_message(ledger: str) -> str:
    return _(
        "The order was withdrawn after posting, but %(ledger)s does not let Unify remove "
        "posted documents. Remove this sale in %(ledger)s."
    ) % {"ledger": ledger}


def withdrawals_record(claim, ledger: str, result: RemovalResult) -> None:
    """The withdrawn sale is out of the ledger: the posting is removed (its ledger ids kept
    for the record) and the order is "not posted" again."""
    from accounting.services.engine import _record_removed

    posting = claim.posting
    if result.already_removed:
        message = _(
            "Removed from %(ledger)s: the order was withdrawn after posting (the document was "
            "already gone)."
        ) % {"ledger": ledger}
    else:
        message = _("Removed from %(ledger)s: the order was withdrawn after posting.") % {
            "ledger": ledger
        }

    def not_posted(now) -> None:
        Order.objects.filter(pk=posting.order_id).exclude(
            posting_status=OrderPostingStatus.IGNORED
        ).update(
            posting_status=OrderPostingStatus.NOT_POSTED,
            changed_after_posting=False,
            updated_at=now,
        )

    _record_removed(claim, result, message, then=not_posted)


# Sale postings that may start again: skipped ones, and withdrawn sales taken out.
REOPENABLE = (PostingState.FAILED, PostingState.SKIPPED, PostingState.REMOVED)


def withdrawals_reopen(postings: Iterable[Posting]) -> list[Posting]:
    """Of these ``removed`` postings, the sales of orders that were withdrawn (not merged):
    made new documents again (:func:`renew_removed`) so a re-post creates the sale afresh.
    Returns those prepared; the caller sets them pending."""
    prepared = []
    for posting in postings:
        if posting.status != PostingState.REMOVED or posting.kind != PostingKind.SALE:
            continue
        if Order.objects.filter(pk=posting.order_id, merged_into__isnull=False).exists():
            continue
        prepared.append(renew_removed(posting))
    return prepared


def renew_removed(posting: Posting) -> Posting:
    """A ``removed`` posting made a new document again: ledger ids cleared, a new revision
    and idempotency key, status ``failed`` (the caller reopens it with the failed ones)."""
    posting.revision += 1
    posting.idempotency_key = idempotency_key(
        connection_id=posting.ledger_connection_id,
        kind=posting.kind,
        source_reference=posting.source_reference,
        revision=posting.revision,
    )
    Posting.objects.filter(pk=posting.pk, status=PostingState.REMOVED).update(
        status=PostingState.FAILED,  # reopened with the failed ones just after
        revision=posting.revision,
        idempotency_key=posting.idempotency_key,
        external_id="",
        external_number="",
        external_revision="",
        secondary_external_id="",
        deep_link="",
    )
    posting.status = PostingState.FAILED
    posting.external_id = ""
    return posting
