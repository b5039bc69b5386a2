"""Add Store > ShipStation > Connect Store, update keys, disconnect, reconnect and sync
settings, through Django's test client and the ShipStation stand-in over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection as db
from django.urls import reverse
from django.utils import timezone

from connections import selectors, services
from connections.models import ConnectionMode, ConnectionStatus, SourceStore, StoreConnection
from connections.sources.shipstation.adapter import ShipStationAdapter
from connections.sources.shipstation.client import api_key_fingerprint
from tests.connections.conftest import OTHER_KEY, OTHER_SECRET, SS_KEY, SS_SECRET
from tests.factories import StoreConnectionFactory
from unify.core.models import AuditEvent
from unify.core.secrets import mask_hint
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
