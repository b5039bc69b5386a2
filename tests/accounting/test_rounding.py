"""Issue 17, item 12: one rounding rule (``unify.core.money``: each line to the cent
half-up, then summed) for the import and the posting, so a difference the Sales tab shows as
0.00 never becomes a 0.01 line in the ledger, and one it shows is the line posted.

ShipStation and QuickBooks Online stand-ins over HTTP, PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounting.models import Posting, PostingKind, PostingState
from accounting.services import posting_after_import
from accounting.services.engine import posting_drain
from sales.models import Order, SyncStatus
from tests.accounting.conftest import connect_ledger
from tests.sales.support import SS_KEY, make_connection, run_sync
from unify.core.money import line_amount, sum_of_lines, to_cents
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

# Three lines at a price with a fractional cent: 3.34 each on the receipt (10.02), while
# rounding the unrounded sum (10.005) would give 10.01.
LINES = [
    {"sku": f"PEN-{i}", "name": f"Pen {i}", "quantity": 1, "unitPrice": "3.335"} for i in range(3)
]


def test_the_rule_is_half_up_per_line_then_summed():
    assert to_cents(Decimal("2.345")) == Decimal("2.35")
    assert to_cents(Decimal("-2.345")) == Decimal("-2.35")
    assert to_cents(Decimal("2.355")) == Decimal("2.36")  # not banker's (2.36 either way)
    assert to_cents(Decimal("2.365")) == Decimal("2.37")  # banker's would give 2.36
    assert line_amount(Decimal("3"), Decimal("3.335")) == Decimal("10.01")
    assert sum_of_lines([(Decimal(1), Decimal("3.335"))] * 3) == Decimal("10.02")


@pytest.mark.parametrize(("paid", "shown"), [("10.02", "0.00"), ("10.03", "0.01")])
def test_import_and_posting_agree_on_the_difference_to_the_cent(
    ss_account, org_a, qbo, qbo_settings, paid, shown
):
    order_json = ss_account.add_order(
        SS_KEY, status="awaiting_shipment", items=LINES, shipping_amount="0", amount_paid=paid
    )
    ss_account.add_label(SS_KEY, order_json["orderId"], shipment_cost="4.00")
    connection = make_connection(org_a)
    ledger = connect_ledger(
        org_a, qbo, trigger="after_import", label_cost_mode="off", reconciliation_enabled=True
    )
    run = run_sync(org_a, connection)
    assert run.status == SyncStatus.SUCCEEDED
    with org_scope(org_a.pk):
        order = Order.objects.get(external_id=str(order_json["orderId"]))
        assert order.lines_subtotal == Decimal("10.02")
        assert order.reconciliation_difference == Decimal(shown)  # what the Sales tab shows
        posting_after_import(org_a.pk, connection.pk, run.pk)
        posting_drain(ledger_connection_id=ledger.pk)
        posting = Posting.objects.get(order=order, kind=PostingKind.SALE)
    assert posting.status == PostingState.POSTED, posting.error
    [receipt] = qbo.documents("salesreceipt")
    assert Decimal(str(receipt["TotalAmt"])) == Decimal(paid)
    differences = [
        Decimal(str(line["Amount"]))
        for line in receipt["Line"]
        if "Reconciliation" in str(line.get("Description", ""))
    ]
    assert differences == ([] if shown == "0.00" else [Decimal(shown)])
