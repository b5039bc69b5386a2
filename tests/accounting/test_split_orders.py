"""Orders split in ShipStation and order numbers that repeat (issue 16, items 2 and 3).

A split leaves the original order and new parts that share its order number and key, each
part naming the original in ``advancedOptions.parentId``. Each part is its own sale,
numbered "<number>-2", "<number>-3" in the order Unify imported them, with its own labels;
the same number in two stores never makes one customer, one document or one matched label.
Stand-in over HTTP, PostgreSQL, the QBO stand-in."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from accounting.models import Posting, PostingKind, PostingState
from accounting.services import posting_after_import
from accounting.services.engine import posting_drain
from sales.filters import OrderFilters
from sales.models import Order, ShippingCost, SyncStatus
from sales.selectors_tab import EXPORT_FIELDS, order_export_rows, order_summary
from tests.accounting.conftest import connect_ledger
from tests.sales.support import SS_KEY, make_connection, run_sync
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

MUG = {"sku": "MUG-1", "name": "Mug", "quantity": 1, "unitPrice": "20.00", "taxAmount": "1.60"}
CAPS = {"sku": "CAP-1", "name": "Cap", "quantity": 2, "unitPrice": "7.50"}
PEN = {"sku": "PEN-1", "name": "Pen", "quantity": 3, "unitPrice": "2.25"}


def _orders(org) -> dict[str, Order]:
    with org_scope(org.pk):
        return {o.external_id: o for o in Order.objects.all()}


def _summary(org):
    with org_scope(org.pk):
        return order_summary(organization=org, filters=OrderFilters())


def test_split_parts_are_their_own_sales_numbered_in_import_order_with_their_own_labels(
    ss_account, org_a, qbo, qbo_settings
):
    ss = ss_account
    original = ss.add_order(
        SS_KEY, status="awaiting_shipment", items=[MUG, CAPS, PEN], shipping_amount="5.00",
        order_number="1001",
    )  # fmt: skip
    total = Decimal("20.00") + Decimal("1.60") + Decimal("15.00") + Decimal("6.75") + 5
    connection = make_connection(org_a)
    assert run_sync(org_a, connection).status == SyncStatus.SUCCEEDED
    assert _summary(org_a).totals[0].total_sales == total

    item_ids = [i["orderItemId"] for i in original["items"]]
    caps_part = ss.split_order(SS_KEY, original["orderId"], [item_ids[1]])
    assert caps_part["orderNumber"] == "1001"
    assert caps_part["orderKey"] == original["orderKey"]
    assert caps_part["advancedOptions"]["parentId"] == original["orderId"]
    run_sync(org_a, connection)
    pen_part = ss.split_order(SS_KEY, original["orderId"], [item_ids[2]])
    for order_id, cost in (
        (original["orderId"], "6.00"),
        (caps_part["orderId"], "4.00"),
        (pen_part["orderId"], "3.10"),
    ):
        ss.add_label(SS_KEY, order_id, shipment_cost=cost, insurance_cost="0")
    run = run_sync(org_a, connection)

    orders = _orders(org_a)
    first = orders[str(original["orderId"])]
    caps = orders[str(caps_part["orderId"])]
    pens = orders[str(pen_part["orderId"])]
    assert [o.display_number for o in (first, caps, pens)] == ["1001", "1001-2", "1001-3"]
    assert [o.number for o in (first, caps, pens)] == ["1001"] * 3
    assert (first.order_total, caps.order_total, pens.order_total) == (
        Decimal("26.60"), Decimal("15.00"), Decimal("6.75"),
    )  # fmt: skip
    assert sum(o.amount_paid for o in (first, caps, pens)) == total
    assert all(o.reconciliation_difference == 0 for o in (first, caps, pens))
    # Each label on the part it was bought for.
    assert (first.label_cost_total, caps.label_cost_total, pens.label_cost_total) == (
        Decimal("6.00"), Decimal("4.00"), Decimal("3.10"),
    )  # fmt: skip
    with org_scope(org_a.pk):
        by_order = {c.order_id: c.cost for c in ShippingCost.objects.all()}
    assert by_order == {
        first.pk: Decimal("6.00"),
        caps.pk: Decimal("4.00"),
        pens.pk: Decimal("3.10"),
    }
    [totals] = _summary(org_a).totals
    assert (totals.orders, totals.total_sales) == (3, total)

    # A re-read changes nothing: a part keeps its number.
    run_sync(org_a, connection)
    assert [o.display_number for o in _orders(org_a).values()].count("1001-2") == 1

    ledger = connect_ledger(org_a, qbo, trigger="after_import", label_cost_mode="expense")
    with org_scope(org_a.pk):
        posting_after_import(org_a.pk, connection.pk, run.pk)
        posting_drain(ledger_connection_id=ledger.pk)
        sales = list(Posting.objects.filter(kind=PostingKind.SALE))
    assert {p.status for p in sales} == {PostingState.POSTED}
    receipts = {r["DocNumber"]: Decimal(str(r["TotalAmt"])) for r in qbo.documents("salesreceipt")}
    # (the posting settings' default document number prefix is "SS-")
    assert receipts == {
        "SS-1001": Decimal("26.60"), "SS-1001-2": Decimal("15.00"), "SS-1001-3": Decimal("6.75"),
    }  # fmt: skip
    assert sum(receipts.values()) == total
    expenses = sorted(Decimal(str(p["TotalAmt"])) for p in qbo.documents("purchase"))
    assert expenses == [Decimal("3.10"), Decimal("4.00"), Decimal("6.00")]


def test_the_same_order_number_in_two_stores_stays_two_sales_everywhere(
    ss_account, org_a, qbo, qbo_settings
):
    ss = ss_account
    active = [s for s in ss.account_meta(SS_KEY)["stores"] if s["active"]][:2]
    stores = [s["storeId"] for s in active]
    orders = [
        ss.add_order(
            SS_KEY, store_id=store, status="awaiting_shipment", items=[item],
            order_number="5001", customer_name="",
        )
        for store, item in zip(stores, (MUG, CAPS), strict=True)
    ]  # fmt: skip
    for order, cost in zip(orders, ("6.00", "4.00"), strict=True):
        ss.add_label(SS_KEY, order["orderId"], shipment_cost=cost, insurance_cost="0")
    ss.edit_order(SS_KEY, orders[0]["orderId"], customerEmail=None)
    ss.edit_order(SS_KEY, orders[1]["orderId"], customerEmail=None)
    connection = make_connection(
        org_a, stores=[(s["storeId"], s["storeName"], True) for s in active]
    )
    run = run_sync(org_a, connection)
    ours = _orders(org_a)
    a, b = (ours[str(o["orderId"])] for o in orders)
    assert (a.number, b.number) == ("5001", "5001")
    assert (a.label_cost_total, b.label_cost_total) == (Decimal("6.00"), Decimal("4.00"))

    ledger = connect_ledger(
        org_a, qbo, trigger="after_import", label_cost_mode="expense",
        eligible_statuses=["shipped"],
    )  # fmt: skip
    with org_scope(org_a.pk):
        posting_after_import(org_a.pk, connection.pk, run.pk)
        posting_drain(ledger_connection_id=ledger.pk)
        numbers = dict(
            Posting.objects.filter(kind=PostingKind.SALE).values_list("order_id", "document_number")
        )
    assert sorted(numbers.values()) == ["SS-5001", "SS-5001-2"]
    receipts = qbo.documents("salesreceipt")
    assert sorted(r["DocNumber"] for r in receipts) == ["SS-5001", "SS-5001-2"]
    # Two buyers without a name or an email are two customers (the store tells them apart).
    customers = {r["CustomerRef"]["value"] for r in receipts}
    assert len(customers) == 2
    # One expense per label, each naming its own order's document.
    expenses = qbo.documents("purchase")
    assert sorted(Decimal(str(p["TotalAmt"])) for p in expenses) == [
        Decimal("4.00"), Decimal("6.00"),
    ]  # fmt: skip
    assert len({p["DocNumber"] for p in expenses}) == 2

    # The CSV export names each sale's own document.
    with org_scope(org_a.pk):
        rows = list(order_export_rows(organization=org_a, filters=OrderFilters()))
    from sales.export import csv_chunks

    text = "".join(csv_chunks(rows, fields=EXPORT_FIELDS, tz=org_a.tzinfo))
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert sorted((r["order_number"], r["ledger_document"]) for r in parsed) == sorted(
        ("5001", numbers[o.pk]) for o in (a, b)
    )


def test_a_split_part_is_found_by_the_number_unify_shows(ss_account, org_a):
    from sales.selectors_tab import order_queryset

    ss = ss_account
    original = ss.add_order(
        SS_KEY, status="awaiting_shipment", items=[MUG, CAPS], order_number="7001"
    )
    ss.split_order(SS_KEY, original["orderId"], [original["items"][1]["orderItemId"]])
    run_sync(org_a, make_connection(org_a))
    with org_scope(org_a.pk):
        found = {
            q: sorted(
                o.display_number
                for o in order_queryset(organization=org_a, filters=OrderFilters(q=q))
            )
            for q in ("7001", "7001-2", "#7001-2")
        }
    assert found == {"7001": ["7001", "7001-2"], "7001-2": ["7001-2"], "#7001-2": ["7001-2"]}
