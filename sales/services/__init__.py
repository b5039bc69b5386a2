"""Writes of the sales app: the import (sync runs, page upserts, matching) and order files.

Import from here: ``from sales.services import sync_request, order_upsert_from_file``.
"""

from sales.services.lifecycle import (
    connection_on_connected,
    connection_on_credentials_updated,
    connection_on_disconnecting,
    connection_on_settings_changed,
)
from sales.services.matching import (
    order_label_totals_refresh,
    shipping_costs_match_order_files,
    shipping_costs_match_waiting,
)
from sales.services.notify import connection_needs_credentials
from sales.services.order_files import FileImportResult, order_upsert_from_file
from sales.services.sync import (
    sync_due_connections,
    sync_request,
    sync_run_execute,
    sync_runs_recover,
)
from sales.services.upsert import order_upsert_page, shipping_cost_upsert_page
from sales.services.webhooks import webhook_receive, webhooks_subscribe, webhooks_unsubscribe

__all__ = [
    "FileImportResult",
    "connection_needs_credentials",
    "connection_on_connected",
    "connection_on_credentials_updated",
    "connection_on_disconnecting",
    "connection_on_settings_changed",
    "order_label_totals_refresh",
    "order_upsert_from_file",
    "order_upsert_page",
    "shipping_cost_upsert_page",
    "shipping_costs_match_order_files",
    "shipping_costs_match_waiting",
    "sync_due_connections",
    "sync_request",
    "sync_run_execute",
    "sync_runs_recover",
    "webhook_receive",
    "webhooks_subscribe",
    "webhooks_unsubscribe",
]
