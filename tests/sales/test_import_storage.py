"""How the import writes: pages fetched ahead within a depth, process settings left alone,
organization deletion, order ids drawn in batches, table statistics, COPY as text, stored
source records, the order-line index."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from sales.models import Order, OrderLine, ShippingCost, SyncStatus
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


def test_pages_are_fetched_ahead_but_never_more_than_the_set_depth(
    ss_app, shipstation, org_a, settings, monkeypatch
):
    """While a page is written, the next ones are fetched (following the listing's keyset
    cursor on their own), at most SALES_SYNC_PREFETCH_PAGES ahead: memory stays bounded and
    the end state is the same."""
    from sales.services import upsert

    settings.SALES_SYNC_PAGE_SIZE = 10
    settings.SALES_SYNC_PREFETCH_PAGES = 2
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=21, orders=90, days=30)
    connection = make_connection(org_a)
    ahead: list[int] = []

    def counting(write):
        def wrapper(**kwargs):
            listed = [r for r in shipstation.requests_log(SS_KEY)
                      if r.path in ("/orders", "/shipments")]  # fmt: skip
            ahead.append(len(listed) - (len(ahead) + 1))  # beyond the page being written
            return write(**kwargs)

        return wrapper

    monkeypatch.setattr(upsert, "order_upsert_page", counting(upsert.order_upsert_page))
    monkeypatch.setattr(
        upsert, "shipping_cost_upsert_page", counting(upsert.shipping_cost_upsert_page)
    )
    run = run_sync(org_a, connection)

    assert run.status == SyncStatus.SUCCEEDED, run.error_detail
    assert len(ahead) == run.pages_done > 10
    assert max(ahead) <= 2
    assert min(ahead) >= 0
    assert imported_orders(org_a) == expected_orders(account)
    assert imported_costs(org_a) == expected_costs(account)


def test_a_run_leaves_the_process_wide_interpreter_settings_alone(ss_app, org_a, monkeypatch):
    """The garbage collector and thread switch interval are the worker process's (tuned once
    at its start, unify/core/worker_tuning.py), never changed around one run: overlapping
    runs in a threaded worker would leave the process tuned or not by chance."""
    import gc

    from sales.services import upsert

    ss_app.add_account(SS_KEY, SS_SECRET, seed=22, orders=15, days=30)
    connection = make_connection(org_a)
    before = (gc.get_threshold(), gc.get_freeze_count(), sys.getswitchinterval())
    seen = []
    write = upsert.order_upsert_page

    def watching(**kwargs):
        seen.append((gc.get_threshold(), gc.get_freeze_count(), sys.getswitchinterval()))
        return write(**kwargs)

    monkeypatch.setattr(upsert, "order_upsert_page", watching)
    run = run_sync(org_a, connection)

    assert run.status == SyncStatus.SUCCEEDED
    assert seen and set(seen) == {before}
    assert (gc.get_threshold(), gc.get_freeze_count(), sys.getswitchinterval()) == before


def test_deleting_an_organization_deletes_its_lines_and_labels_without_a_constraint(
    ss_app, org_a, org_b
):
    """Lines and labels carry their parent's organization without a database constraint;
    deleting an organization still takes all of its rows, and none of another's."""
    from unify.tenancy.models import Organization

    ss_app.add_account(SS_KEY, SS_SECRET, seed=23, orders=20, days=30)
    ss_app.add_account("key-of-b", "secret-of-b", seed=24, orders=10, days=30)
    run_sync(org_a, make_connection(org_a))
    run_sync(org_b, make_connection(org_b, key="key-of-b", secret="secret-of-b"))

    def counts(org_id):
        with org_scope(org_id):
            return (Order.objects.count(), OrderLine.objects.count(),
                    ShippingCost.objects.count())  # fmt: skip

    a_before, b_before = counts(org_a.pk), counts(org_b.pk)
    assert all(a_before) and all(b_before)
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text FROM pg_constraint WHERE contype = 'f' "
            "AND confrelid = 'tenancy_organization'::regclass "
            "AND conrelid IN ('sales_orderline'::regclass, 'sales_shippingcost'::regclass)"
        )
        assert cursor.fetchall() == []

    Organization.objects.filter(pk=org_a.pk).delete()

    assert counts(org_a.pk) == (0, 0, 0)
    assert counts(org_b.pk) == b_before


