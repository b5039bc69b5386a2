"""In a real Chromium against a live server and the ShipStation stand-in: sign in,
Connections > Add Store > ShipStation > Continue > enter keys > Connect Store, and the
wrong-keys path. Runs under the real CSP (no inline script may be needed)."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from connections.models import StoreConnection
from tests.connections.conftest import SS_KEY, SS_SECRET
from tests.factories import MembershipFactory
from unify.tenancy.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct-horse-battery"


def test_connect_shipstation_in_the_browser(live_server, chromium_path, ss, org_a):
    MembershipFactory(
        organization=org_a, role=Role.OWNER, user__username="dana", user__email="dana@acme.example"
    )
    store_names = [s["storeName"] for s in ss.account_meta(SS_KEY)["stores"]]
    base = live_server.url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            console: list[str] = []
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))

            page.goto(f"{base}/accounts/login/")
            page.locator("#id_login").fill("dana@acme.example")
            page.locator("#id_password").fill(PASSWORD)
            page.locator("main").get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/o/acme/")

            page.get_by_role("link", name="Connections", exact=True).click()
            page.wait_for_url(f"{base}/o/acme/connections/")
            page.locator("main").get_by_role("link", name="Add Store").first.click()
            page.wait_for_url(f"{base}/o/acme/connections/add/")
            page.get_by_label("ShipStation").check()
            page.get_by_role("button", name="Continue").click()
            page.wait_for_url(f"{base}/o/acme/connections/add/shipstation/")

            # Wrong pair first: the error is shown, nothing is saved, the secret is not echoed.
            page.get_by_label("API Key").fill(SS_KEY)
            page.get_by_label("API Secret").fill("not-the-secret")
            page.get_by_label("Connection name").fill("Main warehouse")
            page.get_by_role("button", name="Connect Store").click()
            page.wait_for_load_state()
            alert = page.locator("#connect-errors")
            assert "ShipStation rejected this API key and secret" in alert.inner_text()
            assert page.get_by_label("API Secret").input_value() == ""

            # The right pair: the connection page lists the account's stores.
            page.get_by_label("API Key").fill(SS_KEY)
            page.get_by_label("API Secret").fill(SS_SECRET)
            page.get_by_role("button", name="Show").click()
            assert page.get_by_label("API Secret").get_attribute("type") == "text"
            page.get_by_role("button", name="Connect Store").click()
            page.wait_for_url(f"{base}/o/acme/connections/*/")
            assert page.get_by_role("heading", name="Main warehouse").is_visible()
            stores = page.locator("#stores").inner_text()
            for name in store_names:
                assert name in stores
            assert page.get_by_test_id("key-hint").inner_text() == "••••d0e4"
            assert SS_SECRET not in page.content() and SS_KEY not in page.content()

            violations = [line for line in console if "Content Security Policy" in line]
            assert violations == []
        finally:
            browser.close()
    connection = StoreConnection.all_orgs.get(organization=org_a)
    assert connection.name == "Main warehouse"
    assert connection.stores.count() == len(store_names)
