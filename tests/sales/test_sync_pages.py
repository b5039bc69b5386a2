"""Sync now, the live progress partial, the run history and the unreadable-records page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from connections.models import ConnectionStatus
from sales.models import ImportIssue, SyncKind, SyncRun, SyncStatus
from tests.pages import as_shown
from tests.sales.support import make_connection
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db


def url(name, org, **kwargs):
    return reverse(f"sales:{name}", kwargs={"org_slug": org.slug, **kwargs})


def make_run(org, connection, **fields):
    now = timezone.now()
    values = {"kind": SyncKind.MANUAL, "window_start": now, "window_end": now, **fields}
    with org_scope(org.pk):
        return SyncRun.objects.create(organization=org, connection=connection, **values)


def test_member_starts_a_sync_and_sees_it_progress(client, member_of_a, org_a):
    connection = make_connection(org_a)
    client.force_login(member_of_a.user)

    response = client.post(url("sync_now", org_a, connection_id=connection.pk))

    assert response.status_code == 302
    assert response["Location"] == reverse(
        "connections:detail", kwargs={"org_slug": org_a.slug, "connection_id": connection.pk}
    )
    with org_scope(org_a.pk):
        run = SyncRun.objects.get(connection=connection)
    assert run.status == SyncStatus.QUEUED
    assert run.kind == SyncKind.INITIAL  # nothing imported yet: the first sync is the initial one
    assert run.requested_by == member_of_a.user

    SyncRun.all_orgs.filter(pk=run.pk).update(
        status=SyncStatus.RUNNING, pages_done=3, pages_total=12, orders_created=1200,
        records_read=1500,
    )  # fmt: skip
    partial = client.get(
        url("sync_progress", org_a, connection_id=connection.pk), HTTP_HX_REQUEST="true"
    )
    html = partial.content.decode()
    assert partial.status_code == 200
    assert 'hx-trigger="every 2s"' in html
    assert '<progress class="w-100" max="12" value="3"' in html
    assert "Page 3 of about 12 · 1500 records read so far · 1200 orders" in html
    assert 'data-testid="sync-waiting"' not in html
    assert "Sync now" not in html  # no second sync while one runs

    SyncRun.all_orgs.filter(pk=run.pk).update(
        status=SyncStatus.SUCCEEDED, finished_at=timezone.now(), started_at=timezone.now()
    )
    done = client.get(
        url("sync_progress", org_a, connection_id=connection.pk), HTTP_HX_REQUEST="true"
    )
    html = done.content.decode()
    assert "hx-trigger" not in html
    assert "1200 new and 0 updated orders" in html
    assert 'hx-swap-oob="outerHTML:#sync-history-' in html  # the history refreshes once
    assert "Sync now" in html


def test_sync_now_with_htmx_answers_with_the_progress_partial(client, member_of_a, org_a):
    connection = make_connection(org_a)
    client.force_login(member_of_a.user)

    response = client.post(
        url("sync_now", org_a, connection_id=connection.pk), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert f'id="sync-progress-{connection.pk}"' in response.content.decode()
    assert "Sync queued" in response.content.decode()


def test_sync_now_is_post_only_and_refused_for_a_connection_needing_keys(
    client, member_of_a, org_a
):
    connection = make_connection(org_a, status=ConnectionStatus.NEEDS_CREDENTIALS)
    client.force_login(member_of_a.user)

    assert client.get(url("sync_now", org_a, connection_id=connection.pk)).status_code == 405
    response = client.post(url("sync_now", org_a, connection_id=connection.pk), follow=True)

    assert "cannot sync until its API keys are updated" in response.content.decode()
    assert not SyncRun.all_orgs.exists()


def test_another_organizations_connection_is_not_found_and_not_synced(
    client, member_of_a, org_a, org_b
):
    theirs = make_connection(org_b)
    client.force_login(member_of_a.user)

    assert client.post(url("sync_now", org_a, connection_id=theirs.pk)).status_code == 404
    assert client.get(url("sync_progress", org_a, connection_id=theirs.pk)).status_code == 404
    assert client.get(url("sync_history", org_a, connection_id=theirs.pk)).status_code == 404
    assert not SyncRun.all_orgs.exists()


def test_history_shows_counts_duration_and_errors(client, member_of_a, org_a):
    connection = make_connection(org_a)
    start = timezone.now()
    make_run(
        org_a, connection, status=SyncStatus.SUCCEEDED, started_at=start,
        finished_at=start + timezone.timedelta(seconds=42), orders_created=17, orders_updated=3,
        orders_unchanged=5, costs_created=19, costs_updated=2,
    )  # fmt: skip
    make_run(
        org_a, connection, status=SyncStatus.FAILED, started_at=start, finished_at=start,
        error="ShipStation did not answer properly after several attempts.",
    )  # fmt: skip
    client.force_login(member_of_a.user)

    html = client.get(url("sync_history", org_a, connection_id=connection.pk)).content.decode()

    assert "17 / 3 / 5" in html
    assert "19 / 2" in html
    assert "42 s" in html
    assert "ShipStation did not answer properly after several attempts." in html


def test_unreadable_records_page_lists_the_run_issues_of_this_organization_only(
    client, member_of_a, org_a, org_b
):
    connection = make_connection(org_a)
    run = make_run(org_a, connection, status=SyncStatus.PARTIAL, issues_count=1)
    with org_scope(org_a.pk):
        ImportIssue.objects.create(
            organization=org_a, connection=connection, run=run, kind="order",
            external_ref="98765", reason="orderDate is missing", raw_text='{"orderId": 98765}',
            fingerprint="f1",
        )  # fmt: skip
    other = make_run(org_b, make_connection(org_b, name="B"), status=SyncStatus.PARTIAL)
    client.force_login(member_of_a.user)

    html = client.get(url("sync_run_issues", org_a, run_id=run.pk)).content.decode()
    assert "98765" in html and "orderDate is missing" in html
    assert client.get(url("sync_run_issues", org_a, run_id=other.pk)).status_code == 404


def test_sales_tab_overview_lists_every_connection_and_polls_while_one_runs(
    client, member_of_a, org_a
):
    running = make_connection(org_a, name="Main account")
    idle = make_connection(org_a, name="Second account", key="other-key-2")
    make_run(org_a, running, status=SyncStatus.RUNNING, pages_done=1, pages_total=4)
    client.force_login(member_of_a.user)

    html = client.get(url("sync_overview", org_a)).content.decode()

    assert "Main account" in html and "Second account" in html
    assert f'hx-get="{url("sync_overview", org_a)}" hx-trigger="every 2s"' in html
    assert "Not synced yet." in html
    assert idle.pk


def test_connection_page_shows_the_import_panel(client, member_of_a, org_a):
    connection = make_connection(org_a)
    make_run(
        org_a, connection, status=SyncStatus.RUNNING, pages_done=2, pages_total=9,
        orders_created=640, records_read=700,
    )  # fmt: skip
    client.force_login(member_of_a.user)

    html = as_shown(
        client,
        reverse(
            "connections:detail", kwargs={"org_slug": org_a.slug, "connection_id": connection.pk}
        ),
    )

    assert f'id="sync-progress-{connection.pk}"' in html
    assert 'hx-trigger="every 2s"' in html
    assert "700 records read so far · 640 orders" in html
    assert f'id="sync-history-{connection.pk}"' in html


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        (
            {"waiting_for": "rate_limit", "seconds": 40},
            "Waiting for ShipStation's rate limit (resumes in 40 s).",
        ),
        (
            {"waiting_for": "retry", "waiting_attempt": 2, "waiting_attempts": 6},
            "ShipStation answered with errors, retrying (2 of 6).",
        ),
    ],
)
def test_the_progress_says_what_a_slow_sync_waits_for(client, member_of_a, org_a, fields, text):
    from datetime import timedelta

    connection = make_connection(org_a)
    seconds = fields.pop("seconds", 0)
    make_run(
        org_a, connection, status=SyncStatus.RUNNING, pages_done=1, pages_total=9,
        records_read=500, phase="labels_created",
        waiting_until=timezone.now() + timedelta(seconds=seconds, milliseconds=-1), **fields,
    )  # fmt: skip
    client.force_login(member_of_a.user)

    html = client.get(
        url("sync_progress", org_a, connection_id=connection.pk), HTTP_HX_REQUEST="true"
    ).content.decode()

    assert text in html
    # Reading label pages: the records read show, though no order came yet.
    assert "500 records read so far · 0 orders" in html
