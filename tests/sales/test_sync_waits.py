"""A slow sync says what it waits for (issue 14, item 10): the merchant's progress display
while a real run waits for ShipStation's rate limit or retries after errors, read over HTTP
as the page polls it. The run executes in a second thread against the stand-in."""

from __future__ import annotations

import re
import threading
import time

import pytest
from django.db import connection as db_connection
from django.urls import reverse

from sales.models import SyncStatus
from tests.sales.support import SS_KEY, SS_SECRET, last_run, make_connection, run_sync

pytestmark = [pytest.mark.django_db(transaction=True)]


def _watch(client, org, connection) -> tuple[list[str], threading.Thread]:
    """Run a sync in a thread; return the progress texts seen while it ran."""
    seen: list[str] = []
    url = reverse(
        "sales:sync_progress", kwargs={"org_slug": org.slug, "connection_id": connection.pk}
    )

    def work() -> None:
        try:
            run_sync(org, connection)
        finally:
            db_connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    deadline = time.monotonic() + 90
    while thread.is_alive() and time.monotonic() < deadline:
        html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
        seen.extend(re.findall(r'data-testid="sync-waiting">([^<]*)<', html))
        time.sleep(0.1)
    thread.join(timeout=30)
    return seen, thread


def test_retries_after_errors_are_shown_with_their_count(
    ss_app, org_a, member_of_a, client, settings
):
    settings.SALES_SYNC_PAGE_SIZE = 20
    settings.SALES_SYNC_BACKOFF_SECONDS = 2.0
    settings.SALES_SYNC_BACKOFF_MAX_SECONDS = 2.0
    ss_app.add_account(SS_KEY, SS_SECRET, seed=61, orders=40, days=30)
    ss_app.inject_faults("503", count=2, path_prefix="/orders")
    connection = make_connection(org_a)
    client.force_login(member_of_a.user)

    seen, thread = _watch(client, org_a, connection)

    assert not thread.is_alive()
    assert "ShipStation answered with errors, retrying (1 of 6)." in seen
    assert "ShipStation answered with errors, retrying (2 of 6)." in seen
    run = last_run(org_a, connection)
    assert run.status == SyncStatus.SUCCEEDED, run.error_detail
    assert run.waiting_for == "" and run.records_read >= 40


@pytest.mark.shipstation_rate_limit(3, window_seconds=4)
def test_waiting_for_the_rate_limit_is_shown_with_the_seconds_left(
    ss_app, org_a, member_of_a, client, settings
):
    settings.SALES_SYNC_PAGE_SIZE = 10
    settings.SHIPSTATION_RATE_LIMIT_PER_MINUTE = 3
    settings.SHIPSTATION_RATE_LIMIT_WINDOW_SECONDS = 4
    settings.SHIPSTATION_RATE_LIMIT_MARGIN_SECONDS = 0.1
    ss_app.add_account(SS_KEY, SS_SECRET, seed=62, orders=30, days=30)
    connection = make_connection(org_a)
    client.force_login(member_of_a.user)

    seen, thread = _watch(client, org_a, connection)

    assert not thread.is_alive()
    waits = [s for s in seen if s.startswith("Waiting for ShipStation's rate limit")]
    assert waits, seen
    seconds = {int(m) for s in waits for m in re.findall(r"resumes in (\d+) s", s)}
    assert seconds and max(seconds) <= 5 and min(seconds) >= 1
    run = last_run(org_a, connection)
    assert run.status == SyncStatus.SUCCEEDED, run.error_detail
    assert run.waiting_for == ""
