"""Fulfillment fees (issue 16, item 8): imported once for the sync window, attached to their
orders by ShipStation's order id, dropped when voided, shown on the order page and in the
Sales tab's totals, to the cent; third-party insurance counted once. Stand-in over HTTP,
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from sales.filters import OrderFilters
from sales.models import FulfillmentFee, Order, SyncStatus
from sales.selectors_tab import order_summary
from tests.sales.support import SS_KEY, api_requests, make_connection, run_sync
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

MUG = {"sku": "MUG-1", "name": "Mug", "quantity": 1, "unitPrice": "20.00"}


def _fees(org) -> dict[str, FulfillmentFee]:
    with org_scope(org.pk):
        return {f.external_id: f for f in FulfillmentFee.objects.all()}


def _order(org, ref) -> Order:
    with org_scope(org.pk):
        return Order.objects.get(external_id=str(ref))


def _summary(org):
    with org_scope(org.pk):
        return order_summary(organization=org, filters=OrderFilters())


def test_fees_are_imported_once_attached_shown_and_dropped_when_voided(
    ss_account, org_a, member_of_a, client
):
    ss = ss_account
    # Two days old: later incremental windows do not list its fulfillment by create date.
    days_ago = datetime.now(UTC) - timedelta(days=2)
    first = ss.add_order(SS_KEY, status="awaiting_shipment", items=[MUG], at=days_ago)
    second = ss.add_order(SS_KEY, status="awaiting_shipment", items=[MUG])
    third = ss.add_order(SS_KEY, status="awaiting_shipment", items=[MUG])
    fee_one = ss.add_fulfillment(
        SS_KEY, first["orderId"], fee="3.50", at=days_ago + timedelta(hours=3)
    )
    fee_two = ss.add_fulfillment(SS_KEY, second["orderId"], fee="2.25")
    # A label with insurance bought from a third party: its cost once, insurance included.
    ss.add_label(SS_KEY, third["orderId"], shipment_cost="7.10", insurance_cost="1.15")
    connection = make_connection(org_a)
    assert run_sync(org_a, connection).status == SyncStatus.SUCCEEDED

    fees = _fees(org_a)
    assert set(fees) == {str(fee_one["fulfillmentId"]), str(fee_two["fulfillmentId"])}
    one = fees[str(fee_one["fulfillmentId"])]
    assert (one.fee, one.provider, one.voided) == (Decimal("3.50"), "ShipBob", False)
    assert one.order_id == _order(org_a, first["orderId"]).pk
    assert _order(org_a, first["orderId"]).fulfillment_fee_total == Decimal("3.50")
    assert _order(org_a, second["orderId"]).fulfillment_fee_total == Decimal("2.25")
    assert _order(org_a, third["orderId"]).label_cost_total == Decimal("8.25")
    [totals] = _summary(org_a).totals
    assert (totals.fulfillment_fees, totals.label_costs) == (Decimal("5.75"), Decimal("8.25"))
    assert totals.shipping_margin == totals.shipping_charged - Decimal("8.25")

    # Read again: nothing doubles.
    run_sync(org_a, connection)
    assert len(_fees(org_a)) == 2
    [totals] = _summary(org_a).totals
    assert totals.fulfillment_fees == Decimal("5.75")

    # The order page lists the fee.
    order = _order(org_a, first["orderId"])
    client.force_login(member_of_a.user)
    page = client.get(
        reverse("sales:detail", kwargs={"org_slug": org_a.slug, "order_id": order.pk})
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="fulfillment-fees"' in html and "ShipBob" in html and "3.50" in html

    # Voided in ShipStation: List Fulfillments has no void-date filter; the order changed, so
    # its fulfillments are read again by order id, and the fee drops out.
    ss.void_fulfillment(SS_KEY, fee_one["fulfillmentId"])
    before = len(api_requests(ss, "/fulfillments"))
    run_sync(org_a, connection)
    reread = api_requests(ss, "/fulfillments")[before:]
    assert any(f"orderId={first['orderId']}" in r.query for r in reread)
    voided = _fees(org_a)[str(fee_one["fulfillmentId"])]
    assert voided.voided and voided.void_date is not None
    assert _order(org_a, first["orderId"]).fulfillment_fee_total == Decimal("0.00")
    [totals] = _summary(org_a).totals
    assert totals.fulfillment_fees == Decimal("2.25")


def test_fees_are_posted_once_as_expenses_and_a_voided_one_never(
    ss_account, org_a, qbo, qbo_settings
):
    from accounting.models import Posting, PostingKind, PostingState
    from accounting.services import posting_after_import
    from accounting.services.engine import posting_drain, posting_enqueue_orders
    from tests.accounting.conftest import connect_ledger

    ss = ss_account
    orders = [ss.add_order(SS_KEY, status="awaiting_shipment", items=[MUG]) for _ in range(3)]
    kept = ss.add_fulfillment(SS_KEY, orders[0]["orderId"], fee="3.50")
    ss.add_fulfillment(SS_KEY, orders[1]["orderId"], fee="4.05", provider="amazon_fba")
    voided = ss.add_fulfillment(SS_KEY, orders[2]["orderId"], fee="2.00")
    ss.void_fulfillment(SS_KEY, voided["fulfillmentId"])
    connection = make_connection(org_a)
    run = run_sync(org_a, connection)
    ledger = connect_ledger(
        org_a, qbo, trigger="after_import", label_cost_mode="expense",
        eligible_statuses=["shipped"],
    )  # fmt: skip
    with org_scope(org_a.pk):
        posting_after_import(org_a.pk, connection.pk, run.pk)
        posting_drain(ledger_connection_id=ledger.pk)
        # Asked again (a Post click on every order): nothing is sent twice.
        posting_enqueue_orders(
            organization=org_a, order_ids=list(Order.objects.values_list("pk", flat=True))
        )
        posting_drain(ledger_connection_id=ledger.pk)
        fee_postings = list(Posting.objects.filter(kind=PostingKind.FULFILLMENT_FEE))
    assert sorted(p.status for p in fee_postings) == [PostingState.POSTED] * 2
    expenses = qbo.documents("purchase")
    by_vendor = {p["EntityRef"]["name"]: Decimal(str(p["TotalAmt"])) for p in expenses}
    assert by_vendor == {"ShipBob": Decimal("3.50"), "Amazon FBA": Decimal("4.05")}
    assert len(expenses) == 2
    first = _order(org_a, orders[0]["orderId"])
    assert any(p["DocNumber"] == f"SS-{first.number}-F" for p in expenses)
    assert str(kept["fulfillmentId"]) in {p.fulfillment_fee.external_id for p in fee_postings}
