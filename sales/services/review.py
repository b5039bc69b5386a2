"""Writes of the Sales tab: ignore / un-ignore orders, re-import orders from their source, post
them (through the accounting app), and the background actions on "all N filtered". One module
per action (``order_ignore``, ``order_reimport``, ``order_posting``, ``order_bulk_actions``);
callers import from here.

Ignored orders are never posted: only orders that are not in the ledger (not posted, or
failed) can be ignored; un-ignoring puts them back to "failed" when their last posting
attempt failed, else to "not posted". Both are conditional UPDATEs, so a posting that runs at
the same moment never sees a half-applied state, and repeating one changes nothing.

Every changed order gets its own audit event (``sales.order.ignored`` ...), so the order's
page shows who did what even when the change came from a background action on 200,000
orders; those events are written in bulk, one INSERT per chunk.
"""

from __future__ import annotations

from sales.services.order_bulk_actions import (
    CHUNK_SIZE,
    REIMPORT_CHUNK_SIZE,
    BulkExecuteResult,
    order_bulk_action_execute,
    order_bulk_action_start,
    order_bulk_actions_recover,
)
from sales.services.order_ignore import IGNORABLE, orders_ignore, orders_unignore
from sales.services.order_posting import (
    ledger_connected,
    ledgers_available,
    orders_post,
    orders_retry_failed,
)
from sales.services.order_reimport import ReimportResult, orders_reimport

__all__ = [
    "CHUNK_SIZE",
    "IGNORABLE",
    "REIMPORT_CHUNK_SIZE",
    "BulkExecuteResult",
    "ReimportResult",
    "ledger_connected",
    "ledgers_available",
    "order_bulk_action_execute",
    "order_bulk_action_start",
    "order_bulk_actions_recover",
    "orders_ignore",
    "orders_post",
    "orders_reimport",
    "orders_retry_failed",
    "orders_unignore",
]
