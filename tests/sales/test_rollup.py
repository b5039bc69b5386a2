"""The running totals kept by PostgreSQL (sales/rollup.py) always equal adding up the orders,
whatever wrote them: ORM creates, bulk inserts, the import's INSERT .. ON CONFLICT upserts,
UPDATEs, deletes, a store deleted under its orders; before and after compaction."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, Q, Sum

from connections.models import SourceStore
from sales import rollup
from sales.models import Order
from tests.sales.factories import (
    bulk_orders,
    make_connection,
    make_order,
    make_store,
    order_values,
)

pytestmark = pytest.mark.django_db

FILTERS = [
    rollup.RollupFilter(),
    rollup.RollupFilter(status="shipped"),
    rollup.RollupFilter(label="has"),
    rollup.RollupFilter(label="missing", difference=True),
]


def direct(org_id: int, where: rollup.RollupFilter, store_ids: dict) -> dict:
    q = Q(organization_id=org_id)
    if where.store_id is not None:
        q &= Q(source_store_id=where.store_id)
    if where.connection_id is not None:
        q &= Q(connection_id=where.connection_id)
    if where.status:
        q &= Q(status=where.status)
    if where.label == "has":
        q &= Q(label_status="has_label")
    elif where.label == "missing":
        q &= ~Q(label_status="has_label")
    if where.difference:
        q &= ~Q(reconciliation_difference=0)
    rows = (
        Order.all_orgs.filter(q)
        .order_by()
        .values("posting_status", "currency")
        .annotate(n=Count("id"), total=Sum("order_total"), shipping=Sum("shipping_charged"),
                  labels=Sum("label_cost_total"), returns=Sum("return_label_cost_total"))
    )  # fmt: skip
    return {
        (r["posting_status"], r["currency"]): (
            r["n"], r["total"], r["shipping"], r["labels"] + r["returns"],
        )
        for r in rows
    }  # fmt: skip


def rolled(org_id: int, where: rollup.RollupFilter) -> dict:
    return {
        (r["posting_status"], r["currency"]): (r["n"], r["total"], r["shipping"], r["labels"])
        for r in rollup.summary_rows(organization_id=org_id, where=where)
    }


def assert_consistent(orgs, stores):
    for org in orgs:
        wheres = [*FILTERS, *(rollup.RollupFilter(store_id=s.pk) for s in stores[org.pk])]
        for where in wheres:
            assert rolled(org.pk, where) == direct(org.pk, where, stores), (org.slug, where)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_running_totals_equal_the_orders_after_every_kind_of_write(org_a, org_b):
    from sales.services.records import ORDER_IMPORT_FIELDS

    rng = random.Random(20250310)
    orgs = [org_a, org_b]
    stores = {}
    for org in orgs:
        connection_row = make_connection(org)
        stores[org.pk] = [make_store(connection_row, f"S{i}") for i in range(3)]
    statuses = ["shipped", "awaiting_shipment", "cancelled"]
    postings = ["not_posted", "posted", "failed", "ignored"]

    def random_values(org):
        return {
            "source_store": rng.choice([*stores[org.pk], None]),
            "status": rng.choice(statuses),
            "posting_status": rng.choice(postings),
            "currency": rng.choice(["USD", "USD", "CAD"]),
            "order_total": Decimal(rng.randint(100, 99999)) / 100,
            "shipping_charged": Decimal(rng.randint(0, 2000)) / 100,
            "label_cost_total": Decimal(rng.randint(0, 1500)) / 100,
            "return_label_cost_total": Decimal(rng.choice([0, 0, 350])) / 100,
            "label_status": rng.choice(["has_label", "no_label", "none"]),
            "reconciliation_difference": Decimal(rng.choice([0, 0, 0, -250, 1])) / 100,
        }

    for step in range(40):
        org = rng.choice(orgs)
        kind = rng.choice(["create", "bulk", "upsert", "update", "update_one", "delete", "store"])
        mine = Order.all_orgs.filter(organization=org)
        if kind == "create" or not mine.exists():
            make_order(org, **random_values(org))
        elif kind == "bulk":
            bulk_orders(org, rng.randint(1, 30), **random_values(org))
        elif kind == "upsert":
            # The import's own write: INSERT .. ON CONFLICT DO UPDATE, new and known rows.
            known = list(mine.filter(connection__isnull=False).order_by("?")[: rng.randint(1, 5)])
            rows = []
            for order in known:
                values = order_values(org, **random_values(org))
                values.update(external_id=order.external_id, connection=order.connection)
                rows.append(Order(**values))
            connection_row = stores[org.pk][0].connection
            for _ in range(rng.randint(0, 4)):
                rows.append(Order(**order_values(org, connection=connection_row,
                                                 **random_values(org))))  # fmt: skip
            Order.all_orgs.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["organization", "connection", "external_id"],
                update_fields=[f for f in ORDER_IMPORT_FIELDS if f != "source"],
            )
        elif kind == "update":
            ids = list(mine.order_by("?").values_list("pk", flat=True)[: rng.randint(1, 20)])
            Order.all_orgs.filter(pk__in=ids).update(
                posting_status=rng.choice(postings), last_synced_at=None
            )
        elif kind == "update_one":
            order = mine.order_by("?").first()
            order.order_total += Decimal("1.11")
            order.label_status = "has_label"
            order.save()
        elif kind == "delete":
            victims = list(mine.order_by("?").values_list("pk", flat=True)[:3])
            Order.all_orgs.filter(pk__in=victims).delete()
        elif kind == "store":
            # Deleting a store sets its orders' store to NULL (an UPDATE through Django).
            victim = stores[org.pk].pop(rng.randrange(len(stores[org.pk])))
            SourceStore.all_orgs.filter(pk=victim.pk).delete()
            stores[org.pk].append(make_store(victim.connection, f"S-new-{step}"))
        assert_consistent(orgs, stores)
        if step % 7 == 0:
            rollup.order_rollup_compact()
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM sales_order_rollup_delta")
                assert cursor.fetchone()[0] == 0
            assert_consistent(orgs, stores)
    rollup.order_rollup_rebuild(organization_id=org_a.pk)
    assert_consistent(orgs, stores)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_an_update_that_changes_nothing_counted_writes_no_delta(org_a):
    order = make_order(org_a)
    rollup.order_rollup_compact()
    Order.all_orgs.filter(pk=order.pk).update(customer_name="Someone else", last_synced_at=None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sales_order_rollup_delta")
        assert cursor.fetchone()[0] == 0


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_beat_task_folds_the_deltas(org_a):
    from sales.tasks_tab import order_rollup_compact_task

    bulk_orders(org_a, 12)
    before = rolled(org_a.pk, rollup.RollupFilter())
    order_rollup_compact_task.apply()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sales_order_rollup_delta")
        assert cursor.fetchone()[0] == 0
    assert rolled(org_a.pk, rollup.RollupFilter()) == before
    assert before[("not_posted", "USD")][0] == 12


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_truncating_the_orders_empties_the_totals(org_a):
    bulk_orders(org_a, 5)
    rollup.order_rollup_compact()
    bulk_orders(org_a, 2)
    with connection.cursor() as cursor:
        # Inside the test's transaction the deferred foreign-key checks must run first.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE sales_order CASCADE")
    assert rolled(org_a.pk, rollup.RollupFilter()) == {}


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.shipstation_rate_limit(None)
def test_totals_follow_the_real_import_and_its_updates(ss_app, org_a):
    from sales.services import sync_request, sync_run_execute
    from tests.sales.support import SS_KEY, SS_SECRET
    from tests.sales.support import make_connection as make_ss_connection
    from unify.tenancy.scoping import org_scope

    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=11, orders=80, days=20)
    connection_row = make_ss_connection(org_a)

    def sync():
        with org_scope(org_a.pk):
            run = sync_request(organization=org_a, connection=connection_row)
            while sync_run_execute(run_id=run.pk).continue_later:
                pass

    sync()
    stores = {org_a.pk: list(SourceStore.all_orgs.filter(organization=org_a))}
    assert Order.all_orgs.filter(organization=org_a).count() > 0
    assert_consistent([org_a], stores)
    shipped = [o for o in account.orders.records.values() if o.status == "shipped"][:3]
    for order in shipped:
        ss_app.edit_order(SS_KEY, order.order_id, amountPaid="1.00", orderStatus="cancelled")
    ss_app.add_order(SS_KEY, status="shipped")
    sync()
    assert_consistent([org_a], stores)
