"""The connection pages by role and organization, and the keys kept out of pages, the admin
and the logs."""

from __future__ import annotations

import base64
import logging

import pytest
from django.urls import reverse

from connections.models import ConnectionStatus, SourceStore, StoreConnection
from tests.connections.conftest import SS_KEY, SS_SECRET
from tests.connections.test_connect_flow import connect, stored_column, url
from tests.factories import MembershipFactory, StoreConnectionFactory
from tests.security.support import enable_totp, reauthenticate
from unify.core.models import AuditEvent
from unify.tenancy.models import Role

pytestmark = pytest.mark.django_db


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
