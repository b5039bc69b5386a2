"""The bell in a real Chromium: the unread count in the header, the notification opened from
the list, its button leading to the page that fixes it, and the count gone afterwards."""

from __future__ import annotations

import pytest

from tests.browser import screenshot_dir, signed_in_browser
from tests.factories import LedgerConnectionFactory
from unify.notifications import events

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_bell_shows_the_count_and_opens_the_notification(
    live_server, client, org_a, owner_of_a, chromium_path
):
    events.ledger_disconnected(LedgerConnectionFactory(organization=org_a))
    shots = screenshot_dir()
    with signed_in_browser(live_server, client, owner_of_a.user, chromium_path) as (ctx, errors):
        page = ctx.new_page()
        page.goto(f"{live_server.url}/o/{org_a.slug}/")
        assert page.get_by_test_id("notification-count").inner_text() == "1"
        page.get_by_test_id("notification-bell").click()
        page.wait_for_url(f"**/o/{org_a.slug}/notifications/")
        assert page.get_by_test_id("notification").count() == 1
        page.screenshot(path=str(shots / "notifications-list.png"), full_page=True)
        page.get_by_role("link", name="Reconnect QuickBooks Online").click()
        assert page.get_by_test_id("notification-title").inner_text() == (
            "Reconnect QuickBooks Online"
        )
        page.get_by_role("button", name="Reconnect").click()
        page.wait_for_url(f"**/o/{org_a.slug}/accounting/")
        assert page.get_by_test_id("notification-count").count() == 0
        assert errors == []
