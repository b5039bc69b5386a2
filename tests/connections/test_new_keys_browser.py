"""In a real Chromium, as a merchant with their own ShipStation account (a second stand-in
account whose keys are typed by hand, not the suite's fixture account): connect it, its keys
expire, the Connections page says syncing is paused and links to the keys page, which names
ShipStation and shows where to find the keys after the password is asked again; new keys
are saved and the banner is gone."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from connections.models import ConnectionStatus, StoreConnection
from connections.services import connection_mark_needs_credentials
from tests.browser import CHROMIUM_ARGS
from tests.factories import MembershipFactory
from unify.tenancy.models import Role
from unify.tenancy.scoping import org_scope

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
KEY = "7b3f9c2e41d84a0f9e5c6b1a2d3e4f50"
SECRET = "c4e8a1f2b3d94e6a8f7c0b5d2e1a3f96"


def _signed_in(browser, base: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/accounts/login/")
    page.locator("#id_login").fill("ines@acme.example")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/o/acme/")
    return page


def test_expired_keys_are_replaced_from_the_banner(live_server, chromium_path, ss, org_a):
    MembershipFactory(
        organization=org_a, role=Role.OWNER, user__username="ines", user__email="ines@acme.example"
    )
    ss.add_account(KEY, SECRET, seed=41, orders=3, stores=2)
    base = live_server.url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = _signed_in(browser, base)
            page.goto(f"{base}/o/acme/connections/add/shipstation/")
            page.get_by_label("API Key").fill(KEY)
            page.get_by_label("API Secret").fill(SECRET)
            page.get_by_label("Connection name").fill("Ines warehouse")
            page.get_by_role("button", name="Connect Store").click()
            page.wait_for_url(f"{base}/o/acme/connections/*/")
        finally:
            browser.close()

    # ShipStation answers 401 from now on; the sync marks the connection so.
    ss.expire_account(KEY)
    connection = StoreConnection.all_orgs.get(organization=org_a)
    with org_scope(org_a.pk):
        connection_mark_needs_credentials(connection=connection)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = _signed_in(browser, base)
            page.goto(f"{base}/o/acme/connections/")
            banner = page.locator("main").get_by_text("Syncing is paused until you enter new keys.")
            assert banner.is_visible()
            assert "ShipStation keys can expire" in banner.inner_text()
            link = page.get_by_role("link", name="Enter new keys for Ines warehouse")
            assert link.get_attribute("href") == f"/o/acme/connections/{connection.pk}/keys/"
            link.click()
            # Changing keys asks for the password again (a signed-in session alone is not
            # enough to replace credentials).
            page.wait_for_url(f"{base}/accounts/reauthenticate/*")
            page.get_by_label("Password").fill(PASSWORD)
            page.locator("main").get_by_role("button", name="Confirm").click()
            page.wait_for_url(f"{base}/o/acme/connections/{connection.pk}/keys/")
            text = page.locator("main").inner_text()
            assert "Unify checks them with ShipStation before saving" in text
            assert "In ShipStation, open Settings > Account > API Settings." in text

            ss.expire_account(KEY, expired=False)  # the merchant's renewed pair
            page.get_by_label("API Key").fill(KEY)
            page.get_by_label("API Secret").fill(SECRET)
            page.get_by_role("button", name="Save new keys").click()
            page.wait_for_url(f"{base}/o/acme/connections/{connection.pk}/")
            page.goto(f"{base}/o/acme/connections/")
            assert page.locator("main").get_by_text("Syncing is paused").count() == 0
        finally:
            browser.close()
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE
