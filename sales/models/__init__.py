"""Orders, their lines and label costs as imported from a source, plus the record of every
sync run and of every record that could not be read.

Amounts are ``Decimal``; every instant is aware UTC. The reconciliation of an order is

    expected  = lines_subtotal - discount_total + shipping_charged + tax_total
    reconciliation_difference = amount_paid - expected

where ``lines_subtotal`` is the sum of ``quantity * unit_price`` over every line that is not
a discount (adjustment lines with a positive price, e.g. gift wrap, count here),
``discount_total`` is the positive sum of the discount lines' ``-(quantity * unit_price)``,
``shipping_charged`` is what the buyer paid for shipping and ``tax_total`` the order's tax.
A non-zero difference is never hidden: coupons the marketplace did not itemise, tax the
marketplace collected and remitted itself, FBA orders and unpaid orders all show up here.

One module per subject (``orders``, ``sync_runs``, ``tab_actions``, ``fields``); callers
import from here.
"""

from sales.models.fields import ZERO, SourceRecordField
from sales.models.orders import (
    BILLED_TO_OTHERS,
    FulfillmentFee,
    LabelStatus,
    Order,
    OrderLine,
    OrderSource,
    PostingStatus,
    ShippingCost,
)
from sales.models.sync_runs import (
    OPEN_SYNC_STATUSES,
    ImportIssue,
    ImportIssueKind,
    SyncKind,
    SyncPhase,
    SyncRun,
    SyncStatus,
)
from sales.models.tab_actions import BulkActionKind, BulkActionStatus, OrderBulkAction

__all__ = [
    "BILLED_TO_OTHERS",
    "OPEN_SYNC_STATUSES",
    "ZERO",
    "BulkActionKind",
    "BulkActionStatus",
    "FulfillmentFee",
    "ImportIssue",
    "ImportIssueKind",
    "LabelStatus",
    "Order",
    "OrderBulkAction",
    "OrderLine",
    "OrderSource",
    "PostingStatus",
    "ShippingCost",
    "SourceRecordField",
    "SyncKind",
    "SyncPhase",
    "SyncRun",
    "SyncStatus",
]
