"""Beat's fan-out, the per-connection lock (one open run, leases) and connection hooks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from connections.models import ConnectionStatus, StoreConnection
from sales.models import SyncKind, SyncRun, SyncStatus
from sales.services import (
    connection_on_connected,
    connection_on_disconnecting,
    connection_on_settings_changed,
    sync_due_connections,
    sync_request,
    sync_run_execute,
)
from tests.sales.support import SS_KEY, SS_SECRET, make_connection
from unify.tenancy.scoping import org_scope

pytestmark = [pytest.mark.django_db, pytest.mark.shipstation_rate_limit(None)]


def test_fan_out_queues_due_connections_only(org_a, org_b, django_capture_on_commit_callbacks):
    now = timezone.now()
    due = make_connection(org_a, name="due", key="k1", next_sync_at=now - timedelta(minutes=1))
    never = make_connection(org_b, name="never synced", key="k2")
    make_connection(org_a, name="later", key="k3", next_sync_at=now + timedelta(hours=1))
    make_connection(org_a, name="keys", key="k4", status=ConnectionStatus.NEEDS_CREDENTIALS)
    make_connection(org_a, name="off", key="k5", auto_sync_enabled=False)
    make_connection(org_a, name="gone", key="k6", status=ConnectionStatus.DISABLED)

    with django_capture_on_commit_callbacks() as queued:
        run_ids = sync_due_connections(now=now)

    runs = SyncRun.all_orgs.filter(pk__in=run_ids)
    assert sorted(r.connection_id for r in runs) == sorted([due.pk, never.pk])
    assert {r.organization_id for r in runs} == {org_a.pk, org_b.pk}
    assert len(queued) == 2  # one task each, sent when the transaction commits
    assert all(r.kind == SyncKind.INITIAL for r in runs)
    # A second beat a minute later finds their runs open and queues nothing new.
    assert sync_due_connections(now=now + timedelta(seconds=60)) == []


def test_the_interval_is_never_below_what_the_plan_allows(ss_app, org_a):
    ss_app.add_account(SS_KEY, SS_SECRET, seed=41, orders=3)
    connection = make_connection(org_a, sync_interval_minutes=15)  # starter: daily at most
    with org_scope(org_a.pk):
        run = sync_request(organization=org_a, connection=connection)
        run = sync_run_execute(run_id=run.pk).run
    connection.refresh_from_db()
    assert connection.next_sync_at == run.finished_at + timedelta(minutes=24 * 60)

    org_a.plan = "advanced"
    org_a.save()
    with org_scope(org_a.pk):
        run = sync_request(organization=org_a, connection=connection)
        run = sync_run_execute(run_id=run.pk).run
    connection.refresh_from_db()
    assert run.kind == SyncKind.MANUAL
    assert connection.next_sync_at == run.finished_at + timedelta(minutes=15)


def test_a_run_whose_worker_died_is_queued_again_once(org_a, settings):
    settings.SALES_SYNC_LEASE_SECONDS = 30
    connection = make_connection(org_a, next_sync_at=timezone.now() + timedelta(hours=1))
    now = timezone.now()
    with org_scope(org_a.pk):
        run = SyncRun.objects.create(
            organization=org_a, connection=connection, kind=SyncKind.MANUAL,
            status=SyncStatus.RUNNING, window_start=now, window_end=now,
            lease_token="dead-worker", lease_until=now - timedelta(seconds=1),
        )  # fmt: skip

    assert sync_due_connections(now=now) == [run.pk]
    run.refresh_from_db()
    assert run.lease_until is None and run.status == SyncStatus.RUNNING
    # Queued again just now: the next beats leave it alone until it looks abandoned again.
    assert sync_due_connections(now=now + timedelta(seconds=10)) == []
    assert sync_due_connections(now=now + timedelta(seconds=31)) == [run.pk]


def test_a_live_lease_keeps_other_workers_out(org_a):
    connection = make_connection(org_a)
    now = timezone.now()
    with org_scope(org_a.pk):
        run = SyncRun.objects.create(
            organization=org_a, connection=connection, kind=SyncKind.MANUAL,
            status=SyncStatus.RUNNING, window_start=now, window_end=now,
            lease_token="busy-worker", lease_until=now + timedelta(minutes=5), pages_done=7,
        )  # fmt: skip
        result = sync_run_execute(run_id=run.pk)
        assert sync_request(organization=org_a, connection=connection).pk == run.pk
    run.refresh_from_db()
    assert result.continue_later is False
    assert (run.lease_token, run.pages_done, run.attempts) == ("busy-worker", 7, 0)
    assert sync_due_connections(now=now) == []


def test_connecting_starts_the_first_import(org_a, django_capture_on_commit_callbacks):
    connection = make_connection(org_a)
    with org_scope(org_a.pk), django_capture_on_commit_callbacks() as callbacks:
        connection_on_connected(connection=connection, actor=None)
    run = SyncRun.all_orgs.get(connection=connection)
    assert run.kind == SyncKind.INITIAL and run.status == SyncStatus.QUEUED
    assert len(callbacks) == 2  # the import task and the webhook subscription task


def test_disconnecting_stops_the_open_run(org_a):
    connection = make_connection(org_a)
    with org_scope(org_a.pk):
        run = sync_request(organization=org_a, connection=connection)
        connection_on_disconnecting(connection=connection, actor=None)
    run.refresh_from_db()
    assert run.status == SyncStatus.FAILED
    assert "disconnected" in run.error


def test_changing_what_to_import_rescans_from_the_start_date(org_a):
    now = timezone.now()
    connection = make_connection(org_a, orders_watermark=now, shipments_watermark=now)
    with org_scope(org_a.pk):
        connection_on_settings_changed(connection=connection, changed=["sync_interval_minutes"])
        assert not SyncRun.objects.exists()
        connection_on_settings_changed(connection=connection, changed=["order_statuses"])
        run = SyncRun.objects.get()
    assert run.kind == SyncKind.INITIAL
    fresh = StoreConnection.all_orgs.get(pk=connection.pk)
    assert fresh.orders_watermark is None and fresh.shipments_watermark is None
