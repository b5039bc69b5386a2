"""The first import against the ShipStation stand-in: every order, line and label once, the
start date, reconciliation, labels, the status filter and excluded stores."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from sales.models import LabelStatus, ShippingCost, SyncKind, SyncStatus
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
)
from unify.tenancy.scoping import org_scope

pytestmark = [pytest.mark.django_db, pytest.mark.shipstation_rate_limit(None)]


def test_first_import_brings_every_order_line_and_label_cost_once(ss_app, org_a, settings):
    settings.SALES_SYNC_PAGE_SIZE = 40
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=11, orders=150, days=30)
    connection = make_connection(org_a)

    run = run_sync(org_a, connection)

    assert run.status == SyncStatus.SUCCEEDED, run.error_detail
    assert run.kind == SyncKind.INITIAL
    expected = expected_orders(account)
    assert imported_orders(org_a) == expected
    costs = expected_costs(account)
    assert imported_costs(org_a) == costs
    assert len(costs) > 100 and any(c[3] for c in costs.values())  # voided ones too
    assert run.orders_created == 150
    assert run.costs_created == len(costs)
    assert run.issues_count == 0
    assert run.pages_done == run.pages_total >= 4 + 4 + 1
    connection.refresh_from_db()
    assert connection.orders_watermark == run.window_end
    assert connection.shipments_watermark == run.window_end
    assert connection.next_sync_at is not None


def test_first_import_starts_at_midnight_of_the_start_date_in_the_organizations_zone(ss_app, org_a):
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=10, orders=200, days=40)
    start = (timezone.now() - timedelta(days=20)).date()
    run = run_sync(org_a, make_connection(org_a, start_date=start))

    midnight = datetime.combine(start, time(), tzinfo=ZoneInfo(org_a.timezone))
    assert run.window_start == midnight
    inside = {str(o.order_id) for o in account.orders.records.values() if o.modify_date >= midnight}
    assert 0 < len(inside) < 200
    assert set(imported_orders(org_a)) == inside


def test_amounts_reconcile_and_mismatches_show_as_a_difference(ss_app, org_a):
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=12, orders=200, days=30)
    run_sync(org_a, make_connection(org_a))

    orders = orders_by_ref(org_a)
    assert account.mismatched, "the generated account has orders that do not reconcile"
    for order_id, record in account.orders.records.items():
        order = orders[str(order_id)]
        discounts = -sum((i.extended for i in record.items if i.unit_price < 0), Decimal(0))
        assert order.discount_total == discounts
        assert order.lines_subtotal - order.discount_total == record.lines_total
        # orderTotal = lines + shipping + tax, so the difference is exactly paid - total.
        assert order.reconciliation_difference == record.amount_paid - record.order_total
        assert (order.reconciliation_difference != 0) == (order_id in account.mismatched)


def test_labels_orders_shipped_without_a_label_and_return_labels(ss_app, org_a):
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=13, orders=200, days=30)
    run_sync(org_a, make_connection(org_a))

    orders = orders_by_ref(org_a)
    with_label = {s.order_id for s in account.shipments.records.values()
                  if not s.voided and not s.is_return_label}  # fmt: skip
    no_label = [o for o in account.orders.records.values()
                if o.order_id not in with_label and o.status == "shipped"]  # fmt: skip
    assert no_label, "the generated account has orders shipped outside ShipStation"
    for record in account.orders.records.values():
        order = orders[str(record.order_id)]
        if record.order_id in with_label:
            assert order.label_status == LabelStatus.HAS_LABEL
        elif record.status == "shipped":
            assert order.label_status == LabelStatus.NO_LABEL
            assert order.label_cost_total == 0
    returns = [s for s in account.shipments.records.values() if s.is_return_label]
    assert returns
    for label in returns:
        assert orders[str(label.order_id)].return_label_cost_total > 0


def test_status_filter_skips_other_new_orders_but_cancellations_reach_known_ones(ss_app, org_a):
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=14, orders=120, days=30)
    connection = make_connection(org_a, statuses=["shipped"])

    run = run_sync(org_a, connection)

    shipped = expected_orders(account, statuses=["shipped"])
    assert set(imported_orders(org_a)) == set(shipped)
    assert run.orders_skipped == len(account.orders.records) - len(shipped)

    victim = int(next(iter(shipped)))
    ss_app.edit_order(SS_KEY, victim, orderStatus="cancelled")
    run = run_sync(org_a, connection)

    assert run.kind == SyncKind.MANUAL
    order = orders_by_ref(org_a)[str(victim)]
    assert order.status == "cancelled"
    assert order.is_cancelled is True
    assert set(imported_orders(org_a)) == set(shipped)


def test_excluded_store_is_not_imported(ss_app, org_a):
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=15, orders=120, days=30, stores=3)
    store_ids = sorted({o.store_id for o in account.orders.records.values()})
    excluded = store_ids[0]
    connection = make_connection(
        org_a,
        stores=[(sid, f"Store {sid}", sid != excluded) for sid in store_ids],
    )

    run_sync(org_a, connection)

    orders = orders_by_ref(org_a)
    expected = {str(o.order_id) for o in account.orders.records.values() if o.store_id != excluded}
    assert set(orders) == expected
    assert all(o.source_store is not None and o.store_name for o in orders.values())
    with org_scope(org_a.pk):
        assert not ShippingCost.objects.filter(store_external_id=str(excluded)).exists()
