"""``make run``'s demo account (issue 16): ShipStation's rough edges at real rates (a merge,
splits, quick-ship labels without an order, a label billed to a third party, labels shipped
after they were bought, orders without items, an order number used by two stores, ShipBob
and FBA fulfillment fees), imported over HTTP and checked figure by figure against the
stand-in's own records, then on the Sales tab."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from sales.filters import OrderFilters
from sales.models import FulfillmentFee, Order, ShippingCost, SyncStatus
from sales.selectors_tab import order_summary
from sandbox.shipstation import (
    DEMO_API_KEY,
    DEMO_API_SECRET,
    DEMO_DAYS,
    DEMO_ORDERS,
    DEMO_SEED,
    DEMO_STORES,
)
from sandbox.shipstation.dates import pacific_date
from tests.sales.support import make_connection, run_sync
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db
ZERO = Decimal("0.00")


@pytest.fixture
def demo(ss_app, settings):
    from connections.sources.shipstation.client import api_key_fingerprint
    from connections.sources.shipstation.limits import shipstation_rate_limiter

    ss_app.disable_rate_limit()
    shipstation_rate_limiter().reset(f"shipstation:{api_key_fingerprint(DEMO_API_KEY)}")
    settings.SALES_SYNC_PAGE_SIZE = 500
    return ss_app.add_account(
        DEMO_API_KEY, DEMO_API_SECRET, seed=DEMO_SEED, orders=DEMO_ORDERS, days=DEMO_DAYS,
        stores=DEMO_STORES, realistic=True,
    )  # fmt: skip


def test_the_demo_account_imports_figure_by_figure(demo, org_a):
    touched = demo.realism
    # What the demo holds (README, "make run"): at least one of each rough edge.
    assert {k: len(v) >= 1 for k, v in touched.items()} == dict.fromkeys(touched, True)
    stores = [(s.store_id, s.store_name, True) for s in demo.stores.values()]
    connection = make_connection(
        org_a, key=DEMO_API_KEY, secret=DEMO_API_SECRET, stores=stores,
        start_date=(timezone.now() - timedelta(days=DEMO_DAYS + 5)).date(),
    )  # fmt: skip
    assert run_sync(org_a, connection).status == SyncStatus.SUCCEEDED

    with org_scope(org_a.pk):
        ours = {o.external_id: o for o in Order.objects.all()}
        costs = {c.external_id: c for c in ShippingCost.objects.all()}
        fees = {f.external_id: f for f in FulfillmentFee.objects.all()}
        summary = order_summary(organization=org_a, filters=OrderFilters())
    records = demo.orders.records
    # Every order ShipStation lists, once; the one merged away is not among them.
    assert set(ours) == {str(i) for i in records}
    for ref, order in ours.items():
        theirs = records[int(ref)]
        assert (order.order_total, order.amount_paid) == (theirs.order_total, theirs.amount_paid)

    # The merge: the survivor carries the merged order's lines and amounts.
    [survivor_id] = touched["merged"]
    survivor = records[survivor_id]
    assert survivor.merged_ids and all(str(i) not in ours for i in survivor.merged_ids)
    assert ours[str(survivor_id)].order_total == survivor.order_total

    # Splits: each part its own sale, numbered after ShipStation's number, never twice.
    for part_id in touched["split"]:
        part = ours[str(part_id)]
        original = ours[str(records[part_id].parent_id)]
        assert part.number == original.number and part.split_part >= 2
        assert original.split_part == 0
    shown = [(o.source_store_id, o.display_number) for o in ours.values()]
    assert len(shown) == len(set(shown))

    # The order number two stores use: two orders, two stores.
    a, b = (ours[str(i)] for i in touched["repeated_number"])
    assert a.number == b.number and a.source_store_id != b.source_store_id

    # Orders without items: imported with their total, no difference.
    for ref in touched["no_items"]:
        order = ours[str(ref)]
        assert order.items_count == 0 and order.lines_subtotal == records[ref].lines_total
        assert order.reconciliation_difference == records[ref].amount_paid - order.order_total

    # Labels: every label once; quick-ship ones linked to no order; the third party's
    # kept but not the merchant's cost.
    assert set(costs) == {str(i) for i in demo.shipments.records}
    for ref in touched["orderless"]:
        assert costs[str(ref)].order_id is None and not costs[str(ref)].linked_to_order
    [third] = touched["third_party"]
    billed = costs[str(third)]
    assert billed.billed_to_others
    theirs_labels: dict[int, Decimal] = {}
    for s in demo.shipments.records.values():
        if s.order_id and not s.voided and not s.is_return_label and not s.bill_to_party:
            theirs_labels[s.order_id] = theirs_labels.get(s.order_id, ZERO) + (
                s.shipment_cost + s.insurance_cost
            )
    for ref, order in ours.items():
        assert order.label_cost_total == theirs_labels.get(int(ref), ZERO), ref
    for ref in touched["late_ship"]:
        label = demo.shipments.records[ref]
        assert costs[str(ref)].ship_date == label.ship_date > pacific_date(label.create_date)

    # Fulfillment fees, to the cent.
    counted = {
        f.fulfillment_id: f.fulfillment_fee
        for f in demo.fulfillments.records.values()
        if not f.voided
    }
    assert set(fees) == {str(i) for i in demo.fulfillments.records}
    assert sum(f.fee for f in fees.values() if not f.voided) == sum(counted.values())
    assert sum(counted.values()) > 0
    assert sum(o.fulfillment_fee_total for o in ours.values()) == sum(counted.values())

    # The Sales tab's totals.
    [totals] = summary.totals
    assert totals.orders == len(records)
    assert totals.total_sales == sum(o.order_total for o in records.values())
    assert totals.fulfillment_fees == sum(counted.values())
    assert totals.label_costs == sum(
        o.label_cost_total + o.return_label_cost_total for o in ours.values()
    )
    print(
        f"demo: {len(records)} orders, {len(costs)} labels "
        f"({len(touched['orderless'])} without an order), {len(touched['merged'])} merged, "
        f"{len(touched['split'])} split, {len(touched['no_items'])} without items, "
        f"{len(fees)} fulfillments, fees {sum(counted.values())}"
    )
