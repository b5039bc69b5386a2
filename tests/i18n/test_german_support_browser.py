"""Issue 23: the support console in a real Chromium whose browser asks for German: search an
order number, open the organization (with the reason an order is held, stored by the ledger
code and shown in German), confirm an action, then view the organization as its merchant
with the banner. A screenshot of every page and no English sentence on any of them (names,
codes and the organization's own data aside)."""

from __future__ import annotations

import pytest

from accounting.ledgers.qbo import faults as qbo_faults
from tests.accounting.factories import make_posting
from tests.browser import screenshot_dir, signed_in_browser
from tests.factories import LedgerConnectionFactory, UserFactory
from tests.i18n.test_german_browser import _assert_language
from tests.sales.support import make_connection as make_ss_connection
from tests.security.support import enable_totp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_support_console_in_german(live_server, client, org_a, owner_of_a, chromium_path):
    staff = UserFactory(username="support-de", email="support-de@unify.example", is_staff=True)
    enable_totp(staff)
    connection = make_ss_connection(org_a, name="Main ShipStation")
    # The reason QuickBooks held the posting, as the ledger code stores it (its msgid and
    # parameters; QuickBooks' own date stays as QuickBooks wrote it).
    held = qbo_faults.plain_message(
        qbo_faults.ACCOUNT_PERIOD_CLOSED, "SalesReceipt", "2026-05-31", "Account Period Closed"
    )
    posting = make_posting(
        org_a,
        status="failed",
        connection=LedgerConnectionFactory(organization=org_a),
        error=held,
    )
    number = posting.order.number
    own_data = [
        org_a.name, org_a.slug, number, f"SS-{number}", "Main ShipStation", staff.email,
        owner_of_a.user.email, "support-de", connection.credentials_hint, "SalesReceipt",
        "ShipStation", "QuickBooks Online", "QuickBooks Desktop", "QuickBooks", "Xero", "Unify",
        org_a.timezone, "English", "support.viewed", "support.changed", "support.view_as",
        "support.action", "sync_now", "pause_schedule", "organization", "orders", "postings",
    ]  # fmt: skip
    shots = screenshot_dir()

    def step(page, name: str) -> None:
        assert page.locator("html").get_attribute("lang") == "de", name
        page.screenshot(path=str(shots / f"german-support-{name}.png"), full_page=True)
        _assert_language(page, name, english_allowed=False, own_data=own_data)

    with signed_in_browser(live_server, client, staff, chromium_path, locale="de-DE") as (
        ctx,
        errors,
    ):
        page = ctx.new_page()
        page.set_viewport_size({"width": 1366, "height": 900})
        page.goto(f"{live_server.url}/support/")
        step(page, "01-search")
        page.fill("#support-q", number)
        page.locator("form[role=search] button").click()
        results = page.get_by_test_id("support-results")
        assert org_a.name in results.inner_text()
        step(page, "02-results")

        results.get_by_role("link", name=org_a.name).click()
        page.wait_for_selector("[data-testid=support-actions]")
        step(page, "03-organization")
        page.fill("#order-q", number)
        page.get_by_role("button", name="Nachschlagen").click()
        orders = page.get_by_test_id("support-orders")
        assert "Die Bücher in QuickBooks sind für das Datum" in orders.inner_text()
        assert "2026-05-31" in orders.inner_text()
        # Status codes read as words too (not "shipped", "failed").
        assert "shipped" not in orders.inner_text() and "Versandt" in orders.inner_text()
        assert "failed" not in page.get_by_test_id("support-postings").inner_text()
        step(page, "04-order-held")

        page.get_by_test_id("support-actions").get_by_role(
            "link", name="Synchronisierungszeitplan pausieren"
        ).click()
        page.wait_for_selector("[data-testid=support-confirm]")
        step(page, "05-confirm-action")
        page.get_by_test_id("support-confirm").get_by_role("button", name="Bestätigen").click()
        page.wait_for_selector("[data-testid=support-actions]")
        step(page, "06-action-done")

        page.get_by_test_id("view-as-form").locator("button").click()
        assert page.get_by_test_id("view-as-banner").is_visible()
        step(page, "07-view-as")
        assert [e for e in errors if "favicon" not in e] == []
