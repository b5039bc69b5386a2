"""A ShipStation connection's keys: update keys, disconnect and reconnect, through Django's
test client and the ShipStation stand-in over HTTP."""

from __future__ import annotations

import pytest

from connections import selectors, services
from connections.models import ConnectionStatus, SourceStore, StoreConnection
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
from tests.connections.test_connect_flow import REJECTED, connect, stored_column, url
from tests.security.support import reauthenticate
from unify.core.models import AuditEvent
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db


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
