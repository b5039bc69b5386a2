"""A flood of ShipStation webhooks for one connection, with a real worker running the syncs:
they coalesce into at most two syncs per debounce window (one at once, one follow-up at the
window's end), so the merchant's 40 requests a minute are not spent on repeats."""

from __future__ import annotations

import json
import time

import pytest
from django.urls import reverse

from sales.models import SyncKind, SyncRun, SyncStatus
from tests.reliability.conftest import wait_for
from tests.reliability.test_import_runs import finished, request_sync
from tests.sales.support import SS_KEY, SS_SECRET, make_connection

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.shipstation_rate_limit(None),
]

DEBOUNCE = 10


def test_sixty_webhooks_in_six_seconds_make_two_syncs(
    client, start_worker, shipstation, org_a, sync_env
):
    sync_env.set(SALES_WEBHOOK_DEBOUNCE_SECONDS=DEBOUNCE, SALES_WEBHOOK_RATE_LIMIT_PER_MINUTE=1000)
    shipstation.add_account(SS_KEY, SS_SECRET, seed=107, orders=40, days=30)
    connection = make_connection(org_a)
    worker = start_worker()
    assert finished(request_sync(org_a, connection)).status == SyncStatus.SUCCEEDED
    # What one incremental sync costs on ShipStation's budget.
    before = len(shipstation.requests_log(SS_KEY))
    one = finished(request_sync(org_a, connection, kind=SyncKind.INCREMENTAL))
    assert one.status == SyncStatus.SUCCEEDED
    per_sync = len(shipstation.requests_log(SS_KEY)) - before
    assert per_sync == 4  # labels created, labels voided, orders, fulfillments: one page each

    url = reverse("sales_webhooks:shipstation", kwargs={"token": connection.webhook_token})
    body = json.dumps(
        {
            "resource_url": f"{shipstation.base_url}/orders?importBatch=x",
            "resource_type": "ORDER_NOTIFY",
        }
    )
    before = len(shipstation.requests_log(SS_KEY))
    statuses = []
    started = time.monotonic()
    for _ in range(60):
        statuses.append(client.post(url, data=body, content_type="application/json").status_code)
        time.sleep(0.1)
    flood_seconds = time.monotonic() - started
    assert flood_seconds < DEBOUNCE
    assert statuses == [202] * 60

    # The follow-up starts at the end of the window and finishes.
    def two_finished():
        runs = list(SyncRun.all_orgs.filter(kind=SyncKind.WEBHOOK).order_by("pk"))
        return runs if len(runs) >= 2 and all(r.finished_at for r in runs) else None

    runs = wait_for(two_finished, timeout=DEBOUNCE + 60, what="the follow-up sync")
    # Nothing else comes after it.
    time.sleep(DEBOUNCE + 2)
    runs = list(SyncRun.all_orgs.filter(kind=SyncKind.WEBHOOK).order_by("pk"))
    assert [r.status for r in runs] == [SyncStatus.SUCCEEDED] * 2, worker.output()[-3000:]
    # The follow-up started when the window closed, after the last notification.
    assert (runs[1].created_at - runs[0].created_at).total_seconds() >= DEBOUNCE - 1
    assert len(shipstation.requests_log(SS_KEY)) - before == 2 * per_sync
