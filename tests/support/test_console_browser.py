"""The support console in a real Chromium (screenshots for review): search an order number,
open the organization, see why the order did not post, then view the organization as its
merchant with the banner on the page."""

from __future__ import annotations

import pytest

from tests.accounting.factories import make_posting
from tests.browser import screenshot_dir, signed_in_browser
from tests.factories import LedgerConnectionFactory, UserFactory
from tests.sales.support import make_connection as make_ss_connection
from tests.security.support import enable_totp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_support_console_finds_an_order_and_views_as_merchant(
    live_server, client, org_a, owner_of_a, chromium_path
):
    staff = UserFactory(username="support-b", email="support-b@unify.example", is_staff=True)
    enable_totp(staff)
    make_ss_connection(org_a, name="Main ShipStation")
    posting = make_posting(
        org_a, status="failed", connection=LedgerConnectionFactory(organization=org_a)
    )
    number = posting.order.number
    shots = screenshot_dir()
    with signed_in_browser(live_server, client, staff, chromium_path) as (ctx, errors):
        page = ctx.new_page()
        page.set_viewport_size({"width": 1366, "height": 900})
        page.goto(f"{live_server.url}/support/")
        page.fill("#support-q", number)
        page.locator("form[role=search] button").click()
        results = page.get_by_test_id("support-results")
        assert org_a.name in results.inner_text()
        results.get_by_role("link", name=org_a.name).click()
        orders = page.get_by_test_id("support-orders")
        assert "QuickBooks refused it." in orders.inner_text()
        page.screenshot(path=str(shots / "support-console-organization.png"), full_page=True)
        page.get_by_test_id("view-as-form").locator("button").click()
        assert page.get_by_test_id("view-as-banner").is_visible()
        page.screenshot(path=str(shots / "support-console-view-as.png"), full_page=True)
        assert [e for e in errors if "favicon" not in e] == []
