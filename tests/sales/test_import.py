"""The import, run in the test process against the ShipStation stand-in over HTTP."""

from __future__ import annotations

import pytest

from sales.models import SyncStatus
from sales.services import sync_request, sync_run_execute
from tests.sales.support import (
    SS_KEY,
    SS_SECRET,
    expected_costs,
    expected_orders,
    imported_costs,
    imported_orders,
    make_connection,
)
from unify.tenancy.scoping import org_scope

pytestmark = [pytest.mark.django_db, pytest.mark.shipstation_rate_limit(None)]


def run_sync(org, connection, **kwargs):
    with org_scope(org.pk):
        run = sync_request(organization=org, connection=connection, **kwargs)
        result = sync_run_execute(run_id=run.pk)
        while result.continue_later:
            result = sync_run_execute(run_id=run.pk)
        run.refresh_from_db()
    return run


def test_first_import_brings_every_order_line_and_label_cost_once(ss_app, org_a, settings):
    settings.SALES_SYNC_PAGE_SIZE = 40
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=11, orders=150, days=30)
    connection = make_connection(org_a)

    run = run_sync(org_a, connection)

    assert run.status == SyncStatus.SUCCEEDED, run.error_detail
    assert imported_orders(org_a) == expected_orders(account)
    assert imported_costs(org_a) == expected_costs(account)
    assert run.orders_created == 150
    assert run.issues_count == 0
