"""Helpers for the QBO stand-in tests. The ``qbo`` fixture itself comes from
``sandbox.pytest_plugin`` (loaded by ``tests/conftest.py``)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from intuitlib.client import AuthClient
from quickbooks import QuickBooks

from sandbox.qbo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, QboSandbox

REDIRECT_URI = "http://127.0.0.1:9/qbo/callback"


def quickbooks_class(qbo: QboSandbox) -> type[QuickBooks]:
    """The small subclass the design asks for: base URLs from configuration."""

    class StandInQuickBooks(QuickBooks):
        api_url_v3 = qbo.api_base_url
        sandbox_api_url_v3 = qbo.api_base_url

    return StandInQuickBooks


def auth_client(qbo: QboSandbox, **kwargs: Any) -> AuthClient:
    return AuthClient(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, REDIRECT_URI, qbo.discovery_url, **kwargs)


@pytest.fixture
def tokens(qbo: QboSandbox) -> dict[str, Any]:
    return qbo.issue_tokens()


@pytest.fixture
def qb(qbo: QboSandbox, tokens: dict[str, Any]) -> QuickBooks:
    """python-quickbooks pointed at the stand-in, with a live access token (no refresh)."""
    auth = auth_client(
        qbo,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        realm_id=qbo.realm_id,
    )
    return quickbooks_class(qbo)(
        auth_client=auth,
        refresh_token=tokens["refresh_token"],
        company_id=qbo.realm_id,
        minorversion=75,
    )


@pytest.fixture
def api(qbo: QboSandbox, tokens: dict[str, Any]) -> requests.Session:
    """Plain requests with the bearer token; ``api.url(path)`` builds company URLs."""
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
    )
    base = f"{qbo.api_base_url}/company/{qbo.realm_id}"
    session.url = lambda path: f"{base}/{path.lstrip('/')}"  # type: ignore[attr-defined]
    return session
