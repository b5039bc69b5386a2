"""Incremental syncs against the ShipStation stand-in: edits, new orders and voided labels
picked up, the same data written once, an order edited after posting."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from connections.models import StoreConnection
from sales.models import Order, OrderLine, PostingStatus, ShippingCost, SyncKind
from tests.sales.support import (
    SS_KEY,
    SS_SECRET,
    expected_costs,
    expected_orders,
    imported_costs,
    imported_orders,
    make_connection,
    orders_by_ref,
    run_sync,
    table_snapshot,
)
from unify.tenancy.scoping import org_scope

pytestmark = [pytest.mark.django_db, pytest.mark.shipstation_rate_limit(None)]


def test_incremental_sync_picks_up_edits_new_orders_and_voided_labels(ss_app, org_a):
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=16, orders=120, days=30)
    connection = make_connection(org_a)
    first = run_sync(org_a, connection)
    before = orders_by_ref(org_a)

    edited = next(o for o in account.orders.records.values() if o.status == "shipped")
    ss_app.edit_order(SS_KEY, edited.order_id, amountPaid="1.23")
    label = next(s for s in account.shipments.records.values()
                 if not s.voided and not s.is_return_label
                 and s.order_id != edited.order_id)  # fmt: skip
    ss_app.void_label(SS_KEY, label.shipment_id)
    new = ss_app.add_order(SS_KEY, status="awaiting_shipment")

    second = run_sync(org_a, connection)

    assert second.kind == SyncKind.MANUAL
    assert second.window_start == first.window_end - timedelta(minutes=5)
    assert second.orders_created == 1
    assert second.orders_updated == 2  # the edited order and the one whose label was voided
    assert imported_orders(org_a) == expected_orders(account)
    assert imported_costs(org_a) == expected_costs(account)
    after = orders_by_ref(org_a)
    assert after[str(edited.order_id)].amount_paid == Decimal("1.23")
    assert str(new["orderId"]) in after
    with org_scope(org_a.pk):
        voided = ShippingCost.objects.get(external_id=str(label.shipment_id))
    assert voided.voided and voided.void_date is not None
    untouched = [ref for ref in before if ref not in (str(edited.order_id), str(label.order_id))]
    assert all(after[ref].updated_at == before[ref].updated_at for ref in untouched)


def test_a_second_sync_of_the_same_data_writes_nothing(ss_app, org_a):
    ss_app.add_account(SS_KEY, SS_SECRET, seed=17, orders=80, days=30)
    connection = make_connection(org_a)
    run_sync(org_a, connection)
    snapshot = table_snapshot(org_a)
    with org_scope(org_a.pk):
        connection.refresh_from_db()
        StoreConnection.objects.filter(pk=connection.pk).update(
            orders_watermark=None, shipments_watermark=None
        )

    again = run_sync(org_a, connection)

    assert again.kind == SyncKind.INITIAL
    assert (again.orders_created, again.orders_updated, again.costs_created) == (0, 0, 0)
    assert again.orders_unchanged == 80
    assert table_snapshot(org_a) == snapshot


def test_order_edited_after_posting_is_updated_and_flagged(ss_app, org_a):
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=18, orders=60, days=30)
    connection = make_connection(org_a)
    run_sync(org_a, connection)
    posted, noted = [o for o in account.orders.records.values() if o.status == "shipped"][:2]
    with org_scope(org_a.pk):
        Order.objects.filter(external_id__in=[str(posted.order_id), str(noted.order_id)]).update(
            posting_status=PostingStatus.POSTED
        )
        line_ids = set(OrderLine.objects.filter(order__external_id=str(noted.order_id))
                       .values_list("pk", flat=True))  # fmt: skip

    ss_app.edit_order(SS_KEY, posted.order_id, amountPaid="0.99")
    ss_app.edit_order(SS_KEY, noted.order_id, internalNotes="called the customer")
    run_sync(org_a, connection)

    orders = orders_by_ref(org_a)
    assert orders[str(posted.order_id)].amount_paid == Decimal("0.99")
    assert orders[str(posted.order_id)].changed_after_posting is True
    assert orders[str(posted.order_id)].posting_status == PostingStatus.CHANGED
    # A note is not an accounting change: the row is refreshed, the posting stands.
    assert orders[str(noted.order_id)].raw["internalNotes"] == "called the customer"
    assert orders[str(noted.order_id)].changed_after_posting is False
    assert orders[str(noted.order_id)].posting_status == PostingStatus.POSTED
    with org_scope(org_a.pk):
        assert set(OrderLine.objects.filter(order__external_id=str(noted.order_id))
                   .values_list("pk", flat=True)) == line_ids  # fmt: skip
