"""Helpers for the Xero stand-in tests: xero-python pointed at the stand-in. The ``xero``
fixture itself comes from ``sandbox.pytest_plugin`` (loaded by ``tests/conftest.py``)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.identity import IdentityApi

from sandbox.xero import DEFAULT_SCOPE, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, XeroSandbox

REDIRECT_URI = "http://127.0.0.1:9/xero/callback"


def api_client(tokens: dict[str, Any]) -> ApiClient:
    """A client of its own: a fresh OAuth2Token on the copy ``Configuration()`` returns, and
    a getter/saver over this one token set (never the shared default)."""
    store = {
        "access_token": tokens["access_token"],
        "refresh_token": tokens.get("refresh_token"),
        "scope": str(tokens.get("scope", "")).split(),
        "expires_in": tokens.get("expires_in", 1800),
        "token_type": "Bearer",
        "expires_at": time.time() + int(tokens.get("expires_in", 1800)),
    }
    config = Configuration()
    config.oauth2_token = OAuth2Token(client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET)
    client = ApiClient(config, oauth2_token_getter=lambda: store, oauth2_token_saver=store.update)
    # xero-python sends through urllib3's default Retry(3), which sleeps Retry-After and
    # retries a 429 inside the call: these tests look at each answer as Xero gives it.
    client.rest_client.pool_manager.connection_pool_kw["retries"] = False
    return client


def accounting(xero: XeroSandbox, tokens: dict[str, Any]) -> AccountingApi:
    return AccountingApi(api_client(tokens), base_url=xero.api_base_url)


def identity(xero: XeroSandbox, tokens: dict[str, Any]) -> IdentityApi:
    return IdentityApi(api_client(tokens), base_url=xero.identity_base_url)


def authorize_url(xero: XeroSandbox, scope: str = DEFAULT_SCOPE, state: str = "st-1") -> str:
    query = {
        "response_type": "code",
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": state,
    }
    return f"{xero.authorize_url}?{urlencode(query)}"


def consent(xero: XeroSandbox, url: str, *, tenants, decision: str = "allow", user: str = ""):
    """What the browser does on the consent page; returns the callback's query."""
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    form = {**params, "decision": decision, "tenant": list(tenants)}
    if user:
        form["user"] = user
    answer = requests.post(
        f"{xero.base_url}/identity/connect/authorize", data=form, allow_redirects=False, timeout=5
    )
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def token_request(xero: XeroSandbox, data: dict[str, str], *, basic: bool = True):
    if basic:
        return requests.post(
            xero.token_url, data=data, auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET), timeout=5
        )
    body = {**data, "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}
    return requests.post(xero.token_url, data=body, timeout=5)


@pytest.fixture
def tokens(xero: XeroSandbox) -> dict[str, Any]:
    return xero.issue_tokens()


@pytest.fixture
def api(xero: XeroSandbox, tokens: dict[str, Any]) -> AccountingApi:
    return accounting(xero, tokens)
