"""An import interrupted or failing: slices, one worker per run, transient and persistent
faults, expired keys mid-run, 429s waited out."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from django.core import mail
from django.db import connection as db_connection

from connections.models import ConnectionStatus, StoreConnection
from sales.models import ShippingCost, SyncKind, SyncRun, SyncStatus
from sales.services import sync_request, sync_run_execute
from tests.notifications.delivery import deliver_notification_emails
from tests.sales.support import (
    SS_KEY,
    SS_SECRET,
    api_requests,
    expected_costs,
    expected_orders,
    imported_costs,
    imported_orders,
    make_connection,
    run_sync,
)
from unify.core.models import AuditEvent
from unify.tenancy.scoping import org_scope

pytestmark = [pytest.mark.django_db, pytest.mark.shipstation_rate_limit(None)]


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
