"""Rows written by someone else between the import's look-up and its write are merged,
not doubled (orders, a page's new orders, labels)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sales.models import Order, ShippingCost, SyncStatus
from tests.sales.support import (
    SS_KEY,
    SS_SECRET,
    expected_orders,
    imported_orders,
    make_connection,
    orders_by_ref,
    run_sync,
)
from unify.tenancy.scoping import org_scope

pytestmark = [pytest.mark.django_db, pytest.mark.shipstation_rate_limit(None)]


def test_an_order_taken_for_new_but_written_meanwhile_is_merged_not_doubled(ss_app, org_a):
    """The page's look-up found nothing, then someone else wrote the order before our write
    (a re-import from the Sales tab): the fast insert of new orders meets the unique index,
    and the page is merged instead; one row per order, its id kept, the new values in."""
    from django.db import transaction

    from sales.services import bulk
    from sales.services.sync import default_adapter_factory
    from sales.services.upsert import OrderFilter, orders_map

    ss_app.add_account(SS_KEY, SS_SECRET, seed=5, orders=30, days=30)
    connection = make_connection(org_a)
    assert run_sync(org_a, connection).status == SyncStatus.SUCCEEDED
    before = {ref: order.pk for ref, order in orders_by_ref(org_a).items()}
    assert len(before) == 30

    adapter = default_adapter_factory(connection)
    page = next(
        iter(
            adapter.iter_order_pages(
                modified_since=timezone.now() - timedelta(days=40),
                modified_until=timezone.now(),
                page_size=500,
                start_page=1,
            )
        )
    )
    mapped = orders_map(
        organization_id=org_a.pk,
        connection_id=connection.pk,
        orders=page.items,
        order_filter=OrderFilter(),
        currency="USD",
        synced_at=timezone.now(),
    ).mapped
    items = list(mapped.values())
    for item in items:
        assert item.pk is None  # as if the look-up had found none of them
        item.values["customer_name"] = "Rewritten " + item.external_id
    with org_scope(org_a.pk), transaction.atomic():
        bulk.orders_write(items, conflict="organization_id, connection_id, external_id")

    assert {i.external_id: i.pk for i in items} == before
    after = orders_by_ref(org_a)
    assert {ref: o.pk for ref, o in after.items()} == before
    assert all(o.customer_name == "Rewritten " + ref for ref, o in after.items())


def test_a_page_whose_new_order_was_written_meanwhile_is_written_again_not_doubled(
    ss_app, org_a, settings, monkeypatch
):
    """The run copies new orders without a savepoint; when one of them was written by
    someone else between the page's look-up and its write, the page is rolled back and
    written again the careful way: every order once, the run unharmed."""
    import dataclasses

    from sales.services import bulk

    settings.SALES_SYNC_PAGE_SIZE = 10
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=27, orders=25, days=30)
    connection = make_connection(org_a)
    write = bulk.orders_write
    calls: list[list[str]] = []

    def racing(items, **kwargs):
        calls.append([i.external_id for i in items])
        if len(calls) == 1:
            # Someone else writes the first order just before us (same look-up missed it).
            meanwhile = dataclasses.replace(items[0], values=dict(items[0].values))
            write([meanwhile], **kwargs)
        return write(items, **kwargs)

    monkeypatch.setattr(bulk, "orders_write", racing)
    run = run_sync(org_a, connection)

    assert run.status == SyncStatus.SUCCEEDED, run.error_detail
    assert calls[0] == calls[1]  # the first page, written a second time
    assert imported_orders(org_a) == expected_orders(account)
    with org_scope(org_a.pk):
        assert Order.objects.count() == len(account.orders.records) == 25


def test_a_label_taken_for_new_but_written_meanwhile_is_merged_not_doubled(ss_app, org_a):
    """Like orders: labels the page's look-up did not find go in with a plain COPY; one
    written meanwhile meets the unique index and the page is merged instead (keeping the
    order each label was matched to)."""
    from django.db import transaction

    from sales.services import bulk
    from sales.services.sync import default_adapter_factory
    from sales.services.upsert import shipments_map

    ss_app.add_account(SS_KEY, SS_SECRET, seed=5, orders=30, days=30)
    connection = make_connection(org_a)
    assert run_sync(org_a, connection).status == SyncStatus.SUCCEEDED
    with org_scope(org_a.pk):
        before = {
            ref: (pk, order_id)
            for ref, pk, order_id in ShippingCost.objects.values_list(
                "external_id", "pk", "order_id"
            )
        }
    assert before and any(order_id for _pk, order_id in before.values())

    adapter = default_adapter_factory(connection)
    page = next(
        iter(
            adapter.iter_shipment_pages(
                created_since=timezone.now() - timedelta(days=40),
                created_until=timezone.now(),
                page_size=500,
                start_page=1,
            )
        )
    )
    items = list(
        shipments_map(
            organization_id=org_a.pk,
            connection_id=connection.pk,
            shipments=page.items,
            synced_at=timezone.now(),
        ).mapped.values()
    )
    assert items
    for item in items:
        item.values["carrier"] = "rewritten"
        item.values["order_id"] = None
    with org_scope(org_a.pk), transaction.atomic():
        bulk.shipping_costs_write(items, known=set())  # as if none had been found

    with org_scope(org_a.pk):
        after = {
            ref: (pk, order_id)
            for ref, pk, order_id in ShippingCost.objects.values_list(
                "external_id", "pk", "order_id"
            )
        }
        carriers = set(
            ShippingCost.objects.filter(external_id__in=[i.external_id for i in items]).values_list(
                "carrier", flat=True
            )
        )
    assert after == before  # same rows, same ids, still matched to their orders
    assert carriers == {"rewritten"}
