"""The posting engine: exactly once, whatever crashes or is delivered twice.

The life of a :class:`~accounting.models.Posting`:

1. **Created** (``pending``) for an eligible order, label cost or day, one row per
   (ledger connection, kind, source reference) - a unique constraint, so a second request to
   post the same thing finds the existing row. Its idempotency key and document number are
   fixed here.
2. **Claimed** by one worker: ``SELECT ... FOR UPDATE SKIP LOCKED`` on a due row, which
   becomes ``in_flight`` with a lease (``lease_until``) and a fresh ``lease_token``.
   ``sent_at`` is set in the same write: from now on the ledger may hold the document even
   if we never hear back.
3. **Sent** with the stored idempotency key (the ledger's request id, where it has one).
   When the previous attempt
   may have reached the ledger (``sent_at`` was already set: a crash, a timeout, a lease
   that ran out), the document is first **looked up** by its number and our marker.
4. **Recorded** (``posted``) by an update fenced on the lease token: a worker whose lease
   was taken over records nothing; the new owner finds the document in its look-up.

Errors: a refused token marks the connection ``needs_reauth`` (owners are told) and the
posting waits; throttling and outages are retried with backoff; a refusal of the document
itself, or a document that cannot be built, fails with the ledger's or our own words.

One module per step: ``eligibility`` (which ledger, which orders), ``create`` (posting
rows), ``enqueue`` (on request), ``schedule`` (after an import, on a schedule, flagging
changes), ``claim``, ``context`` (what a drain loads once), ``build``, ``execute``,
``release`` (no result: wait, retry, fail), ``record``, ``removal``, ``drain`` (and the
sweep). Callers import from this package only; an asynchronous ledger records its answers
with :func:`accounting.services.posting_record_result` (``accounting.services.results``).
"""

from accounting.services.engine.build import _build, _Skip, build_or_release
from accounting.services.engine.claim import (
    Claim,
    _claimable,
    _event,
    _fenced,
    posting_claim,
    posting_claim_batch,
)
from accounting.services.engine.context import RECORD_BACKLOG, _Context
from accounting.services.engine.create import (
    PostingSpec,
    _create_postings,
    _label_specs,
    _reopen,
    _sale_specs,
)
from accounting.services.engine.drain import (
    _drain,
    _queue_drains_on_commit,
    _release_unsent,
    has_due_postings,
    posting_drain,
    posting_sweep,
)
from accounting.services.engine.eligibility import (
    CANCELLED_STATUSES,
    _settings_of,
    active_ledger,
    eligible_orders,
    order_ineligibility,
)
from accounting.services.engine.enqueue import (
    posting_enqueue_orders,
    posting_retry_failed,
    posting_update_changed,
)
from accounting.services.engine.execute import posting_execute
from accounting.services.engine.record import _record
from accounting.services.engine.release import (
    _backoff,
    _fail_internal,
    _release,
    _retry_later,
    _set_orders_status,
    _wait_for_day_end,
    _wait_for_ledger,
)
from accounting.services.engine.removal import (
    _execute_removal,
    _is_merged_order_removal,
    _is_voided_label_removal,
    _record_removed,
    removed_fields,
)
from accounting.services.engine.schedule import (
    _enqueue_unposted,
    posting_after_import,
    posting_flag_changes,
    posting_run_scheduled,
)

__all__ = [
    "CANCELLED_STATUSES",
    "RECORD_BACKLOG",
    "Claim",
    "PostingSpec",
    "_Context",
    "_Skip",
    "_backoff",
    "_build",
    "_claimable",
    "_create_postings",
    "_drain",
    "_enqueue_unposted",
    "_event",
    "_execute_removal",
    "_fail_internal",
    "_fenced",
    "_is_merged_order_removal",
    "_is_voided_label_removal",
    "_label_specs",
    "_queue_drains_on_commit",
    "_record",
    "_record_removed",
    "_release",
    "_release_unsent",
    "_reopen",
    "_retry_later",
    "_sale_specs",
    "_set_orders_status",
    "_settings_of",
    "_wait_for_day_end",
    "_wait_for_ledger",
    "active_ledger",
    "build_or_release",
    "eligible_orders",
    "has_due_postings",
    "order_ineligibility",
    "posting_after_import",
    "posting_claim",
    "posting_claim_batch",
    "posting_drain",
    "posting_enqueue_orders",
    "posting_execute",
    "posting_flag_changes",
    "posting_retry_failed",
    "posting_run_scheduled",
    "posting_sweep",
    "posting_update_changed",
    "removed_fields",
]