def test_a_run_draws_new_order_ids_thousands_at_a_time(ss_app, org_a, settings):
    """New orders' ids come from the sequence once for many pages (not once per page); ids
    stay unique, and what the run leaves unused is only a gap in the sequence."""
    from django.test.utils import CaptureQueriesContext

    from sales.services import bulk

    settings.SALES_SYNC_PAGE_SIZE = 10
    ss_app.add_account(SS_KEY, SS_SECRET, seed=25, orders=45, days=30)
    connection = make_connection(org_a)
    with CaptureQueriesContext(db_connection) as queries:
        run = run_sync(org_a, connection)

    assert run.status == SyncStatus.SUCCEEDED
    assert run.orders_created == 45
    draws = [q for q in queries.captured_queries if "nextval" in q["sql"]]
    assert len(draws) == 1
    ids = sorted(orders_by_ref(org_a)[ref].pk for ref in orders_by_ref(org_a))
    assert len(set(ids)) == 45
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT last_value FROM sales_order_id_seq")
        assert cursor.fetchone()[0] >= ids[-1] + bulk.ID_RESERVE_BATCH - 45
    # Outside a run, ids are drawn as needed.
    assert bulk._reserve.get() is None


def _import_with_statistics_every_20_rows(ss_app, org, settings, monkeypatch):
    """A first import of 160 orders (and their labels) in pages of ten, statistics due after
    20 new rows: the run and the queries it made."""
    from django.test.utils import CaptureQueriesContext

    from sales.services import sync

    settings.SALES_SYNC_PAGE_SIZE = 10
    monkeypatch.setattr(sync, "ANALYZE_EVERY_ROWS", 20)
    ss_app.add_account(SS_KEY, SS_SECRET, seed=26, orders=160, days=30)
    connection = make_connection(org)
    with CaptureQueriesContext(db_connection) as queries:
        run = run_sync(org, connection)
    return run, queries.captured_queries


def test_statistics_are_refreshed_as_the_tables_grow_not_every_few_pages(
    ss_app, org_a, settings, monkeypatch
):
    """ANALYZE after the first N new rows, then after 2N, 4N, ... more, and when a listing
    that wrote enough ends: a handful for a large first import, not one every N rows."""
    run, queries = _import_with_statistics_every_20_rows(ss_app, org_a, settings, monkeypatch)

    assert run.status == SyncStatus.SUCCEEDED
    written = run.orders_created + run.costs_created
    assert written > 250
    analyzes = [q for q in queries if q["sql"].startswith("ANALYZE")]
    # Every 20 rows would be more than a dozen; doubling gives 20, 60, 140, 300 (+ the ends
    # of the two label listings and of the orders).
    assert 3 <= len(analyzes) <= 7


def test_the_orders_table_gets_its_first_statistics_early_even_after_many_labels(
    ss_app, org_a, settings, monkeypatch
):
    """Labels are listed first. Their rows must not put off the orders table's own schedule:
    its statistics are refreshed within its first N new rows, or every order page's look-up
    by source id would be planned for an empty connection (a scan that grows page by page)."""
    run, queries = _import_with_statistics_every_20_rows(ss_app, org_a, settings, monkeypatch)

    assert run.status == SyncStatus.SUCCEEDED
    assert run.costs_created > 40  # the labels alone pass the threshold twice
    order_pages = 0
    first_refresh_after = None
    for query in queries:
        sql = query["sql"]
        if sql.startswith("SELECT external_id, id, raw_hash") and "FROM sales_order" in sql:
            order_pages += 1
        elif sql.startswith("ANALYZE sales_order") and order_pages and first_refresh_after is None:
            first_refresh_after = order_pages
    # 20 new orders are two pages of ten (three, as keyset paging reads a page's last second
    # again); the refresh follows the page that crosses them. Counted with the labels, it
    # would come after 80 orders.
    assert first_refresh_after is not None
    assert first_refresh_after <= 3
    # Each table is analyzed on its own: no ANALYZE names both.
    analyzes = [q["sql"] for q in queries if q["sql"].startswith("ANALYZE")]
    assert all(("sales_order " in a) != ("sales_shippingcost" in a) for a in analyzes)


