"""The authorize page in a real browser: the button a merchant clicks."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from intuitlib.enums import Scopes
from playwright.sync_api import sync_playwright

from sandbox.qbo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

pytestmark = pytest.mark.browser

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _auth(qbo, redirect_uri):
    from intuitlib.client import AuthClient

    return AuthClient(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, redirect_uri, qbo.discovery_url)


@pytest.mark.parametrize("button", ["#connect", "#cancel"])
def test_clicking_connect_or_cancel_returns_to_the_app(qbo, chromium_path, button):
    second = qbo.create_company("Second Books")
    # The stand-in's own info page plays the app's callback URL.
    redirect_uri = f"{qbo.base_url}/__sandbox__/"
    auth = _auth(qbo, redirect_uri)
    url = auth.get_authorization_url([Scopes.ACCOUNTING], state_token="browser-state")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=LAUNCH_ARGS)
        try:
            page = browser.new_page()
            page.goto(url)
            assert page.title() == "Connect to QuickBooks"
            page.select_option("#realmId", second)
            page.click(button)
            page.wait_for_url(f"{redirect_uri}?*")
            landed = page.url
        finally:
            browser.close()
    query = parse_qs(urlsplit(landed).query)
    assert query["state"] == ["browser-state"]
    if button == "#cancel":
        assert query["error"] == ["access_denied"]
        assert "code" not in query
        return
    assert query["realmId"] == [second]
    auth.get_bearer_token(query["code"][0], realm_id=query["realmId"][0])
    assert auth.realm_id == second
    assert qbo.oauth.summary()["grants"][0]["realm_id"] == second
