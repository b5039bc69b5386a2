"""Deleting the organization, disconnecting (store or ledger) and new API keys ask for the
password again (or an MFA code): a stolen session cookie alone cannot do them."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from allauth.account.internal.flows.reauthentication import STATE_SESSION_KEY

from accounting.models import LedgerConnection, LedgerStatus
from connections.models import ConnectionStatus, StoreConnection
from tests.factories import StoreConnectionFactory
from tests.security.support import enable_totp, reauthenticate, totp_code
from unify.tenancy.models import Organization

pytestmark = pytest.mark.django_db

NEW_KEYS = {"api_key": "new-key-never-stashed-1", "api_secret": "new-secret-never-stashed-2"}


@pytest.fixture
def connection(org_a):
    return StoreConnectionFactory(organization=org_a, name="Main store")


@pytest.fixture
def ledger(org_a):
    return LedgerConnection.all_orgs.create(
        organization=org_a,
        provider="qbo",
        company_id="9130",
        status=LedgerStatus.ACTIVE,
        tokens={"access_token": "a", "refresh_token": "r"},
    )


def _to_reauthenticate(next_url: str) -> str:
    return f"/accounts/reauthenticate/?next={quote(next_url, safe='')}"


def _state(connection, ledger):
    connection = StoreConnection.all_orgs.get(pk=connection.pk)
    return (
        Organization.objects.filter(slug="acme").exists(),
        connection.status,
        connection.credentials.reveal()["api_key"],
        LedgerConnection.all_orgs.get(pk=ledger.pk).status,
    )


def test_each_sensitive_action_asks_for_the_password_first(owner_client, org_a, connection, ledger):
    before = _state(connection, ledger)
    base = f"/o/{org_a.slug}"
    keys = f"{base}/connections/{connection.pk}/keys/"
    disconnect = f"{base}/connections/{connection.pk}/disconnect/"
    attempts = [
        (f"{base}/settings/delete/", {"confirm_slug": "acme"}, f"{base}/settings/"),
        (keys, NEW_KEYS, keys),
        (disconnect, {}, disconnect),
        (f"{base}/accounting/ledgers/{ledger.pk}/disconnect/", {}, f"{base}/accounting/"),
    ]
    for url, data, back in attempts:
        response = owner_client.post(url, data)
        assert (url, response.status_code, response["Location"]) == (
            url,
            302,
            _to_reauthenticate(back),
        )
    # Nothing happened, and the posted keys were not kept in the session for a replay.
    assert _state(connection, ledger) == before
    assert STATE_SESSION_KEY not in owner_client.session
    assert NEW_KEYS["api_secret"] not in str(dict(owner_client.session))
    # The pages themselves ask first too.
    assert owner_client.get(keys)["Location"] == _to_reauthenticate(keys)

    # A wrong password is no confirmation.
    wrong = owner_client.post("/accounts/reauthenticate/", {"password": "not-it"})
    assert wrong.status_code == 200
    assert owner_client.post(disconnect)["Location"] == _to_reauthenticate(disconnect)
    assert _state(connection, ledger) == before

    reauthenticate(owner_client)
    assert owner_client.post(disconnect).status_code == 302
    assert (
        owner_client.post(f"{base}/accounting/ledgers/{ledger.pk}/disconnect/").status_code == 302
    )
    response = owner_client.post(f"{base}/settings/delete/", {"confirm_slug": "acme"})
    assert (response.status_code, response["Location"]) == (302, "/")
    assert not Organization.objects.filter(slug="acme").exists()


def test_with_mfa_an_authenticator_code_confirms_too(client, owner_of_a, org_a, connection):
    secret = enable_totp(owner_of_a.user)
    client.force_login(owner_of_a.user)
    disconnect = f"/o/{org_a.slug}/connections/{connection.pk}/disconnect/"
    assert client.post(disconnect)["Location"] == _to_reauthenticate(disconnect)

    response = client.post("/accounts/2fa/reauthenticate/", {"code": totp_code(secret)})
    assert response.status_code == 302
    assert client.post(disconnect).status_code == 302
    assert StoreConnection.all_orgs.get(pk=connection.pk).status == ConnectionStatus.DISABLED


def test_a_member_is_refused_before_being_asked(client, member_of_a, org_a, connection):
    client.force_login(member_of_a.user)
    response = client.post(f"/o/{org_a.slug}/connections/{connection.pk}/disconnect/")
    assert response.status_code == 403
