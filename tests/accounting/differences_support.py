"""What an independent read-back expects of an order's difference (issue 17, items 6 and 7),
from the ShipStation stand-in's own account of why an order's payment differs
(``mismatch_reasons`` of its control API) rather than from Unify's code."""

from __future__ import annotations

from decimal import Decimal

from accounting.models import Posting, PostingKind, PostingState
from accounting.services import posting_after_import
from accounting.services.engine import posting_drain
from connections.services import connection_create
from sales.models import Order, SyncStatus
from tests.accounting.conftest import connect_ledger
from tests.accounting.xero_support import connect_xero
from tests.sales.support import SS_KEY, SS_SECRET, run_sync
from unify.tenancy.scoping import org_scope

# The stand-in's marketplaces that collect and remit sales tax
# (``sandbox/generator/vocabulary.py``).
COLLECTING_MARKETPLACES = {"Amazon", "eBay", "Etsy"}


def mismatch_reasons(ss, key: str) -> dict[str, str]:
    """ShipStation order id (text) -> why its payment differs (coupon, marketplace_tax...)."""
    return dict(ss.account_meta(key)["mismatch_reasons"])


def reconciliation_expected(order, reason: str) -> bool:
    """Whether the order's sale carries a reconciliation line: only a difference without a
    proper home does. A coupon goes to the discount account; tax a collecting marketplace
    remitted is left out (with it, an FBA order's unpaid shipping stays a difference)."""
    if not order.reconciliation_difference:
        return False
    market = order.source_store.marketplace_name if order.source_store_id else ""
    collects = market in COLLECTING_MARKETPLACES
    if reason == "coupon":
        return bool(order.discount_total)  # with a discount line, nothing is guessed
    if collects and reason == "marketplace_tax":
        return False
    if collects and reason == "fba":
        return bool(order.shipping_charged)
    return True


# --- ShipStation to QuickBooks Online / Xero over HTTP ---------------------------------------

D = Decimal
# 2 x 12.50 + 5.00 shipping + 2.06 tax = 32.06; the marketplace kept the tax: 30.00 paid.
MUG = {"sku": "MUG-1", "name": "Mug", "quantity": 2, "unitPrice": "12.50", "taxAmount": "2.06"}


def store_ids(ss) -> dict[str, int]:
    """ShipStation store id by marketplace name (the stand-in's account: Shopify, Amazon)."""
    stores = ss.account_meta(SS_KEY)["stores"]
    return {s["marketplaceName"]: s["storeId"] for s in stores if s["active"]}


def order_paid_without_tax(ss, marketplace: str, *, at=None) -> dict:
    order = ss.add_order(
        SS_KEY,
        store_id=store_ids(ss)[marketplace],
        status="shipped",
        items=[MUG],
        shipping_amount="5.00",
        amount_paid="30.00",
        at=at,
        order_date=at,
    )
    assert D(str(order["orderTotal"])) == D("32.06") and D(str(order["taxAmount"])) == D("2.06")
    return order


def make_connection(org):
    """The ShipStation connection as the Connect form makes it: its stores (with their
    ``marketplaceName``) read from the stand-in's ``GET /stores``."""
    with org_scope(org.pk):
        return connection_create(
            organization=org,
            actor=None,
            provider="shipstation",
            credentials={"api_key": SS_KEY, "api_secret": SS_SECRET},
        )


def sync_and_post(org, connection, ledger) -> None:
    run = run_sync(org, connection)
    assert run.status == SyncStatus.SUCCEEDED
    with org_scope(org.pk):
        posting_after_import(org.pk, connection.pk, run.pk)
        posting_drain(ledger_connection_id=ledger.pk)


def posted(org, order_json) -> tuple[Order, Posting]:
    with org_scope(org.pk):
        order = Order.objects.get(external_id=str(order_json["orderId"]))
        posting = Posting.objects.get(order=order, kind=PostingKind.SALE)
    assert posting.status == PostingState.POSTED, posting.error
    return order, posting


def qbo_lines(receipt) -> list[tuple[str, Decimal, str]]:
    """(description, amount, item id) of each line of a QuickBooks sale."""
    return [
        (
            str(line.get("Description", "")),
            D(str(line["Amount"])),
            str(line.get("SalesItemLineDetail", {}).get("ItemRef", {}).get("value", "")),
        )
        for line in receipt["Line"]
        if line.get("DetailType") in ("SalesItemLineDetail", "DiscountLineDetail")
    ]


def xero_lines(invoice) -> list[tuple[str, Decimal, str]]:
    return [
        (str(x.get("Description", "")), D(str(x["LineAmount"])), str(x.get("AccountCode", "")))
        for x in invoice["LineItems"]
    ]


def xero_account_code(xero, code: str) -> str:
    """The id of the seeded Xero account with this code (850: Suspense, a liability)."""
    from sandbox.xero.seed import account_id

    return account_id(xero.tenant_id, code)


def post_to_qbo(org, qbo, order_json, **settings) -> tuple[Order, dict]:
    """Connect ShipStation (stores from ``/stores``) and QuickBooks, import and post after
    the import (reconciliation on, label costs off unless ``settings`` say otherwise): the
    order and its sales receipt as QuickBooks holds it."""
    connection = make_connection(org)
    values = {"label_cost_mode": "off", "reconciliation_enabled": True, **settings}
    ledger = connect_ledger(org, qbo, trigger="after_import", **values)
    sync_and_post(org, connection, ledger)
    order, posting = posted(org, order_json)
    return order, qbo.document("salesreceipt", posting.external_id)


def post_to_xero(org, xero, order_json, **settings) -> dict:
    """The same with Xero: the order's invoice as Xero holds it."""
    connection = make_connection(org)
    values = {"label_cost_mode": "off", "reconciliation_enabled": True, **settings}
    ledger = connect_xero(org, xero, trigger="after_import", **values)
    sync_and_post(org, connection, ledger)
    _order, posting = posted(org, order_json)
    [invoice] = [i for i in xero.documents("Invoices") if i["InvoiceID"] == posting.external_id]
    return invoice
