"""The import's events, from real syncs against the ShipStation stand-in: the first
successful sync of a connection notifies once (a second sync does not), and a sync that fails
after its retries (ShipStation unreachable) notifies once per run."""

from __future__ import annotations

import pytest

from tests.sales.support import SS_KEY, SS_SECRET, make_connection
from unify.notifications.models import Kind, Notification
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db(transaction=True)


def run_sync(org, connection):
    from sales.services import sync_request, sync_run_execute

    with org_scope(org.pk):
        run = sync_request(organization=org, connection=connection)
        while sync_run_execute(run_id=run.pk).continue_later:
            pass
        run.refresh_from_db()
    return run


@pytest.fixture
def ss_app(shipstation, settings):
    settings.SHIPSTATION_API_BASE_URL = shipstation.base_url
    settings.SHIPSTATION_RATE_LIMIT_PER_MINUTE = 100_000
    settings.SALES_SYNC_BACKOFF_SECONDS = 0.01
    settings.SALES_SYNC_BACKOFF_MAX_SECONDS = 0.05
    from connections.sources.shipstation.client import api_key_fingerprint
    from connections.sources.shipstation.limits import shipstation_rate_limiter

    shipstation_rate_limiter().reset(f"shipstation:{api_key_fingerprint(SS_KEY)}")
    return shipstation


@pytest.mark.shipstation_rate_limit(None)
def test_first_import_notifies_once(org_a, owner_of_a, ss_app):
    ss_app.add_account(SS_KEY, SS_SECRET, seed=3, orders=5, days=3)
    connection = make_connection(org_a)
    first = run_sync(org_a, connection)
    assert first.status in ("succeeded", "partial")
    run_sync(org_a, connection)
    rows = Notification.all_orgs.filter(organization=org_a, event__kind=Kind.FIRST_IMPORT)
    assert [n.user_id for n in rows] == [owner_of_a.user_id]


def test_a_sync_failing_after_its_retries_notifies_once_per_run(org_a, owner_of_a, settings):
    settings.SHIPSTATION_API_BASE_URL = "http://127.0.0.1:9"  # nobody answers
    settings.SALES_SYNC_BACKOFF_SECONDS = 0.01
    settings.SALES_SYNC_BACKOFF_MAX_SECONDS = 0.05
    connection = make_connection(org_a)
    run = run_sync(org_a, connection)
    assert run.status == "failed"
    rows = Notification.all_orgs.filter(organization=org_a, event__kind=Kind.RUN_FAILED)
    assert rows.count() == 1
    assert rows[0].event.dedupe_key == f"sync_failed:{run.pk}"
    assert rows[0].event.link.endswith(f"/sales/sync/{connection.pk}/history/")
    assert not Notification.all_orgs.filter(event__kind=Kind.FIRST_IMPORT).exists()
