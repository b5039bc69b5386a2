"""In a real Chromium: sign up, confirm the email, sign in, reach the dashboard, open the TOTP
page. The pages must work under the real CSP: no violation in the console, the QR code (a
data: image) loads."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import sync_playwright

from tests.tenancy.conftest import PASSWORD, link_from_mail, path_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def test_signup_confirm_signin_dashboard_and_totp_page(live_server, chromium_path):
    base = live_server.url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            console: list[str] = []
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))

            page.goto(f"{base}/accounts/signup/")
            page.locator("#id_organization_name").fill("Harbor Goods")
            page.locator("#id_email").fill("kim@harbor.example")
            page.locator("#id_password1").fill(PASSWORD)
            page.locator("#id_password2").fill(PASSWORD)
            page.get_by_role("button", name="Create account").click()
            page.wait_for_url(f"{base}/accounts/confirm-email/")
            assert page.get_by_role("heading", name="Verify Your Email Address").is_visible()

            page.goto(base + path_of(link_from_mail(mail.outbox[0].body)))
            page.get_by_role("button", name="Confirm").click()
            page.wait_for_url(re.compile(r".*/accounts/login/.*"))

            page.locator("#id_login").fill("kim@harbor.example")
            page.locator("#id_password").fill(PASSWORD)
            page.locator("main").get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/o/harbor-goods/")
            assert page.get_by_role("heading", name="Dashboard").is_visible()
            assert page.locator("#org-switcher").inner_text().strip() == "Harbor Goods"

            # Bootstrap's JS runs (served from 'self'): the user menu opens.
            page.locator("#user-menu").click()
            page.get_by_role("link", name="Two-factor authentication").click()
            page.wait_for_url(f"{base}/accounts/2fa/")
            page.get_by_role("link", name="Activate").click()
            page.wait_for_url(re.compile(r".*/accounts/reauthenticate/.*"))
            page.locator("#id_password").fill(PASSWORD)
            page.locator("main").get_by_role("button", name="Confirm").click()
            page.wait_for_url(f"{base}/accounts/2fa/totp/activate/")
            qr = page.locator("img.totp-qr")
            assert qr.evaluate("img => img.complete && img.naturalWidth > 0")

            violations = [line for line in console if "Content Security Policy" in line]
            assert violations == []
        finally:
            browser.close()
