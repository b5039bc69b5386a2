"""The import, run in the test process against the ShipStation stand-in over HTTP."""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.core import mail
from django.db import connection as db_connection
from django.utils import timezone

from connections.models import ConnectionMode, ConnectionStatus, StoreConnection
from sales.models import (
    ImportIssue,
    LabelStatus,
    Order,
    OrderLine,
    PostingStatus,
    ShippingCost,
    SyncKind,
    SyncRun,
    SyncStatus,
)
from sales.services import sync_request, sync_run_execute
from tests.notifications.delivery import deliver_notification_emails
from tests.sales.support import (
    SS_KEY,
    SS_SECRET,
    expected_costs,
    expected_orders,
    imported_costs,
    imported_orders,
    make_connection,
    table_snapshot,
)
from unify.core.models import AuditEvent
from unify.tenancy.scoping import org_scope

pytestmark = [pytest.mark.django_db, pytest.mark.shipstation_rate_limit(None)]


def run_sync(org, connection, *, kind=SyncKind.MANUAL):
    with org_scope(org.pk):
        connection.refresh_from_db()
        run = sync_request(organization=org, connection=connection, kind=kind)
        result = sync_run_execute(run_id=run.pk)
        while result.continue_later:
            result = sync_run_execute(run_id=run.pk)
        run.refresh_from_db()
    return run


def orders_by_ref(org) -> dict[str, Order]:
    with org_scope(org.pk):
        return {o.external_id: o for o in Order.objects.all()}


def api_requests(shipstation, path: str) -> list:
    return [r for r in shipstation.requests_log(SS_KEY) if r.path == path]


# --- first import ---------------------------------------------------------------------------


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


# --- incremental syncs ----------------------------------------------------------------------


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

    from sales.services import sync_statistics

    settings.SALES_SYNC_PAGE_SIZE = 10
    monkeypatch.setattr(sync_statistics, "ANALYZE_EVERY_ROWS", 20)
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


# --- interruptions and failures -------------------------------------------------------------


def test_run_split_into_slices_ends_like_one_uninterrupted_run(ss_app, org_a, org_b, settings):
    settings.SALES_SYNC_PAGE_SIZE = 25
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=19, orders=100, days=30)
    connection = make_connection(org_a)
    with org_scope(org_a.pk):
        run = sync_request(organization=org_a, connection=connection)
        slices = 0
        while True:
            slices += 1
            result = sync_run_execute(run_id=run.pk, time_budget_seconds=0)
            if not result.continue_later:
                break
        run.refresh_from_db()
    assert slices == run.pages_done > 8
    assert run.status == SyncStatus.SUCCEEDED
    assert imported_orders(org_a) == expected_orders(account)
    assert imported_costs(org_a) == expected_costs(account)


@pytest.mark.django_db(transaction=True)
def test_a_run_is_worked_on_by_one_worker_at_a_time(ss_app, org_a):
    ss_app.add_account(SS_KEY, SS_SECRET, seed=20, orders=30, days=30)
    connection = make_connection(org_a)
    ss_app.inject_faults("slow", count=1, delay_seconds=1.5)
    with org_scope(org_a.pk):
        run = sync_request(organization=org_a, connection=connection)
    results = {}

    def first_worker():
        try:
            with org_scope(org_a.pk):
                results["first"] = sync_run_execute(run_id=run.pk)
        finally:
            db_connection.close()

    thread = threading.Thread(target=first_worker)
    thread.start()
    deadline = time.monotonic() + 30
    while not ss_app.requests_log(SS_KEY) and time.monotonic() < deadline:
        time.sleep(0.01)
    with org_scope(org_a.pk):
        second = sync_run_execute(run_id=run.pk)
    thread.join()

    assert second.continue_later is False
    assert results["first"].run.status == SyncStatus.SUCCEEDED
    with org_scope(org_a.pk):
        assert SyncRun.objects.get(pk=run.pk).attempts == 1
    assert len(api_requests(ss_app, "/orders")) == 1


def test_sync_request_returns_the_open_run_instead_of_a_second_one(ss_app, org_a):
    ss_app.add_account(SS_KEY, SS_SECRET, seed=21, orders=5, days=30)
    connection = make_connection(org_a)
    with org_scope(org_a.pk):
        first = sync_request(organization=org_a, connection=connection)
        again = sync_request(organization=org_a, connection=connection, kind=SyncKind.WEBHOOK)
        assert again.pk == first.pk
        assert SyncRun.objects.count() == 1


def test_transient_faults_are_retried_and_the_end_state_is_unchanged(ss_app, org_a, settings):
    settings.SALES_SYNC_PAGE_SIZE = 30
    settings.SHIPSTATION_TIMEOUT_READ = 0.5
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=22, orders=90, days=30)
    for kind, seed in (("500", 1), ("502", 2), ("malformed_json", 3), ("truncated_json", 4)):
        ss_app.inject_faults(kind, probability=0.1, seed=seed)
    ss_app.inject_faults("slow", probability=0.05, delay_seconds=1.0, seed=5)

    run = run_sync(org_a, make_connection(org_a))

    assert run.status == SyncStatus.SUCCEEDED, run.error_detail
    assert any(r.fault for r in ss_app.requests_log(SS_KEY))
    assert imported_orders(org_a) == expected_orders(account)
    assert imported_costs(org_a) == expected_costs(account)


