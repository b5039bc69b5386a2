"""The connection page as a merchant reads it: "Last sync" agrees with the import card from
the moment Connect Store is clicked, the label costs waiting for their orders are paged and
named by store, and a shipping-expense connection offers only the settings that apply."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from connections.models import ConnectionMode, SourceStore, StoreConnection
from sales.models import ShippingCost, SyncRun, SyncStatus
from tests.connections.conftest import SS_KEY, SS_SECRET
from tests.pages import as_shown
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db


def url(org, name, **kwargs):
    return reverse(f"connections:{name}", kwargs={"org_slug": org.slug, **kwargs})


def shown(page: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">(.*?)</(?:span|td)>', page, re.S)
    assert match is not None, testid
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def panel(client, org, connection, query: str = "") -> str:
    """The connection page with the import panel it loads (hx-get from the sales app)."""
    page = as_shown(client, url(org, "detail", connection_id=connection.pk) + query)
    assert f'id="sync-heading-{connection.pk}"' in page  # the panel arrived in its place
    return page


def stamp(moment, org) -> str:
    return date_format(timezone.localtime(moment, org.tzinfo), "SHORT_DATETIME_FORMAT")


def test_last_sync_follows_the_import_from_the_moment_the_store_is_connected(
    owner_client, org_a, ss
):
    response = owner_client.post(
        url(org_a, "add_shipstation"),
        {"api_key": SS_KEY, "api_secret": SS_SECRET, "name": "Main", "mode": "sales_channel"},
    )
    connection = StoreConnection.all_orgs.get(organization=org_a)
    assert response["Location"] == url(org_a, "detail", connection_id=connection.pk)
    run = SyncRun.all_orgs.get(connection=connection)
    assert run.status == SyncStatus.QUEUED

    # The first import is queued: the card says so, with the time the history shows. The
    # connection page loads the import's panel (hx-get), which refreshes the card's time.
    page = panel(owner_client, org_a, connection)
    assert shown(page, "last-sync") == f"Running since {stamp(run.created_at, org_a)}"
    assert f"<td>{stamp(run.created_at, org_a)}</td>" in page  # the run history's "Started"
    listing = owner_client.get(url(org_a, "list")).content.decode()
    assert shown(listing, "last-sync") == f"Running since {stamp(run.created_at, org_a)}"

    from sales.services import sync_run_execute

    with org_scope(org_a.pk):
        sync_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == SyncStatus.SUCCEEDED
    finished = stamp(run.finished_at, org_a)
    page = panel(owner_client, org_a, connection)
    assert shown(page, "last-sync") == finished
    assert f"Last sync {finished}:" in " ".join(page.split())  # the import card, same time
    listing = owner_client.get(url(org_a, "list")).content.decode()
    assert shown(listing, "last-sync") == finished

    # The progress partial that sees the run end refreshes the card's time too.
    partial = owner_client.get(
        reverse(
            "sales:sync_progress", kwargs={"org_slug": org_a.slug, "connection_id": connection.pk}
        ),
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert f'hx-swap-oob="outerHTML:#last-sync-{connection.pk}"' in partial
    assert shown(partial, "last-sync") == finished


@pytest.fixture
def expense_connection(org_a):
    org_a.plan = "pro"
    org_a.save()
    connection = StoreConnection.all_orgs.create(
        organization=org_a,
        name="Labels only",
        mode=ConnectionMode.SHIPPING_EXPENSE,
        credentials_hint="abcd",
        order_statuses=["shipped", "on_hold"],
        pull_label_costs=True,
    )
    SourceStore.all_orgs.create(
        organization=org_a, connection=connection, external_id=4401, name="Etsy",
        marketplace_name="Etsy",
    )  # fmt: skip
    SourceStore.all_orgs.create(
        organization=org_a, connection=connection, external_id=4402, name="Web shop"
    )
    return connection


def test_label_costs_waiting_for_their_orders_are_paged_and_named_by_store(
    owner_client, org_a, org_b, expense_connection
):
    now = timezone.now()
    for i in range(120):
        ShippingCost.all_orgs.create(
            organization=org_a,
            connection=expense_connection,
            external_id=str(700000 + i),
            # A label of a ShipStation order (its orderId): labels bought without an order
            # are listed apart, as "not linked to an order".
            order_external_id=str(900000 + i),
            order_number=f"W-{i:04d}",
            store_external_id="4401" if i % 2 else "4402",
            create_date=now - timedelta(minutes=i),
            cost=Decimal("5.00"),
        )
    page = panel(owner_client, org_a, expense_connection)
    assert "120 label costs waiting for their orders" in page
    table = re.search(r'data-testid="unmatched-labels">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(r"<tr><td>(W-\d+)</td><td>([^<]*)</td>", table)
    assert len(rows) == 50
    assert rows[0] == ("W-0000", "Web shop") and rows[1] == ("W-0001", "Etsy (Etsy)")
    assert "4401" not in table and "4402" not in table
    assert "Page 1 of 3" in page

    last = panel(owner_client, org_a, expense_connection, "?unmatched_page=3")
    table = re.search(r'data-testid="unmatched-labels">(.*?)</table>', last, re.S).group(1)
    numbers = re.findall(r"<tr><td>(W-\d+)</td>", table)
    assert numbers == [f"W-{i:04d}" for i in range(100, 120)]
    assert "Page 3 of 3" in last
    assert 'href="?unmatched_page=2#unmatched" rel="prev"' in last


def test_a_shipping_expense_connection_offers_only_the_settings_that_apply(
    owner_client, org_a, expense_connection
):
    page = panel(owner_client, org_a, expense_connection)
    assert 'name="order_statuses"' not in page and "Order statuses to import" not in page
    assert 'name="pull_label_costs"' not in page and "Import shipping label costs" not in page
    assert "Import label costs from" in page

    response = owner_client.post(
        url(org_a, "settings", connection_id=expense_connection.pk),
        {
            "name": "Labels only",
            "import_start_date": (timezone.now() - timedelta(days=10)).date().isoformat(),
            "included_stores": [
                str(s.pk) for s in SourceStore.all_orgs.filter(connection=expense_connection)
            ],
            "auto_sync_enabled": "on",
            "sync_interval_minutes": "1440",
        },
    )
    assert response.status_code == 302
    expense_connection.refresh_from_db()
    assert expense_connection.order_statuses == ["shipped", "on_hold"]  # untouched
    assert expense_connection.pull_label_costs is True

    channel = StoreConnection.all_orgs.create(
        organization=org_a, name="Orders", credentials_hint="efgh"
    )
    page = owner_client.get(url(org_a, "detail", connection_id=channel.pk)).content.decode()
    assert 'name="order_statuses"' in page and 'name="pull_label_costs"' in page


def test_connect_store_counts_the_stores_found_in_words(owner_client, org_a, ss):
    from django.contrib.messages import get_messages

    response = owner_client.post(
        url(org_a, "add_shipstation"),
        {"api_key": SS_KEY, "api_secret": SS_SECRET, "name": "Main", "mode": "sales_channel"},
    )
    stores = SourceStore.all_orgs.filter(organization=org_a).count()
    assert stores > 1
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"ShipStation is connected: {stores} stores found."
    ]


def test_the_expired_keys_banner_says_it_once(owner_client, org_a, ss):
    from connections import services
    from sales.services import connection_needs_credentials

    owner_client.post(
        url(org_a, "add_shipstation"),
        {"api_key": SS_KEY, "api_secret": SS_SECRET, "name": "Main", "mode": "sales_channel"},
    )
    connection = StoreConnection.all_orgs.get(organization=org_a)
    for flag in (services.connection_mark_needs_credentials, connection_needs_credentials):
        StoreConnection.all_orgs.filter(pk=connection.pk).update(status="active")
        connection.refresh_from_db()
        with org_scope(org_a.pk):
            flag(connection=connection)
        page = owner_client.get(url(org_a, "detail", connection_id=connection.pk)).content
        banner = re.search(rb'data-testid="needs-keys">(.*?)</div>', page, re.S).group(1)
        text = " ".join(re.sub(r"<[^>]+>", " ", banner.decode()).split())
        assert text.startswith("Syncing is paused. ShipStation ")
        assert text.endswith("Enter the current keys to resume"), text
        # One sentence about the keys, one link to act on it: nothing said twice.
        assert len(re.findall(r"no longer accepts|rejected", text)) == 1, text
        assert len(re.findall(r"[Ee]nter", text)) == 1, text
