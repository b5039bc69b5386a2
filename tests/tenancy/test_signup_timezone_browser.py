"""Sign-up in a real browser: the time-zone select starts at the browser's own zone (from a
static script, no inline one), also when the browser reports an old name of it, and a
choice the person makes is what the new organization gets."""

from __future__ import annotations

import pytest

from tests.browser import CHROMIUM_ARGS, screenshot_dir
from unify.tenancy.models import Organization

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("browser_zone", "preselected"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        # Chromium reports "Asia/Calcutta" here; the option of Asia/Kolkata lists that name.
        ("Asia/Kolkata", "Asia/Kolkata"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
    ],
)
def test_signup_starts_at_the_browsers_time_zone(
    live_server, chromium_path, browser_zone, preselected
):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(timezone_id=browser_zone)
            page = context.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.on(
                "console",
                lambda m: (
                    problems.append(m.text)
                    if m.type == "error" and "favicon" not in m.location.get("url", "")
                    else None
                ),
            )
            page.goto(f"{live_server.url}/accounts/signup/")
            reported = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
            zone = page.get_by_label("Time zone")
            expect(zone).to_have_value(preselected)
            page.screenshot(
                path=screenshot_dir() / f"signup-timezone-{preselected.replace('/', '-')}.png",
                full_page=True,
            )
            assert problems == [], problems
            if browser_zone == "Asia/Kolkata":
                assert reported == "Asia/Calcutta"  # the old name, found through data-aliases

            # What the person picks wins over the guess.
            zone.select_option("America/Chicago")
            page.locator("#id_organization_name").fill("Prairie Goods")
            page.locator("#id_email").fill(f"owner-{preselected.replace('/', '-')}@example.com")
            page.locator("#id_password1").fill("a-long-and-good-password-1")
            page.locator("#id_password2").fill("a-long-and-good-password-1")
            page.get_by_role("button", name="Create account").click()
            expect(page).not_to_have_url(f"{live_server.url}/accounts/signup/")
        finally:
            browser.close()
    # (Read after the browser is gone: Playwright's event loop makes Django refuse queries.)
    assert Organization.objects.get(name="Prairie Goods").timezone == "America/Chicago"