def test_persistent_failure_ends_the_run_failed_and_the_next_run_continues(ss_app, org_a, settings):
    settings.SALES_SYNC_PAGE_SIZE = 20
    settings.SALES_SYNC_MAX_ATTEMPTS = 3
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=23, orders=60, days=30)
    connection = make_connection(org_a)
    with org_scope(org_a.pk):
        run = sync_request(organization=org_a, connection=connection)
        sync_run_execute(run_id=run.pk, time_budget_seconds=0)  # one page in
    ss_app.inject_faults("500", count=3)
    with org_scope(org_a.pk):
        failed = sync_run_execute(run_id=run.pk).run

    assert failed.status == SyncStatus.FAILED
    assert "ShipStation did not answer" in failed.error
    assert "HTTP 500" in failed.error_detail
    connection.refresh_from_db()
    assert connection.orders_watermark is None
    assert connection.next_sync_at is not None and connection.status == ConnectionStatus.ACTIVE
    requests_before = len(api_requests(ss_app, "/shipments"))

    resumed = run_sync(org_a, connection)

    assert resumed.resumed_from_id == failed.pk
    assert resumed.status == SyncStatus.SUCCEEDED
    assert resumed.window_start == failed.window_start
    # It carried on from the failed run's cursor (labels come first) rather than from the
    # first page of the listing.
    first_query = api_requests(ss_app, "/shipments")[requests_before].query
    assert first_query != api_requests(ss_app, "/shipments")[0].query
    assert "createDateStart" in first_query
    assert imported_orders(org_a) == expected_orders(account)
    assert imported_costs(org_a) == expected_costs(account)


def test_expired_keys_mid_run_flag_the_connection_and_tell_the_owners(
    ss_app, org_a, owner_of_a, member_of_a, settings, django_capture_on_commit_callbacks
):
    settings.SALES_SYNC_PAGE_SIZE = 20
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=24, orders=60, days=30)
    connection = make_connection(org_a)
    with org_scope(org_a.pk):
        run = sync_request(organization=org_a, connection=connection)
        sync_run_execute(run_id=run.pk, time_budget_seconds=0)  # the first page of labels
        kept = set(ShippingCost.objects.values_list("external_id", flat=True))
    assert len(kept) == 20
    ss_app.expire_account(SS_KEY)

    with org_scope(org_a.pk), django_capture_on_commit_callbacks(execute=True):
        failed = sync_run_execute(run_id=run.pk).run

    assert failed.status == SyncStatus.FAILED
    assert "rejected the API keys" in failed.error
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_CREDENTIALS
    assert connection.next_sync_at is None
    assert "API Key" in connection.status_message
    # The "keys expired" notification: one email to each member who keeps "immediate" (the
    # owner and the member here), none twice.
    deliver_notification_emails()
    assert sorted(m.to for m in mail.outbox) == sorted(
        [[owner_of_a.user.email], [member_of_a.user.email]]
    )
    assert all(connection.name in m.subject for m in mail.outbox)
    assert AuditEvent.objects.filter(
        organization=org_a, action="connection.needs_credentials"
    ).exists()
    with org_scope(org_a.pk):
        assert set(ShippingCost.objects.values_list("external_id", flat=True)) == kept
        # No schedule while the keys are bad.
        from sales.services import sync_due_connections

    assert sync_due_connections() == []

    # New keys (same account): the next sync continues and nothing is missing.
    ss_app.expire_account(SS_KEY, expired=False)
    StoreConnection.all_orgs.filter(pk=connection.pk).update(status=ConnectionStatus.ACTIVE)
    resumed = run_sync(org_a, connection)
    assert resumed.status == SyncStatus.SUCCEEDED
    assert imported_orders(org_a) == expected_orders(account)
    deliver_notification_emails()
    # No second "keys expired" email (the resumed run's first import has its own).
    assert len([m for m in mail.outbox if "new API keys" in m.subject]) == 2


@pytest.mark.shipstation_rate_limit(4, window_seconds=2.0)
def test_429_answers_are_waited_out_and_the_run_completes(ss_app, org_a, settings):
    settings.SHIPSTATION_RATE_LIMIT_PER_MINUTE = 4
    settings.SHIPSTATION_RATE_LIMIT_WINDOW_SECONDS = 2.0
    settings.SALES_SYNC_PAGE_SIZE = 10
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=25, orders=40, days=30)
    # Another app using the same keys has just spent the whole budget: our limiter cannot
    # know, so the first request meets a 429 and must wait for the window to reset.
    for _ in range(4):
        requests.get(f"{ss_app.base_url}/stores", auth=(SS_KEY, SS_SECRET), timeout=5)

    run = run_sync(org_a, make_connection(org_a))

    assert run.status == SyncStatus.SUCCEEDED, run.error_detail
    statuses = [r.status for r in ss_app.requests_log(SS_KEY) if r.path != "/stores"]
    assert statuses[0] == 429
    assert statuses.count(429) <= 2  # then the headers keep us inside the budget
    assert imported_orders(org_a) == expected_orders(account)


# --- shipping-expense mode ------------------------------------------------------------------


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


def test_a_line_position_is_unique_per_order_and_lines_are_found_by_their_order(org_a):
    """One unique index on (order, position) keeps positions unique and serves every look-up
    of an order's lines (no separate index on the order, none on the organization)."""
    from django.db import IntegrityError, transaction

    from tests.accounting.factories import OrderFactory, OrderLineFactory

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
