"""Accounting services (writes). The public entry points other apps call:

- ``posting_enqueue_orders(organization=..., order_ids=ids | queryset, user=..., origin=...)``
- ``posting_retry_failed(organization=..., posting_ids=... | order_ids=..., user=...)``
- ``posting_after_import(organization_id, connection_id, run_id)`` (the import calls it, via
  ``accounting.tasks.queue_posting_after_import``, when a sync run finished)
- ``posting_record_result(posting=..., result=... | error=...)`` (an asynchronous ledger,
  QuickBooks Desktop, records its answer for a queued posting)
"""

from accounting.services.engine import (
    active_ledger,
    eligible_orders,
    posting_after_import,
    posting_enqueue_orders,
    posting_retry_failed,
    posting_update_changed,
)
from accounting.services.results import posting_record_result

__all__ = [
    "active_ledger",
    "eligible_orders",
    "posting_after_import",
    "posting_enqueue_orders",
    "posting_record_result",
    "posting_retry_failed",
    "posting_update_changed",
]
