"""Xero's identity service and /connections as an app sees them, over HTTP (xero-python for
the API calls): consent, both grants, rotation, revocation, tenants, scopes."""

from __future__ import annotations

import pytest
import requests
from xero_python.exceptions import HTTPStatusException

from sandbox.xero import (
    DEFAULT_SCOPE,
    DEFAULT_TENANT_ID,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    SECOND_TENANT_ID,
)

from .conftest import REDIRECT_URI, accounting, authorize_url, consent, identity, token_request


def test_consent_page_lists_the_organisations_and_scopes(xero):
    page = requests.get(authorize_url(xero), timeout=5)
    assert page.status_code == 200
    assert "Demo Company (US)" in page.text and "Bolt Bikes Ltd" in page.text
    assert "accounting.invoices" in page.text and 'value="allow"' in page.text


def test_code_exchange_gives_rotating_tokens_and_both_connections(xero):
    callback = consent(xero, authorize_url(xero), tenants=[DEFAULT_TENANT_ID, SECOND_TENANT_ID])
    assert callback["state"] == "st-1" and callback["scope"] == DEFAULT_SCOPE
    answer = token_request(
        xero,
        {
            "grant_type": "authorization_code",
            "code": callback["code"],
            "redirect_uri": REDIRECT_URI,
        },
    )
    assert answer.status_code == 200
    tokens = answer.json()
    assert set(tokens) == {
        "id_token", "access_token", "expires_in", "token_type", "refresh_token", "scope",
    }  # fmt: skip
    assert (tokens["expires_in"], tokens["token_type"]) == (1800, "Bearer")
    connections = identity(xero, tokens).get_connections()
    assert sorted((c.tenant_id, c.tenant_name, c.tenant_type) for c in connections) == [
        (DEFAULT_TENANT_ID, "Demo Company (US)", "ORGANISATION"),
        (SECOND_TENANT_ID, "Bolt Bikes Ltd", "ORGANISATION"),
    ]
    # The code is single use: a second exchange is refused, and ends what the first made.
    again = token_request(
        xero,
        {
            "grant_type": "authorization_code",
            "code": callback["code"],
            "redirect_uri": REDIRECT_URI,
        },
    )
    assert (again.status_code, again.json()) == (400, {"error": "invalid_grant"})
    with pytest.raises(HTTPStatusException) as refused:
        accounting(xero, tokens).get_organisations(DEFAULT_TENANT_ID)
    assert refused.value.status == 401


def test_refresh_rotates_and_the_old_refresh_token_is_dead(xero):
    tokens = xero.issue_tokens()
    first = token_request(
        xero, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, basic=False
    )
    assert first.status_code == 200
    rotated = first.json()["refresh_token"]
    assert rotated != tokens["refresh_token"]
    old = token_request(
        xero, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert (old.status_code, old.json()) == (400, {"error": "invalid_grant"})
    # The new access token works, the one before the refresh does not.
    assert accounting(xero, first.json()).get_organisations(DEFAULT_TENANT_ID).organisations
    with pytest.raises(HTTPStatusException) as stale:
        accounting(xero, tokens).get_organisations(DEFAULT_TENANT_ID)
    assert stale.value.status == 401


def test_denied_consent_redirects_with_access_denied(xero):
    callback = consent(xero, authorize_url(xero), tenants=[], decision="deny")
    assert callback == {"error": "access_denied", "state": "st-1"}


def test_without_offline_access_there_is_no_refresh_token(xero):
    tokens = xero.issue_tokens(scope="openid accounting.settings")
    assert "refresh_token" not in tokens


def test_expired_token_is_a_401_problem_with_token_expired(xero, tokens):
    xero.expire_access_tokens()
    with pytest.raises(HTTPStatusException) as refused:
        accounting(xero, tokens).get_organisations(DEFAULT_TENANT_ID)
    body = refused.value.body.decode()
    assert refused.value.status == 401
    assert '"Title":"Unauthorized"' in body and '"Detail":"TokenExpired: token expired at' in body


def test_a_tenant_the_token_does_not_reach_is_forbidden(xero, tokens):
    with pytest.raises(HTTPStatusException) as refused:
        accounting(xero, tokens).get_organisations(SECOND_TENANT_ID)
    assert refused.value.status == 403
    assert b'"Title":"Forbidden","Status":403,"Detail":"AuthenticationUnsuccessful"' in (
        refused.value.body
    )


def test_a_scope_not_granted_is_refused(xero):
    tokens = xero.issue_tokens(scope="openid offline_access accounting.settings")
    api = accounting(xero, tokens)
    assert api.get_accounts(DEFAULT_TENANT_ID).accounts
    with pytest.raises(HTTPStatusException) as refused:
        api.get_invoices(DEFAULT_TENANT_ID, page=1)
    assert refused.value.status == 401 and b"AuthorizationUnsuccessful" in refused.value.body


def test_deleting_the_connection_forbids_its_tenant_and_revocation_ends_all(xero):
    tokens = xero.issue_tokens([DEFAULT_TENANT_ID, SECOND_TENANT_ID])
    ident = identity(xero, tokens)
    [first] = [c for c in ident.get_connections() if c.tenant_id == DEFAULT_TENANT_ID]
    ident.delete_connection(str(first.id))
    assert [c.tenant_id for c in ident.get_connections()] == [SECOND_TENANT_ID]
    api = accounting(xero, tokens)
    with pytest.raises(HTTPStatusException) as refused:
        api.get_organisations(DEFAULT_TENANT_ID)
    assert refused.value.status == 403
    assert api.get_organisations(SECOND_TENANT_ID).organisations[0].name == "Bolt Bikes Ltd"
    answer = token_request(xero, {"token": tokens["refresh_token"]})  # wrong endpoint: no grant
    assert answer.status_code == 400
    revoked = requests.post(
        xero.revocation_url,
        data={"token": tokens["refresh_token"]},
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        timeout=5,
    )
    assert revoked.status_code == 200
    with pytest.raises(HTTPStatusException) as ended:
        api.get_organisations(SECOND_TENANT_ID)
    assert ended.value.status == 401
    assert xero.identity.summary()["connections"] == []


def test_wrong_client_secret_is_invalid_client(xero):
    tokens = xero.issue_tokens()
    answer = requests.post(
        xero.token_url,
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(DEMO_CLIENT_ID, "wrong"),
        timeout=5,
    )
    assert (answer.status_code, answer.json()) == (400, {"error": "invalid_client"})
