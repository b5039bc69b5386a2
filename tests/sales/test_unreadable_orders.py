"""An order ShipStation fails on (every page holding it answers HTTP 500): the import reads
around it, records it, finishes with everything else, and later runs retry only that order.
Over HTTP against the stand-in's "poison" knob, with PostgreSQL."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from sales.models import ImportIssue, SyncStatus
from tests.sales.support import (
    SS_KEY,
    SS_SECRET,
    expected_orders,
    imported_orders,
    make_connection,
    normalized,
    run_sync,
)
from unify.tenancy.scoping import org_scope

pytestmark = [pytest.mark.django_db, pytest.mark.shipstation_rate_limit(None)]


def _by_modify_date(account) -> list:
    return sorted(account.orders.records.values(), key=lambda o: (o.modify_date, o.order_id))


def _order_requests(shipstation, since: int = 0) -> list[dict[str, str]]:
    return [
        {k: v[0] for k, v in parse_qs(r.query).items()} | {"status": str(r.status)}
        for r in shipstation.requests_log(SS_KEY)[since:]
        if r.path == "/orders"
    ]


def _issues(org) -> list[ImportIssue]:
    with org_scope(org.pk):
        return list(ImportIssue.objects.order_by("pk"))


def test_a_poison_order_in_page_3_of_5_is_isolated_recorded_and_retried_alone(
    ss_app, org_a, settings
):
    settings.SALES_SYNC_PAGE_SIZE = 100
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=31, orders=500, days=30)
    poison = _by_modify_date(account)[250]  # the middle of the third page of five
    ss_app.poison_order(SS_KEY, poison.order_id)
    connection = make_connection(org_a)

    first = run_sync(org_a, connection)

    assert first.status == SyncStatus.PARTIAL, first.error_detail
    assert first.issues_count == 1
    expected = normalized(expected_orders(account))
    ref = str(poison.order_id)
    assert imported_orders(org_a) == {k: v for k, v in expected.items() if k != ref}
    [issue] = _issues(org_a)
    assert issue.reason == "ShipStation fails on this order"
    assert issue.kind == "order" and issue.run_id == first.pk and issue.resolved_at is None
    assert issue.retry_from <= poison.modify_date <= issue.retry_until
    # The page was shrunk to isolate it: 100, then 10, then single records.
    requests = _order_requests(ss_app)
    sizes = [r["pageSize"] for r in requests]
    assert sizes.count("100") >= 5 and "10" in sizes and "1" in sizes
    failed = [r for r in requests if r["status"] == "500"]
    assert {r["pageSize"] for r in failed} == {"100", "10", "1"}
    assert len([r for r in failed if r["pageSize"] == "1"]) == 3  # one order, tried 3 times
    assert len(requests) < 5 + 3 + 10 + 10 + 3 + 6  # pages, 100s retried, 10s, 1s, tries, slack

    # Second run, ShipStation still failing: only that order's window is read again.
    before = len(ss_app.requests_log(SS_KEY))
    second = run_sync(org_a, connection)

    assert second.status == SyncStatus.PARTIAL and second.issues_count == 1
    [issue] = _issues(org_a)
    assert issue.run_id == second.pk and issue.attempts == 2 and issue.resolved_at is None
    again = _order_requests(ss_app, before)
    retries = [r for r in again if r["pageSize"] == "1"]
    listing = [r for r in again if r["pageSize"] != "1"]
    assert len(listing) == 1  # the incremental window: nothing changed
    assert 1 <= len(retries) <= 5
    assert {(r["modifyDateStart"], r["modifyDateEnd"]) for r in retries} == {
        (retries[0]["modifyDateStart"], retries[0]["modifyDateEnd"])
    }
    assert [r["status"] for r in retries].count("500") == 1
    assert ref not in imported_orders(org_a)

    # ShipStation recovers: the next run imports the order and resolves the issue.
    ss_app.poison_order(SS_KEY, poison.order_id, poisoned=False)
    third = run_sync(org_a, connection)

    assert third.status == SyncStatus.SUCCEEDED, third.error_detail
    assert third.issues_count == 0
    assert imported_orders(org_a) == expected
    [issue] = _issues(org_a)
    assert issue.resolved_at is not None and issue.attempts == 3

    fourth_before = len(ss_app.requests_log(SS_KEY))
    run_sync(org_a, connection)
    assert all(r["pageSize"] != "1" for r in _order_requests(ss_app, fourth_before))


def test_the_last_order_of_the_listing_can_be_the_one_shipstation_fails_on(ss_app, org_a, settings):
    settings.SALES_SYNC_PAGE_SIZE = 50
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=32, orders=120, days=30)
    poison = _by_modify_date(account)[-1]
    ss_app.poison_order(SS_KEY, poison.order_id)
    connection = make_connection(org_a)

    run = run_sync(org_a, connection)

    assert run.status == SyncStatus.PARTIAL and run.issues_count == 1
    assert len(imported_orders(org_a)) == 119
    [issue] = _issues(org_a)
    assert issue.retry_from <= poison.modify_date <= issue.retry_until
    assert issue.retry_until == run.window_end  # nothing after it in the listing

    ss_app.poison_order(SS_KEY, poison.order_id, poisoned=False)
    assert run_sync(org_a, connection).status == SyncStatus.SUCCEEDED
    assert imported_orders(org_a) == normalized(expected_orders(account))


def test_shipstation_answering_500_to_everything_is_an_outage_not_bad_orders(
    ss_app, org_a, settings
):
    settings.SALES_SYNC_PAGE_SIZE = 50
    settings.SALES_SYNC_MAX_ATTEMPTS = 4
    ss_app.add_account(SS_KEY, SS_SECRET, seed=33, orders=120, days=30)
    ss_app.inject_faults("500", probability=1.0, path_prefix="/orders")
    connection = make_connection(org_a)

    run = run_sync(org_a, connection)

    assert run.status == SyncStatus.FAILED
    assert "HTTP 500" in run.error_detail
    assert _issues(org_a) == []
    assert imported_orders(org_a) == {}


def test_the_issue_page_says_which_window_is_retried(ss_app, org_a, owner_client, settings):
    settings.SALES_SYNC_PAGE_SIZE = 50
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=34, orders=60, days=30)
    ss_app.poison_order(SS_KEY, _by_modify_date(account)[30].order_id)
    run = run_sync(org_a, make_connection(org_a))

    page = owner_client.get(f"/o/{org_a.slug}/sales/sync/runs/{run.pk}/issues/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "ShipStation fails on this order" in text
    assert "Every sync asks ShipStation for it again until it can be read." in text
