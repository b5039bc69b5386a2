"""Add Store > ShipStation > Connect Store, update keys, disconnect, reconnect and sync
settings, through Django's test client and the ShipStation stand-in over HTTP."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta

import pytest
from django.db import connection as db
from django.urls import reverse
from django.utils import timezone

from connections import selectors, services
from connections.models import ConnectionMode, ConnectionStatus, SourceStore, StoreConnection
from connections.sources.shipstation.adapter import ShipStationAdapter
from connections.sources.shipstation.client import api_key_fingerprint
from tests.connections.conftest import (
    OTHER_KEY,
    OTHER_SECRET,
    SS_KEY,
    SS_KEY_2,
    SS_SECRET,
    SS_SECRET_2,
)
from tests.factories import MembershipFactory, StoreConnectionFactory
from tests.security.support import enable_totp, reauthenticate
from unify.core.models import AuditEvent
from unify.core.secrets import mask_hint
from unify.tenancy.models import Role
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

REJECTED = "ShipStation rejected this API key and secret"
UNAVAILABLE = "ShipStation is not answering right now"


def url(org, name, **kwargs):
    return reverse(f"connections:{name}", kwargs={"org_slug": org.slug, **kwargs})


def connect(client, org, *, key=SS_KEY, secret=SS_SECRET, name="Main", mode="sales_channel"):
    return client.post(
        url(org, "add_shipstation"),
        {"api_key": key, "api_secret": secret, "name": name, "mode": mode},
    )


def stored_column(connection_id: int) -> str | None:
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT credentials FROM connections_storeconnection WHERE id = %s", [connection_id]
        )
        return cursor.fetchone()[0]


def nothing_saved(org) -> bool:
    return (
        not StoreConnection.all_orgs.filter(organization=org).exists()
        and not SourceStore.all_orgs.filter(organization=org).exists()
        and not AuditEvent.objects.filter(
            organization=org, action__startswith="connection."
        ).exists()
    )


@pytest.fixture
def pro_a(org_a):
    org_a.plan = "pro"
    org_a.save()
    return org_a


# --- the happy path -------------------------------------------------------------------------


def test_add_store_picker_lists_only_shipstation_and_continues_to_the_form(owner_client, org_a):
    page = owner_client.get(url(org_a, "add"))
    assert page.status_code == 200
    assert page.content.decode().count('name="platform"') == 1
    assert "ShipStation" in page.content.decode()
    cont = owner_client.get(url(org_a, "add"), {"platform": "shipstation"})
    assert cont.status_code == 302 and cont["Location"] == url(org_a, "add_shipstation")
    assert owner_client.get(url(org_a, "add"), {"platform": "woo"}).status_code == 200


def test_connect_form_asks_for_keys_safely_and_explains_where_they_are(owner_client, org_a):
    html = owner_client.get(url(org_a, "add_shipstation")).content.decode()
    assert 'type="password" name="api_key"' in html
    assert 'type="password" name="api_secret"' in html
    assert html.count('autocomplete="off"') >= 2
    assert "In ShipStation, open Settings > Account > API Settings." in html
    assert "Do not regenerate keys" in html
    assert ">Connect Store</button>" in html
    # Starter plan: shipping-expense shown but disabled, with the upgrade note.
    assert 'value="shipping_expense" id="id_mode_1" disabled' in html
    assert "Available on the Pro and Advanced plans" in html


def test_connect_store_saves_encrypted_keys_stores_and_audit(owner_client, org_a, owner_of_a, ss):
    response = connect(owner_client, org_a)
    connection = StoreConnection.all_orgs.get(organization=org_a)
    assert response.status_code == 302
    assert response["Location"] == url(org_a, "detail", connection_id=connection.pk)

    expected = ss.account_meta(SS_KEY)["stores"]
    stores = SourceStore.all_orgs.filter(connection=connection).order_by("external_id")
    assert [(s.external_id, s.name, s.active, s.included) for s in stores] == sorted(
        (s["storeId"], s["storeName"], s["active"], s["active"]) for s in expected
    )
    assert connection.name == "Main"
    assert connection.mode == ConnectionMode.SALES_CHANNEL
    assert connection.status == ConnectionStatus.ACTIVE
    assert connection.created_by == owner_of_a.user
    assert connection.credentials.reveal() == {"api_key": SS_KEY, "api_secret": SS_SECRET}
    assert connection.credentials_hint == mask_hint(SS_KEY) == "••••d0e4"
    assert connection.credentials_fingerprint == api_key_fingerprint(SS_KEY)
    assert connection.last_verified_at is not None
    assert connection.import_start_date == (timezone.now() - timedelta(days=30)).date()
    assert connection.order_statuses == ["shipped"]

    column = stored_column(connection.pk)
    assert column.startswith("gAAAA")  # a Fernet token
    assert SS_KEY not in column and SS_SECRET not in column

    [event] = AuditEvent.objects.filter(organization=org_a, action="connection.created")
    assert event.actor == owner_of_a.user
    assert event.metadata["key_hint"] == "••••d0e4"
    assert SS_KEY not in str(event.metadata) and SS_SECRET not in str(event.metadata)

    page = owner_client.get(response["Location"]).content.decode()
    for store in expected:
        assert store["storeName"] in page
    assert "ShipStation is connected" in page
    assert [r.path for r in ss.requests_log(SS_KEY)] == ["/stores"]


def test_connection_list_shows_status_mode_and_counts(owner_client, org_a, ss):
    connect(owner_client, org_a)
    html = owner_client.get(url(org_a, "list")).content.decode()
    assert "Main" in html and "Active" in html and "Sales channel" in html
    assert "••••d0e4" in html
    assert "1 of 1 store connection on your Starter plan." in html


# --- failures: nothing saved ----------------------------------------------------------------


def test_wrong_keys_show_the_rejection_and_save_nothing(owner_client, org_a, ss):
    response = connect(owner_client, org_a, secret="not-the-secret")
    assert response.status_code == 200
    assert REJECTED in response.content.decode()
    assert nothing_saved(org_a)
    # The form never echoes what was typed into the secret fields.
    assert "not-the-secret" not in response.content.decode()
    assert SS_KEY not in response.content.decode()


@pytest.mark.parametrize("fault", ["server_error", "bad_gateway"])
def test_shipstation_errors_say_try_again_and_save_nothing(owner_client, org_a, ss, fault):
    ss.inject_faults(fault, count=1)
    response = connect(owner_client, org_a)
    assert UNAVAILABLE in response.content.decode()
    assert "Nothing was saved" in response.content.decode()
    assert nothing_saved(org_a)


def test_shipstation_timeout_says_try_again_and_saves_nothing(owner_client, org_a, ss, settings):
    settings.SHIPSTATION_TIMEOUT_READ = 0.3
    ss.inject_faults("slow", count=1, delay_seconds=1.5)
    response = connect(owner_client, org_a)
    assert UNAVAILABLE in response.content.decode()
    assert nothing_saved(org_a)


def test_shipstation_rate_limit_says_so_and_saves_nothing(owner_client, org_a, ss):
    ss.set_rate_limit(1, 60)
    ShipStationAdapter.from_credentials({"api_key": SS_KEY, "api_secret": SS_SECRET}).verify()
    response = connect(owner_client, org_a)
    html = response.content.decode()
    assert "ShipStation is limiting requests for this API key right now" in html
    assert "Nothing was saved" in html
    assert nothing_saved(org_a)


def test_duplicate_keys_are_refused(owner_client, pro_a, ss):
    connect(owner_client, pro_a)
    asked = len(ss.requests_log(SS_KEY))
    response = connect(owner_client, pro_a, key=f"  {SS_KEY} ", name="Again")
    assert "These ShipStation keys are already connected as “Main”" in response.content.decode()
    assert StoreConnection.all_orgs.filter(organization=pro_a).count() == 1
    # Refused before asking ShipStation again.
    assert len(ss.requests_log(SS_KEY)) == asked


def test_same_keys_in_another_organization_are_not_a_duplicate(owner_of_a, owner_of_b, ss):
    for membership in (owner_of_a, owner_of_b):
        with org_scope(membership.organization.pk):  # as the Connect page calls it
            connection = services.connection_create(
                organization=membership.organization,
                actor=membership.user,
                provider="shipstation",
                credentials={"api_key": SS_KEY, "api_secret": SS_SECRET},
            )
        assert connection.organization == membership.organization


# --- plan rules -----------------------------------------------------------------------------


def test_shipping_expense_mode_is_refused_below_pro_in_the_form_and_the_service(
    owner_client, org_a, owner_of_a, ss
):
    response = connect(owner_client, org_a, mode="shipping_expense")
    assert (
        "Shipping-expense mode is part of the Pro and Advanced plans" in response.content.decode()
    )
    with pytest.raises(services.ConnectionRefused) as info:
        services.connection_create(
            organization=org_a,
            actor=owner_of_a.user,
            provider="shipstation",
            credentials={"api_key": SS_KEY, "api_secret": SS_SECRET},
            mode=ConnectionMode.SHIPPING_EXPENSE,
        )
    assert info.value.code == "plan_mode"
    assert nothing_saved(org_a)
    assert ss.requests_log() == []  # refused before ShipStation was asked


def test_shipping_expense_mode_on_pro(owner_client, pro_a, ss):
    html = owner_client.get(url(pro_a, "add_shipstation")).content.decode()
    assert 'value="shipping_expense" id="id_mode_1" disabled' not in html
    connect(owner_client, pro_a, mode="shipping_expense")
    assert StoreConnection.all_orgs.get(organization=pro_a).mode == "shipping_expense"


def test_connection_limit_per_plan_and_disconnected_ones_do_not_count(
    owner_client, org_a, owner_of_a, ss
):
    ss.add_account(OTHER_KEY, OTHER_SECRET, seed=99, stores=2)
    connect(owner_client, org_a)
    response = connect(owner_client, org_a, key=OTHER_KEY, secret=OTHER_SECRET, name="Second")
    assert "Your Starter plan includes 1 store connection and it is in use" in (
        response.content.decode()
    )
    assert StoreConnection.all_orgs.filter(organization=org_a).count() == 1
    first = StoreConnection.all_orgs.get(organization=org_a)
    with org_scope(org_a.pk):  # as the Disconnect button calls it
        services.connection_disconnect(connection=first, actor=owner_of_a.user)
    connect(owner_client, org_a, key=OTHER_KEY, secret=OTHER_SECRET, name="Second")
    assert StoreConnection.all_orgs.filter(organization=org_a).count() == 2
    # Now reconnecting the first would exceed the plan.
    with pytest.raises(services.ConnectionRefused) as info:
        services.connection_reconnect(
            connection=first,
            actor=owner_of_a.user,
            credentials={"api_key": SS_KEY, "api_secret": SS_SECRET},
        )
    assert info.value.code == "plan_limit"
    first.refresh_from_db()
    assert first.status == ConnectionStatus.DISABLED and first.credentials is None


def test_downgrade_keeps_data_but_pauses_what_the_plan_no_longer_covers(pro_a, owner_of_a):
    expense = StoreConnectionFactory(organization=pro_a, mode="shipping_expense", name="Expense")
    channel_1 = StoreConnectionFactory(organization=pro_a, name="Channel 1")
    channel_2 = StoreConnectionFactory(organization=pro_a, name="Channel 2")
    assert all(selectors.connection_can_sync(c) for c in (expense, channel_1, channel_2))
    pro_a.plan = "starter"
    pro_a.save()
    for c in (expense, channel_1, channel_2):
        c.refresh_from_db()
    assert "Shipping-expense mode is not part of your Starter plan" in (
        selectors.connection_plan_block(expense)
    )
    # Starter allows one connection: the oldest (expense) holds the slot, the others pause.
    assert "beyond" in selectors.connection_plan_block(channel_1)
    assert not any(selectors.connection_can_sync(c) for c in (expense, channel_1, channel_2))
    assert StoreConnection.all_orgs.filter(organization=pro_a).count() == 3
    summary = selectors.dashboard_summary(organization=pro_a)
    assert summary["connection_count"] == 3
    assert summary["needs_attention"] == [
        "Channel 1 is paused by your plan.",
        "Channel 2 is paused by your plan.",
        "Expense is paused by your plan.",
    ]
    with pytest.raises(services.ConnectionRefused) as info:
        services.plan_check_new_connection(organization=pro_a, mode="sales_channel")
    assert info.value.code == "plan_limit"


# --- update keys ----------------------------------------------------------------------------


def test_update_keys_verifies_then_replaces_them(owner_client, org_a, owner_of_a, ss):
    # New keys and disconnecting ask for the password again (tests/security).
    reauthenticate(owner_client)
    connect(owner_client, org_a)
    connection = StoreConnection.all_orgs.get(organization=org_a)
    ss.add_account(SS_KEY_2, SS_SECRET_2, seed=7, stores=3)  # same account, new pair
    page = owner_client.get(url(org_a, "update_keys", connection_id=connection.pk))
    assert "••••d0e4" in page.content.decode()
    response = owner_client.post(
        url(org_a, "update_keys", connection_id=connection.pk),
        {"api_key": SS_KEY_2, "api_secret": SS_SECRET_2},
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.credentials.reveal() == {"api_key": SS_KEY_2, "api_secret": SS_SECRET_2}
    assert connection.credentials_hint == "••••90d3"
    assert connection.credentials_fingerprint == api_key_fingerprint(SS_KEY_2)
    [event] = AuditEvent.objects.filter(organization=org_a, action="connection.credentials_updated")
    assert event.metadata == {"previous_key_hint": "••••d0e4", "key_hint": "••••90d3"}


def test_wrong_new_keys_leave_the_old_ones(owner_client, org_a, ss):
    reauthenticate(owner_client)
    connect(owner_client, org_a)
    connection = StoreConnection.all_orgs.get(organization=org_a)
    before = (stored_column(connection.pk), connection.updated_at)
    response = owner_client.post(
        url(org_a, "update_keys", connection_id=connection.pk),
        {"api_key": SS_KEY_2, "api_secret": "wrong"},
    )
    assert REJECTED in response.content.decode()
    connection.refresh_from_db()
    assert (stored_column(connection.pk), connection.updated_at) == before
    assert connection.credentials.reveal()["api_key"] == SS_KEY
    assert not AuditEvent.objects.filter(action="connection.credentials_updated").exists()


def test_keys_of_another_shipstation_account_are_refused_for_an_existing_connection(
    owner_client, org_a, ss
):
    reauthenticate(owner_client)
    connect(owner_client, org_a)
    ss.add_account(OTHER_KEY, OTHER_SECRET, seed=99, stores=2)
    connection = StoreConnection.all_orgs.get(organization=org_a)
    response = owner_client.post(
        url(org_a, "update_keys", connection_id=connection.pk),
        {"api_key": OTHER_KEY, "api_secret": OTHER_SECRET},
    )
    assert "These keys open a different ShipStation account" in response.content.decode()
    connection.refresh_from_db()
    assert connection.credentials.reveal()["api_key"] == SS_KEY


def test_expired_keys_banner_and_new_keys_resume(owner_client, org_a, ss):
    reauthenticate(owner_client)
    connect(owner_client, org_a)
    connection = StoreConnection.all_orgs.get(organization=org_a)
    with org_scope(org_a.pk):  # as the sync calls it
        services.connection_mark_needs_credentials(connection=connection)
    assert connection.status == ConnectionStatus.NEEDS_CREDENTIALS
    html = owner_client.get(url(org_a, "list")).content.decode()
    assert "ShipStation no longer accepts these keys" in html
    assert url(org_a, "update_keys", connection_id=connection.pk) in html
    assert selectors.dashboard_summary(organization=org_a)["needs_attention"] == [
        "Main needs new ShipStation keys."
    ]
    ss.add_account(SS_KEY_2, SS_SECRET_2, seed=7, stores=3)
    owner_client.post(
        url(org_a, "update_keys", connection_id=connection.pk),
        {"api_key": SS_KEY_2, "api_secret": SS_SECRET_2},
    )
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE and connection.status_message == ""


# --- disconnect and reconnect ---------------------------------------------------------------


def test_disconnect_deletes_keys_keeps_data_and_unsubscribes_webhooks(
    owner_client, org_a, owner_of_a, ss
):
    reauthenticate(owner_client)
    connect(owner_client, org_a)
    connection = StoreConnection.all_orgs.get(organization=org_a)
    adapter = ShipStationAdapter.from_credentials({"api_key": SS_KEY, "api_secret": SS_SECRET})
    hook_id = adapter.subscribe_webhook(
        target_url="http://127.0.0.1:9/hooks/x", event="ORDER_NOTIFY", friendly_name="Unify"
    )
    StoreConnection.all_orgs.filter(pk=connection.pk).update(webhook_ids=[hook_id])
    old_token = connection.webhook_token
    stores_before = list(SourceStore.all_orgs.filter(connection=connection).values_list("pk"))

    confirm = owner_client.get(url(org_a, "disconnect", connection_id=connection.pk))
    assert "Imported orders, label costs and postings are kept." in confirm.content.decode()
    response = owner_client.post(url(org_a, "disconnect", connection_id=connection.pk))
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISABLED
    assert connection.credentials is None and stored_column(connection.pk) is None
    assert connection.credentials_hint == "••••d0e4"
    assert connection.next_sync_at is None and connection.webhook_ids == []
    assert connection.webhook_token != old_token
    assert list(SourceStore.all_orgs.filter(connection=connection).values_list("pk")) == (
        stores_before
    )
    assert adapter.list_webhooks() == []
    assert (
        AuditEvent.objects.filter(organization=org_a, action="connection.disconnected").count() == 1
    )
    assert not selectors.connection_can_sync(connection)
    html = owner_client.get(url(org_a, "detail", connection_id=connection.pk)).content.decode()
    assert ">Reconnect</a>" in html and "Update keys" not in html


def test_disconnect_goes_through_when_shipstation_is_down(owner_client, org_a, ss):
    reauthenticate(owner_client)
    connect(owner_client, org_a)
    connection = StoreConnection.all_orgs.get(organization=org_a)
    StoreConnection.all_orgs.filter(pk=connection.pk).update(webhook_ids=["12345"])
    ss.inject_faults("server_error", count=5)
    owner_client.post(url(org_a, "disconnect", connection_id=connection.pk))
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISABLED and connection.credentials is None


def test_reconnect_takes_new_keys_and_resumes(owner_client, org_a, owner_of_a, ss):
    reauthenticate(owner_client)
    connect(owner_client, org_a)
    connection = StoreConnection.all_orgs.get(organization=org_a)
    with org_scope(org_a.pk):  # as the Disconnect button calls it
        services.connection_disconnect(connection=connection, actor=owner_of_a.user)
    # Adding the same keys again points at the disconnected connection.
    response = connect(owner_client, org_a, name="Again")
    assert "which is disconnected" in response.content.decode()
    wrong = owner_client.post(
        url(org_a, "reconnect", connection_id=connection.pk),
        {"api_key": SS_KEY, "api_secret": "nope"},
    )
    assert REJECTED in wrong.content.decode()
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISABLED
    owner_client.post(
        url(org_a, "reconnect", connection_id=connection.pk),
        {"api_key": SS_KEY, "api_secret": SS_SECRET},
    )
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE
    assert connection.credentials.reveal() == {"api_key": SS_KEY, "api_secret": SS_SECRET}
    assert connection.disconnected_at is None
    assert (
        AuditEvent.objects.filter(organization=org_a, action="connection.reconnected").count() == 1
    )


# --- settings and stores --------------------------------------------------------------------


def settings_body(connection, **changes):
    stores = SourceStore.all_orgs.filter(connection=connection)
    body = {
        "name": connection.name,
        "import_start_date": connection.import_start_date.isoformat(),
        "order_statuses": list(connection.order_statuses),
        "included_stores": [str(s.pk) for s in stores if s.included],
        "auto_sync_enabled": "on",
        "sync_interval_minutes": str(connection.sync_interval_minutes),
        "pull_label_costs": "on",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def test_sync_settings_are_saved_and_audited(owner_client, pro_a, ss):
    connect(owner_client, pro_a)
    connection = StoreConnection.all_orgs.get(organization=pro_a)
    first_store = SourceStore.all_orgs.filter(connection=connection, active=True).first()
    start = timezone.now().date() - timedelta(days=90)
    included = [
        str(s.pk)
        for s in SourceStore.all_orgs.filter(connection=connection, active=True)
        if s.pk != first_store.pk
    ]
    response = owner_client.post(
        url(pro_a, "settings", connection_id=connection.pk),
        settings_body(
            connection,
            import_start_date=start.isoformat(),
            order_statuses=["shipped", "awaiting_shipment"],
            sync_interval_minutes="60",
            pull_label_costs=None,
            included_stores=included,
        ),
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.import_start_date == start
    assert connection.order_statuses == ["shipped", "awaiting_shipment"]
    assert connection.sync_interval_minutes == 60
    assert connection.pull_label_costs is False
    assert connection.next_sync_at is not None
    first_store.refresh_from_db()
    assert first_store.included is False
    [event] = AuditEvent.objects.filter(organization=pro_a, action="connection.settings_changed")
    assert set(event.metadata["changed"]) == {
        "import_start_date",
        "order_statuses",
        "sync_interval_minutes",
        "pull_label_costs",
        "stores",
    }
    assert event.metadata["stores"] == {first_store.name: False}


def test_sync_interval_is_limited_by_the_plan(owner_client, org_a, owner_of_a, ss):
    connect(owner_client, org_a)
    connection = StoreConnection.all_orgs.get(organization=org_a)
    html = owner_client.get(url(org_a, "detail", connection_id=connection.pk)).content.decode()
    assert '<option value="60"' not in html and '<option value="1440"' in html
    response = owner_client.post(
        url(org_a, "settings", connection_id=connection.pk),
        settings_body(connection, sync_interval_minutes="60"),
    )
    assert response.status_code == 400
    with pytest.raises(services.ConnectionRefused) as info:
        services.connection_update_settings(
            connection=connection,
            actor=owner_of_a.user,
            import_start_date=connection.import_start_date,
            order_statuses=["shipped"],
            sync_interval_minutes=60,
            auto_sync_enabled=True,
            pull_label_costs=True,
        )
    assert info.value.code == "plan_interval"
    connection.refresh_from_db()
    assert connection.sync_interval_minutes == 1440


def test_settings_refuse_a_future_start_date_and_no_status(owner_client, org_a, ss):
    connect(owner_client, org_a)
    connection = StoreConnection.all_orgs.get(organization=org_a)
    future = (timezone.now() + timedelta(days=3)).date().isoformat()
    response = owner_client.post(
        url(org_a, "settings", connection_id=connection.pk),
        settings_body(connection, import_start_date=future),
    )
    assert "The start date cannot be in the future." in response.content.decode()
    response = owner_client.post(
        url(org_a, "settings", connection_id=connection.pk),
        settings_body(connection, order_statuses=None),
    )
    assert response.status_code == 400
    connection.refresh_from_db()
    assert connection.order_statuses == ["shipped"]


def test_store_toggle_with_htmx_returns_the_row(owner_client, org_a, ss):
    connect(owner_client, org_a)
    connection = StoreConnection.all_orgs.get(organization=org_a)
    store = SourceStore.all_orgs.filter(connection=connection, included=True).first()
    response = owner_client.post(
        url(org_a, "store_toggle", connection_id=connection.pk, store_id=store.pk),
        {"included": "0"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert f'id="store-{store.pk}"' in response.content.decode()
    assert f"Import {store.name}" in response.content.decode()
    store.refresh_from_db()
    assert store.included is False
    assert AuditEvent.objects.filter(organization=org_a, action="connection.store_toggled").exists()


# --- roles, isolation, secrets --------------------------------------------------------------


def test_members_see_connections_but_cannot_change_them(client, org_a, member_of_a, ss):
    connection = StoreConnectionFactory(organization=org_a)
    client.force_login(member_of_a.user)
    assert client.get(url(org_a, "list")).status_code == 200
    assert client.get(url(org_a, "detail", connection_id=connection.pk)).status_code == 200
    assert client.get(url(org_a, "add_shipstation")).status_code == 403
    assert client.post(url(org_a, "disconnect", connection_id=connection.pk)).status_code == 403
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE


def test_every_connection_url_with_another_organizations_ids_is_404(owner_client, org_a, org_b):
    reauthenticate(owner_client)
    theirs = StoreConnectionFactory(organization=org_b, name="Theirs")
    their_store = SourceStore.all_orgs.create(
        organization=org_b, connection=theirs, external_id=1, name="Their store"
    )
    mine = StoreConnectionFactory(organization=org_a, name="Mine")
    before = (stored_column(theirs.pk), theirs.updated_at, their_store.updated_at)
    body = {"api_key": "k", "api_secret": "s", "included": "0", "name": "x"}
    cid = theirs.pk
    for name in ("detail", "settings", "update_keys", "disconnect", "reconnect"):
        assert owner_client.get(url(org_a, name, connection_id=cid)).status_code == 404, name
        assert owner_client.post(url(org_a, name, connection_id=cid), body).status_code == 404
    for connection_id in (theirs.pk, mine.pk):
        toggle = url(org_a, "store_toggle", connection_id=connection_id, store_id=their_store.pk)
        assert owner_client.post(toggle, body).status_code == 404
    theirs.refresh_from_db()
    their_store.refresh_from_db()
    assert (stored_column(theirs.pk), theirs.updated_at, their_store.updated_at) == before
    assert theirs.status == ConnectionStatus.ACTIVE and their_store.included is True
    assert not AuditEvent.objects.filter(organization=org_b).exists()


def test_pages_and_admin_show_only_the_masked_hint(owner_client, org_a, ss, client):
    reauthenticate(owner_client)
    connect(owner_client, org_a)
    connection = StoreConnection.all_orgs.get(organization=org_a)
    pages = [
        owner_client.get(url(org_a, "list")),
        owner_client.get(url(org_a, "detail", connection_id=connection.pk)),
        owner_client.get(url(org_a, "update_keys", connection_id=connection.pk)),
        owner_client.get(reverse("tenancy:dashboard", kwargs={"org_slug": org_a.slug})),
    ]
    staff = MembershipFactory(organization=org_a, role=Role.OWNER, user__username="support").user
    staff.is_staff = staff.is_superuser = True
    staff.save()
    enable_totp(staff)  # staff need MFA for the admin
    client.force_login(staff)
    pages += [
        client.get(reverse("admin:connections_storeconnection_changelist")),
        client.get(reverse("admin:connections_storeconnection_change", args=[connection.pk])),
        client.get(reverse("admin:connections_sourcestore_changelist")),
    ]
    column = stored_column(connection.pk)
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        for secret in (SS_KEY, SS_SECRET, column, connection.credentials_fingerprint):
            assert secret not in html
    assert "••••d0e4" in pages[1].content.decode()
    assert "••••d0e4" in pages[5].content.decode()


def test_no_secret_in_logs_during_connect_and_failures(owner_client, org_a, ss, caplog, settings):
    caplog.set_level(logging.DEBUG)
    basic = base64.b64encode(f"{SS_KEY}:{SS_SECRET}".encode()).decode()
    connect(owner_client, org_a, secret="wrong-secret-value")
    ss.inject_faults("server_error", count=1)
    connect(owner_client, org_a)
    settings.SHIPSTATION_TIMEOUT_READ = 0.2
    ss.inject_faults("slow", count=1, delay_seconds=1)
    connect(owner_client, org_a)
    settings.SHIPSTATION_TIMEOUT_READ = 5
    connect(owner_client, org_a)
    assert StoreConnection.all_orgs.filter(organization=org_a).count() == 1
    assert caplog.records
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    for secret in (SS_KEY, SS_SECRET, "wrong-secret-value", basic):
        assert secret not in logged
