"""Accounting services (writes). The public entry points other apps call:

- ``posting_enqueue_orders(organization=..., order_ids=ids | queryset, user=..., origin=...)``
- ``posting_retry_failed(organization=..., posting_ids=... | order_ids=..., user=...)``
- ``posting_after_import(organization_id, connection_id, run_id)`` (the import calls it, via
  ``accounting.tasks.queue_posting_after_import``, when a sync run finished)
- ``posting_record_result(posting=..., result=... | error=...)`` and
  ``posting_record_results(organization_id=..., answers=[LedgerAnswer(...)])`` (an
  asynchronous ledger, ``LedgerProvider.asynchronous``, records its answers for queued postings; the
  engine records a synchronous ledger's answer itself, fenced on the claim's lease)
- ``posting_drain(ledger_connection_id=...)``, ``has_due_postings(ledger_connection_id)``
  (a ledger that builds its queued documents on its own schedule drains them first)
"""

from accounting.services.engine import (
    active_ledger,
    eligible_orders,
    has_due_postings,
    posting_after_import,
    posting_drain,
    posting_enqueue_orders,
    posting_retry_failed,
    posting_update_changed,
)
from accounting.services.results import (
    LedgerAnswer,
    posting_record_result,
    posting_record_results,
)

__all__ = [
    "LedgerAnswer",
    "active_ledger",
    "eligible_orders",
    "has_due_postings",
    "posting_after_import",
    "posting_drain",
    "posting_enqueue_orders",
    "posting_record_result",
    "posting_record_results",
    "posting_retry_failed",
    "posting_update_changed",
]
