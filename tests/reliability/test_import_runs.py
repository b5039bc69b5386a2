"""The import under a real worker: a whole account, a SIGKILLed worker, a flaky provider,
two workers sharing one key pair, incremental syncs and webhooks, keys expiring mid-run."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import requests
from django.utils import timezone

from connections.models import ConnectionStatus, StoreConnection
from sales.models import Order, ShippingCost, SyncKind, SyncRun, SyncStatus
from sales.services import sync_due_connections, sync_request, sync_run_execute, webhooks_subscribe
from tests.reliability.conftest import LEASE_SECONDS, wait_for
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

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.shipstation_rate_limit(None),
]

FINISHED = (SyncStatus.SUCCEEDED, SyncStatus.PARTIAL, SyncStatus.FAILED)


def request_sync(org, connection, kind=SyncKind.MANUAL) -> SyncRun:
    with org_scope(org.pk):
        connection.refresh_from_db()
        return sync_request(organization=org, connection=connection, kind=kind)


def finished(run: SyncRun, timeout: float = 120.0) -> SyncRun:
    def done():
        fresh = SyncRun.all_orgs.get(pk=run.pk)
        return fresh if fresh.status in FINISHED else None

    return wait_for(done, timeout=timeout, what=f"sync run {run.pk} to finish")


def uninterrupted_reference(org, connection) -> dict:
    """The same account imported in this process in one go, for end-state comparisons."""
    with org_scope(org.pk):
        run = sync_request(organization=org, connection=connection)
        result = sync_run_execute(run_id=run.pk, time_budget_seconds=3600)
        assert result.run.status == SyncStatus.SUCCEEDED
    return table_snapshot(org)


def test_a_worker_imports_30_days_once_to_the_cent(start_worker, shipstation, org_a):
    account = shipstation.add_account(SS_KEY, SS_SECRET, seed=101, orders=600, days=30)
    connection = make_connection(org_a)
    worker = start_worker()

    run = finished(request_sync(org_a, connection))

    assert run.status == SyncStatus.SUCCEEDED, (run.error_detail, worker.output()[-3000:])
    assert run.kind == SyncKind.INITIAL
    assert imported_orders(org_a) == expected_orders(account)
    assert imported_costs(org_a) == expected_costs(account)
    assert run.orders_created == 600
    assert "sales.tasks.sync_run_task" in worker.output()


def test_a_sigkilled_worker_run_resumes_and_ends_as_an_uninterrupted_run(
    start_worker, shipstation, org_a, org_b, sync_env
):
    sync_env.set(SALES_SYNC_PAGE_SIZE=20)
    account = shipstation.add_account(SS_KEY, SS_SECRET, seed=102, orders=500, days=30)
    connection = make_connection(org_a)
    first = start_worker()
    run = request_sync(org_a, connection)

    wait_for(lambda: SyncRun.all_orgs.get(pk=run.pk).pages_done >= 8, what="8 pages")
    first.kill(signal.SIGKILL)
    first.wait(timeout=15)
    killed_at = SyncRun.all_orgs.get(pk=run.pk)
    assert killed_at.status == SyncStatus.RUNNING and killed_at.pages_done < 40

    second = start_worker()
    # The lease of the dead worker runs out; beat's fan-out queues the run again.
    wait_for(lambda: SyncRun.all_orgs.get(pk=run.pk).lease_until < timezone.now(),
             timeout=LEASE_SECONDS + 10, what="the lease to expire")  # fmt: skip
    assert run.pk in sync_due_connections()
    run = finished(run)

    assert run.status == SyncStatus.SUCCEEDED, (run.error_detail, second.output()[-3000:])
    assert run.attempts == 2
    assert run.pages_done >= killed_at.pages_done
    assert SyncRun.all_orgs.filter(connection=connection).count() == 1
    assert imported_orders(org_a) == expected_orders(account)
    assert imported_costs(org_a) == expected_costs(account)
    reference = uninterrupted_reference(org_b, make_connection(org_b))
    assert table_snapshot(org_a) == reference


def test_a_provider_failing_one_request_in_five_does_not_change_the_end_state(
    start_worker, shipstation, org_a, org_b, sync_env
):
    sync_env.set(SALES_SYNC_PAGE_SIZE=20)
    account = shipstation.add_account(SS_KEY, SS_SECRET, seed=103, orders=400, days=30)
    reference = uninterrupted_reference(org_b, make_connection(org_b))
    for seed, (kind, extra) in enumerate(
        [("500", {}), ("502", {}), ("malformed_json", {}), ("slow", {"delay_seconds": 1.5})]
    ):
        shipstation.inject_faults(kind, probability=0.065, seed=seed, **extra)
    connection = make_connection(org_a)
    worker = start_worker()

    run = finished(request_sync(org_a, connection))

    assert run.status == SyncStatus.SUCCEEDED, (run.error_detail, worker.output()[-3000:])
    log = shipstation.requests_log(SS_KEY)
    faults = [r.fault for r in log if r.fault]
    assert len(faults) >= len(log) // 8, (len(faults), len(log))
    assert len(set(faults)) >= 3, faults
    assert imported_orders(org_a) == expected_orders(account)
    assert imported_costs(org_a) == expected_costs(account)
    assert table_snapshot(org_a) == reference


def test_two_workers_on_two_connections_with_one_key_pair_share_its_limit(
    start_worker, shipstation, org_a, org_b, sync_env
):
    limit, window = 6, 2.0
    shipstation.set_rate_limit(limit, window)
    sync_env.set(
        SHIPSTATION_RATE_LIMIT_PER_MINUTE=limit,
        SHIPSTATION_RATE_LIMIT_WINDOW_SECONDS=window,
        SALES_SYNC_PAGE_SIZE=25,
    )
    account = shipstation.add_account(SS_KEY, SS_SECRET, seed=104, orders=150, days=30)
    first, second = start_worker(), start_worker()
    connections = [(org_a, make_connection(org_a)), (org_b, make_connection(org_b))]

    runs = [request_sync(org, connection) for org, connection in connections]
    runs = [finished(run, timeout=180) for run in runs]

    assert [r.status for r in runs] == [SyncStatus.SUCCEEDED] * 2
    # Both workers did part of the work, and the stand-in never saw more than the limit.
    assert "sync_run_task" in first.output() and "sync_run_task" in second.output()
    log = shipstation.requests_log(SS_KEY)
    assert len(log) >= 2 * 13
    assert shipstation.max_requests_in_window(SS_KEY, window) <= limit
    assert [r.status for r in log if r.status == 429] == []
    for org, _connection in connections:
        assert imported_orders(org) == expected_orders(account)


def test_incremental_syncs_and_webhooks_through_the_worker(
    start_worker, shipstation, org_a, live_server, settings
):
    account = shipstation.add_account(SS_KEY, SS_SECRET, seed=105, orders=120, days=30)
    connection = make_connection(org_a)
    worker = start_worker()
    assert finished(request_sync(org_a, connection)).status == SyncStatus.SUCCEEDED

    # An edited order and a newly voided label, picked up by the next (incremental) sync.
    edited = next(o for o in account.orders.records.values() if o.status == "shipped")
    shipstation.edit_order(SS_KEY, edited.order_id, amountPaid="2.50")
    label = next(s for s in account.shipments.records.values()
                 if not s.voided and not s.is_return_label
                 and s.order_id != edited.order_id)  # fmt: skip
    shipstation.void_label(SS_KEY, label.shipment_id)
    run = finished(request_sync(org_a, connection, kind=SyncKind.INCREMENTAL))
    assert run.status == SyncStatus.SUCCEEDED and run.kind == SyncKind.INCREMENTAL
    assert run.orders_updated >= 2 and run.costs_updated >= 1
    assert imported_orders(org_a) == expected_orders(account)
    assert imported_costs(org_a) == expected_costs(account)

    # Webhooks: ShipStation (the stand-in) posts to this server; the receiver queues a sync.
    settings.UNIFY_PUBLIC_BASE_URL = live_server.url
    with org_scope(org_a.pk):
        webhooks_subscribe(connection=connection)
    runs_before = SyncRun.all_orgs.count()
    new = shipstation.add_order(SS_KEY, status="awaiting_shipment")
    assert shipstation.flush_webhooks(timeout=10)
    hook_run = wait_for(
        lambda: SyncRun.all_orgs.filter(kind=SyncKind.WEBHOOK).first(), what="a webhook run"
    )
    assert finished(hook_run).status == SyncStatus.SUCCEEDED, worker.output()[-3000:]
    with org_scope(org_a.pk):
        assert Order.objects.filter(external_id=str(new["orderId"])).exists()
    assert SyncRun.all_orgs.count() == runs_before + 1

    # A forged notification pointing elsewhere: refused, nothing fetched, nothing queued.
    hits_before = len(shipstation.requests_log())
    token = StoreConnection.all_orgs.get(pk=connection.pk).webhook_token
    forged = requests.post(
        f"{live_server.url}/webhooks/shipstation/{token}/",
        json={
            "resource_url": "https://evil.example.net/orders?x=1",
            "resource_type": "ORDER_NOTIFY",
        },
        timeout=10,
    )
    assert forged.status_code == 400
    assert SyncRun.all_orgs.count() == runs_before + 1
    assert len(shipstation.requests_log()) == hits_before


def test_keys_expiring_mid_run_flag_the_connection_and_lose_nothing(
    start_worker, shipstation, org_a, owner_of_a, sync_env
):
    sync_env.set(SALES_SYNC_PAGE_SIZE=20)
    account = shipstation.add_account(SS_KEY, SS_SECRET, seed=106, orders=300, days=30)
    connection = make_connection(org_a)
    worker = start_worker()
    run = request_sync(org_a, connection)

    wait_for(lambda: SyncRun.all_orgs.get(pk=run.pk).pages_done >= 3, what="3 pages")
    shipstation.expire_account(SS_KEY)
    run = finished(run)

    assert run.status == SyncStatus.FAILED, worker.output()[-3000:]
    assert "rejected the API keys" in run.error
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_CREDENTIALS
    notice = AuditEvent.objects.get(organization=org_a, action="connection.needs_credentials")
    assert notice.target == f"connections.storeconnection:{connection.pk}"
    outbox = Path(sync_env["UNIFY_TEST_EMAIL_DIR"])
    mails = wait_for(lambda: list(outbox.glob("*.log")), timeout=20, what="the owners' email")
    assert len(mails) == 1, worker.output()[-3000:]
    text = mails[0].read_text()
    assert f"To: {owner_of_a.user.email}" in text
    assert "ShipStation needs new API keys" in text
    with org_scope(org_a.pk):
        kept = ShippingCost.objects.count()  # labels are read first
    assert kept >= 3 * 20 - 3  # the pages before the 401 stay (keyset pages overlap a little)
    assert sync_due_connections() == []  # no schedule while the keys are bad

    shipstation.expire_account(SS_KEY, expired=False)
    StoreConnection.all_orgs.filter(pk=connection.pk).update(status=ConnectionStatus.ACTIVE)
    resumed = finished(request_sync(org_a, connection))
    assert resumed.status == SyncStatus.SUCCEEDED
    assert resumed.resumed_from_id == run.pk
    assert imported_orders(org_a) == expected_orders(account)
    assert imported_costs(org_a) == expected_costs(account)
