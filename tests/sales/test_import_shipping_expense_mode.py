"""Shipping-expense mode: labels matched to order-file orders, and the order-file upsert."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from connections.models import ConnectionMode
from sales.models import ImportIssue, LabelStatus, Order, ShippingCost, SyncStatus
from tests.sales.support import SS_KEY, SS_SECRET, api_requests, make_connection, run_sync
from unify.tenancy.scoping import org_scope

pytestmark = [pytest.mark.django_db, pytest.mark.shipstation_rate_limit(None)]


def _file_order(record, **overrides):
    """A shop order-file row for a sandbox order (what h3's parser produces)."""
    from connections.sources.base import SourceOrder, SourceOrderLine

    fields = dict(
        external_id=f"shop-{record.order_id}",
        order_key=record.order_key,
        number=record.order_number,
        status="shipped",
        order_date=record.order_date,
        create_date=record.create_date,
        modify_date=record.modify_date,
        payment_date=record.payment_date,
        ship_date=None,
        customer_name=record.bill_to.name or "",
        customer_email=record.customer_email or "",
        bill_to={},
        ship_to={},
        store_id=None,
        lines=tuple(
            SourceOrderLine(
                external_id=str(i.order_item_id), line_key=i.line_item_key, sku=i.sku,
                name=i.name, quantity=Decimal(i.quantity), unit_price=i.unit_price,
                tax_amount=i.tax_amount or Decimal(0), shipping_amount=Decimal(0),
                is_adjustment=i.adjustment,
            )
            for i in record.items
        ),
        tax_amount=record.tax_amount,
        shipping_amount=record.shipping_amount,
        order_total=record.order_total,
        amount_paid=record.amount_paid,
        raw={"row": record.order_number},
    )  # fmt: skip
    fields.update(overrides)
    return SourceOrder(**fields)


def test_shipping_expense_mode_matches_labels_to_order_file_orders(ss_app, org_a):
    org_a.plan = "pro"
    org_a.save()
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=26, orders=60, days=30, stores=2)
    store_ids = sorted(account.stores)
    connection = make_connection(
        org_a,
        mode=ConnectionMode.SHIPPING_EXPENSE,
        stores=[(sid, account.stores[sid].store_name, True) for sid in store_ids],
    )
    from sales.services import order_upsert_from_file

    labelled = {}
    for s in account.shipments.records.values():
        if not s.voided and not s.is_return_label:
            labelled.setdefault(s.order_id, []).append(s)
    records = [account.orders.records[i] for i in sorted(labelled)]
    early, late = records[:10], records[10:20]
    with org_scope(org_a.pk):
        from connections.models import SourceStore

        stores = {s.external_id: s for s in SourceStore.objects.filter(connection=connection)}
        for record in early:
            order_upsert_from_file(
                connection=connection, orders=[_file_order(record)],
                default_store=stores[record.store_id],
            )  # fmt: skip

    run = run_sync(org_a, connection)

    assert run.status == SyncStatus.SUCCEEDED
    assert run.orders_created == 0 and not api_requests(ss_app, "/orders")
    assert run.costs_created == len(account.shipments.records)

    def label_total(record):
        return sum((s.shipment_cost + s.insurance_cost for s in labelled[record.order_id]),
                   Decimal(0))  # fmt: skip

    with org_scope(org_a.pk):
        for record in early:
            order = Order.objects.get(external_id=f"shop-{record.order_id}")
            assert order.label_cost_total == label_total(record)
            assert order.label_status == LabelStatus.HAS_LABEL
        unmatched_before = ShippingCost.objects.filter(order__isnull=True).count()

        # Orders uploaded after their labels were imported pick them up.
        result = order_upsert_from_file(
            connection=connection, orders=[_file_order(r) for r in late],
            default_store=stores[late[0].store_id],
        )  # fmt: skip
        same_store = [r for r in late if r.store_id == late[0].store_id]
        assert result.created == len(late)
        # Every label of those orders: voided and return labels belong to their order too.
        assert result.costs_matched == sum(
            1 for s in account.shipments.records.values()
            if s.order_id in {r.order_id for r in same_store}
        )  # fmt: skip
        for record in same_store:
            order = Order.objects.get(external_id=f"shop-{record.order_id}")
            assert order.label_cost_total == label_total(record)
        for record in late:
            if record.store_id != late[0].store_id:
                # Said to be another store than the labels': never guessed.
                order = Order.objects.get(external_id=f"shop-{record.order_id}")
                assert order.label_cost_total == 0
        assert ShippingCost.objects.filter(order__isnull=True).count() == (
            unmatched_before - result.costs_matched
        )


def test_order_file_upsert_is_idempotent_and_reports_unreadable_rows(ss_app, org_a):
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=27, orders=5, days=30)
    from sales.services import order_upsert_from_file

    records = list(account.orders.records.values())
    rows = [_file_order(r) for r in records] + [_file_order(records[0], external_id="x",
                                                            number="")]  # fmt: skip
    org_a.plan = "pro"
    org_a.save()
    connection = make_connection(org_a, mode=ConnectionMode.SHIPPING_EXPENSE)
    rows = [replace(r, store_name="My Shop") for r in rows]
    first = order_upsert_from_file(connection=connection, orders=rows)
    again = order_upsert_from_file(connection=connection, orders=rows)

    assert (first.created, first.updated) == (5, 0)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert first.problems == [("x", "order number is missing")]
    with org_scope(org_a.pk):
        assert (
            Order.objects.filter(
                source="order_file", store_name="My Shop", connection=connection
            ).count()
            == 5
        )
        assert not ImportIssue.objects.exists()
