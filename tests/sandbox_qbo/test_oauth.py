"""Intuit OAuth 2.0 as intuit-oauth sees it: discovery, authorize, code exchange, rotation,
revoke, and what the API answers to bad tokens."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from quickbooks.exceptions import AuthorizationException
from quickbooks.objects import CompanyInfo

from sandbox.qbo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

from .conftest import REDIRECT_URI, auth_client, quickbooks_class


def _approve(qbo, url: str, decision: str = "approve") -> dict[str, list[str]]:
    page = requests.get(url, timeout=5)
    assert page.status_code == 200
    assert 'value="approve"' in page.text and 'value="deny"' in page.text
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    form = {**params, "realmId": qbo.realm_id, "decision": decision}
    answer = requests.post(
        f"{qbo.base_url}/connect/oauth2", data=form, allow_redirects=False, timeout=5
    )
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    return parse_qs(urlsplit(location).query)


def _connect(qbo):
    auth = auth_client(qbo)
    url = auth.get_authorization_url([Scopes.ACCOUNTING], state_token="state-123")
    callback = _approve(qbo, url)
    auth.get_bearer_token(callback["code"][0], realm_id=callback["realmId"][0])
    return auth, callback


def test_discovery_document_lists_the_stand_in_endpoints(qbo):
    doc = requests.get(qbo.discovery_url, timeout=5).json()
    assert doc["authorization_endpoint"] == f"{qbo.base_url}/connect/oauth2"
    assert doc["token_endpoint"] == f"{qbo.base_url}/oauth2/v1/tokens/bearer"
    assert doc["revocation_endpoint"] == f"{qbo.base_url}/v2/oauth2/tokens/revoke"
    assert doc["userinfo_endpoint"] == f"{qbo.base_url}/v1/openid_connect/userinfo"
    assert doc["jwks_uri"] == f"{qbo.base_url}/op/v1/jwks"
    assert doc["issuer"] == f"{qbo.base_url}/op/v1"
    auth = auth_client(qbo)
    assert auth.token_endpoint == doc["token_endpoint"]
    assert auth.revoke_endpoint == doc["revocation_endpoint"]


def test_discovery_document_follows_the_public_base_url(qbo):
    qbo.set_public_base_url("http://qbo.test:8766")
    doc = requests.get(qbo.discovery_url, timeout=5).json()
    assert doc["authorization_endpoint"] == "http://qbo.test:8766/connect/oauth2"


def test_code_exchange_through_the_authorize_page(qbo):
    auth, callback = _connect(qbo)
    assert callback["state"] == ["state-123"]
    assert callback["realmId"] == [qbo.realm_id]
    assert auth.realm_id == qbo.realm_id
    assert auth.expires_in == 3600
    assert 8_726_000 < auth.x_refresh_token_expires_in <= 8_726_400
    assert auth.refresh_token.startswith("AB11")
    qb = quickbooks_class(qbo)(
        auth_client=auth,
        refresh_token=auth.refresh_token,
        company_id=auth.realm_id,
        minorversion=75,
    )
    assert CompanyInfo.get(qbo.realm_id, qb=qb).CompanyName == "Sandbox Company_US_1"


def test_cancel_redirects_with_access_denied_and_no_code(qbo):
    url = auth_client(qbo).get_authorization_url([Scopes.ACCOUNTING], state_token="s-9")
    callback = _approve(qbo, url, decision="deny")
    assert callback == {"error": ["access_denied"], "state": ["s-9"]}
    assert qbo.oauth.codes == {}


def test_auto_approve_redirects_straight_back(qbo):
    other = qbo.create_company("Second Books")
    qbo.set_auto_approve(True, realm_id=other)
    url = auth_client(qbo).get_authorization_url([Scopes.ACCOUNTING], state_token="s-1")
    answer = requests.get(url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["realmId"] == [other]
    assert query["state"] == ["s-1"]
    assert len(query["code"][0]) > 20


def test_unknown_client_or_unregistered_redirect_uri_gets_an_error_page(qbo):
    bad = requests.get(
        f"{qbo.base_url}/connect/oauth2",
        params={
            "client_id": "nobody",
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting",
            "state": "x",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert bad.status_code == 400
    qbo.register_client("registered", "s3cret", ["https://app.example/cb"])
    mismatch = requests.get(
        f"{qbo.base_url}/connect/oauth2",
        params={
            "client_id": "registered",
            "redirect_uri": "https://evil.example/cb",
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert mismatch.status_code == 400
    assert "redirect_uri" in mismatch.text


def test_a_code_works_once(qbo):
    auth = auth_client(qbo)
    callback = _approve(qbo, auth.get_authorization_url([Scopes.ACCOUNTING], state_token="s"))
    code = callback["code"][0]
    auth.get_bearer_token(code, realm_id=qbo.realm_id)
    first_access = auth.access_token
    with pytest.raises(AuthClientError) as excinfo:
        auth_client(qbo).get_bearer_token(code, realm_id=qbo.realm_id)
    assert excinfo.value.status_code == 400
    assert excinfo.value.content == b'{"error":"invalid_grant"}'
    # A replayed code also ends the grant it produced (RFC 6749 10.5).
    answer = requests.get(
        f"{qbo.api_base_url}/company/{qbo.realm_id}/companyinfo/{qbo.realm_id}",
        headers={"Authorization": f"Bearer {first_access}", "Accept": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 401


def test_wrong_client_secret_is_invalid_client(qbo):
    callback = _approve(
        qbo, auth_client(qbo).get_authorization_url([Scopes.ACCOUNTING], state_token="s")
    )
    from intuitlib.client import AuthClient

    wrong = AuthClient(DEMO_CLIENT_ID, "not-the-secret", REDIRECT_URI, qbo.discovery_url)
    with pytest.raises(AuthClientError) as excinfo:
        wrong.get_bearer_token(callback["code"][0])
    assert excinfo.value.status_code == 401
    assert excinfo.value.content == b'{"error":"invalid_client"}'


def test_refresh_rotates_and_the_old_refresh_token_is_invalid_grant(qbo):
    auth, _ = _connect(qbo)
    first_refresh, first_access = auth.refresh_token, auth.access_token
    auth.refresh()
    assert auth.refresh_token != first_refresh
    assert auth.access_token != first_access
    with pytest.raises(AuthClientError) as excinfo:
        auth_client(qbo).refresh(refresh_token=first_refresh)
    assert excinfo.value.status_code == 400
    assert excinfo.value.content == b'{"error":"invalid_grant"}'
    # The newest one still works, and rotates again.
    second = auth.refresh_token
    auth.refresh()
    assert auth.refresh_token not in (first_refresh, second)
    assert qbo.oauth.summary()["grants"][0]["refresh_count"] == 2


def test_refresh_replaces_the_access_token(qbo, tokens):
    old_access = tokens["access_token"]
    auth = auth_client(qbo, refresh_token=tokens["refresh_token"])
    auth.refresh()
    headers = {"Accept": "application/json"}
    url = f"{qbo.api_base_url}/company/{qbo.realm_id}/companyinfo/{qbo.realm_id}"
    old = requests.get(url, headers={**headers, "Authorization": f"Bearer {old_access}"}, timeout=5)
    new = requests.get(
        url, headers={**headers, "Authorization": f"Bearer {auth.access_token}"}, timeout=5
    )
    assert (old.status_code, new.status_code) == (401, 200)


def test_grace_lets_the_previous_refresh_token_work_briefly(qbo, tokens):
    qbo.set_refresh_grace(60)
    original = tokens["refresh_token"]
    first = auth_client(qbo, refresh_token=original)
    first.refresh()
    # A second worker that still holds the previous token succeeds within the grace...
    second = auth_client(qbo, refresh_token=original)
    second.refresh()
    assert second.refresh_token != first.refresh_token
    # ...and the token that rotation made stale twice over is refused.
    with pytest.raises(AuthClientError):
        auth_client(qbo).refresh(refresh_token=first.refresh_token)


def test_expired_refresh_token_is_invalid_grant(qbo, tokens):
    assert qbo.expire_refresh_tokens() == 1
    with pytest.raises(AuthClientError) as excinfo:
        auth_client(qbo).refresh(refresh_token=tokens["refresh_token"])
    assert excinfo.value.content == b'{"error":"invalid_grant"}'


def test_revoke_ends_refresh_and_access(qbo, qb, tokens):
    auth = auth_client(qbo)
    assert auth.revoke(token=tokens["refresh_token"]) is True
    with pytest.raises(AuthorizationException) as excinfo:
        CompanyInfo.get(qbo.realm_id, qb=qb)
    assert excinfo.value.error_code == 401
    with pytest.raises(AuthClientError) as refused:
        auth_client(qbo).refresh(refresh_token=tokens["refresh_token"])
    assert refused.value.content == b'{"error":"invalid_grant"}'
    # Revoking an unknown token is not an error (RFC 7009).
    assert auth.revoke(token="AB11unknown") is True


def test_expired_access_token_gets_intuits_401_body(qbo, qb):
    assert CompanyInfo.get(qbo.realm_id, qb=qb).CompanyName == "Sandbox Company_US_1"
    assert qbo.expire_access_tokens(qbo.realm_id) == 1
    with pytest.raises(AuthorizationException) as excinfo:
        CompanyInfo.get(qbo.realm_id, qb=qb)
    assert excinfo.value.error_code == 401
    body = requests.get(
        f"{qbo.api_base_url}/company/{qbo.realm_id}/companyinfo/{qbo.realm_id}",
        headers={"Authorization": f"Bearer {qb.session.access_token}"},
        timeout=5,
    ).json()
    error = body["fault"]["error"][0]
    assert body["fault"]["type"] == "AUTHENTICATION"
    assert error["code"] == "3200"
    assert error["message"] == "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    assert error["detail"].startswith("Token expired")


@pytest.mark.parametrize(
    "header",
    [None, "Bearer short", "Bearer " + "x" * 60, "Basic Zm9vOmJhcg=="],
    ids=["missing", "malformed", "unknown", "basic"],
)
def test_bad_tokens_get_401_and_write_nothing(qbo, header):
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if header:
        headers["Authorization"] = header
    before = qbo.count("Customer")
    answer = requests.post(
        f"{qbo.api_base_url}/company/{qbo.realm_id}/customer",
        data='{"DisplayName": "Nobody"}',
        headers=headers,
        timeout=5,
    )
    assert answer.status_code == 401
    assert answer.json()["fault"]["error"][0]["code"] == "3200"
    assert qbo.count("Customer") == before
    assert qbo.stats()["unauthorized"] == 1


def test_token_of_one_realm_does_not_open_another(qbo):
    other = qbo.create_company("Other Books")
    tokens = qbo.issue_tokens(other)
    answer = requests.get(
        f"{qbo.api_base_url}/company/{qbo.realm_id}/companyinfo/{qbo.realm_id}",
        headers={"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 403
    assert answer.json()["fault"]["error"][0]["code"] == "3100"


def test_userinfo_needs_a_bearer_token(qbo, tokens):
    auth = auth_client(qbo, access_token=tokens["access_token"])
    info = auth.get_user_info().json()
    assert info["email"] == "sandbox.user@example.com"
    with pytest.raises(AuthClientError):
        auth_client(qbo).get_user_info(access_token="x" * 40)


def test_token_endpoint_errors(qbo):
    url = f"{qbo.base_url}/oauth2/v1/tokens/bearer"
    auth = (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    unsupported = requests.post(url, data={"grant_type": "password"}, auth=auth, timeout=5)
    assert (unsupported.status_code, unsupported.json()) == (
        400,
        {"error": "unsupported_grant_type"},
    )
    missing = requests.post(url, data={"grant_type": "refresh_token"}, auth=auth, timeout=5)
    assert missing.json()["error"] == "invalid_request"
    no_auth = requests.post(
        url, data={"grant_type": "refresh_token", "refresh_token": "x"}, timeout=5
    )
    assert (no_auth.status_code, no_auth.json()) == (401, {"error": "invalid_client"})