def test_dates_copied_as_text_keep_their_moment_in_any_session_time_zone(ss_app, org_a):
    """Dates and timestamps go to COPY as text with their offset (the records' own, and the
    written/synced stamps a page shares): read back, each is the moment ShipStation meant,
    even when the database session is not in UTC."""
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=27, orders=15, days=30)
    connection = make_connection(org_a)
    before = timezone.now()
    with db_connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'Asia/Kolkata'")
    try:
        run = run_sync(org_a, connection)
    finally:
        with db_connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
    after = timezone.now()

    assert run.orders_created == 15 and run.costs_created > 0
    with org_scope(org_a.pk):
        orders = list(Order.objects.filter(organization=org_a))
        costs = list(ShippingCost.objects.filter(organization=org_a))
        lines = list(OrderLine.objects.filter(organization=org_a))
    assert lines
    for row in [*orders, *costs, *lines]:
        assert before <= row.created_at <= after
        assert row.updated_at == row.created_at
    for row in [*orders, *costs]:
        assert before <= row.last_synced_at <= after

    def same_moment(stored, sent):
        # ShipStation's wire format keeps milliseconds at most.
        if sent is None:
            return stored is None
        return abs(stored - sent) < timedelta(milliseconds=1)

    sent_orders = {str(o.order_id): o for o in account.orders.records.values()}
    for order in orders:
        sent = sent_orders[order.external_id]
        for field in ("order_date", "create_date", "modify_date", "payment_date"):
            assert same_moment(getattr(order, field), getattr(sent, field)), field
        assert order.ship_date == sent.ship_date
    sent_labels = {str(s.shipment_id): s for s in account.shipments.records.values()}
    for cost in costs:
        sent = sent_labels[cost.external_id]
        assert same_moment(cost.create_date, sent.create_date)
        assert same_moment(cost.void_date, sent.void_date)
        assert cost.ship_date == sent.ship_date
    assert any(c.void_date for c in costs)  # the account has voided labels


def test_source_records_are_kept_as_their_json_text(ss_app, org_a):
    """The records as ShipStation sent them, stored as JSON text (not parsed into jsonb) and
    read back as the parsed record."""
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=4, orders=12, days=30)
    connection = make_connection(org_a)
    run_sync(org_a, connection)

    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, data_type FROM information_schema.columns "
            "WHERE column_name = 'raw' AND table_name IN ('sales_order', 'sales_shippingcost')"
        )
        assert dict(cursor.fetchall()) == {"sales_order": "text", "sales_shippingcost": "text"}
        cursor.execute("SELECT external_id, raw FROM sales_order WHERE organization_id = %s",
                       [org_a.pk])  # fmt: skip
        stored = dict(cursor.fetchall())
        cursor.execute(
            "SELECT external_id, raw FROM sales_shippingcost WHERE organization_id = %s",
            [org_a.pk],
        )
        stored_costs = dict(cursor.fetchall())
    assert len(stored) == len(account.orders.records) == 12
    assert stored_costs
    for external_id, text in [*stored.items(), *stored_costs.items()]:
        record = json.loads(text)
        assert str(record.get("orderId") if external_id in stored else record["shipmentId"]) == (
            external_id
        )
    for external_id, order in orders_by_ref(org_a).items():
        assert order.raw == json.loads(stored[external_id])
        assert order.raw["orderNumber"] == order.number


def test_address_text_is_the_same_by_either_encoder():
    """Addresses are written with orjson; their text is part of the content hash, so it must
    be exactly the standard library's, including where orjson gives up (a lone surrogate,
    an integer over 64 bits): there the standard library writes it."""
    from sales.services.records import _dump, _dump_fast

    for value in (
        {"name": 'Zoë \u2028 😀 \x01 \\ "q" /', "n": Decimal("1.10"), "r": True, "x": None},
        {"name": "lone \ud800", "big": 2**70},
        {"street": "", "nested": [Decimal("-0.00"), 1, "\t"]},
    ):
        assert _dump_fast(value) == _dump(value)


def test_a_line_position_is_unique_per_order_and_lines_are_found_by_their_order(org_a):
    """One unique index on (order, position) keeps positions unique and serves every look-up
    of an order's lines (no separate index on the order, none on the organization)."""
    from django.db import IntegrityError, transaction

    from tests.factories import OrderFactory, OrderLineFactory

    first, second = OrderFactory(organization=org_a), OrderFactory(organization=org_a)
    OrderLineFactory(order=first, position=1)
    OrderLineFactory(order=second, position=1)  # the same position on another order
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLineFactory(order=first, position=1)

    with db_connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT * FROM sales_orderline WHERE order_id = ANY(%s) "
            "ORDER BY order_id, position",
            [[first.pk, second.pk]],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "order_line_unique_position" in plan
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'sales_orderline' "
            "AND indexdef LIKE '%%USING btree (order_id)'"
        )
        assert cursor.fetchall() == []
