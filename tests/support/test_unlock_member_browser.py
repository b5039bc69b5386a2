"""Unlocking a member in a real Chromium: the member locks themselves out by mistyping their
password on the sign-in page; support staff (with an authenticator app, as the console
requires) find them by email in the support console, see "Locked out", click Unlock and
confirm; the member then signs in with their password at once. Loopback only."""

from __future__ import annotations

import re
import uuid

import pytest
from allauth.account import app_settings as account_settings
from allauth.core.internal import ratelimit
from django.test import RequestFactory

from tests.browser import CHROMIUM_ARGS, signed_in_browser
from tests.factories import MembershipFactory, UserFactory
from tests.security.support import enable_totp
from tests.support.test_console import audit
from unify.tenancy.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
TIMEOUT_MS = 15_000
LOCKED = re.compile("Too many failed login attempts")


def _sign_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _forget_failed_sign_ins_from_loopback() -> None:
    """Every browser signs in from 127.0.0.1, so allauth's per-address bucket of failed
    sign-ins (10 a minute) is shared by all browser tests: this one starts with it empty,
    so a rerun within the minute is not refused by address after the unlock."""
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1")
    ratelimit.clear(
        request,
        app="allauth.account",
        action="login_failed",
        config=account_settings.RATE_LIMITS,
        key="-",  # the per-email buckets are this test's own (a fresh email)
    )


def test_support_unlocks_a_member_who_locked_themselves_out(
    live_server, client, org_a, owner_of_a, chromium_path
):
    from playwright.sync_api import expect, sync_playwright

    tag = uuid.uuid4().hex[:10]  # an email of its own: no earlier test's attempts count
    member = UserFactory(username=f"locked-{tag}", email=f"locked-{tag}@example.com")
    MembershipFactory(organization=org_a, user=member, role=Role.MEMBER)
    staff = UserFactory(username=f"support-{tag}", email=f"support-{tag}@unify.example",
                        is_staff=True)  # fmt: skip
    enable_totp(staff)
    base = live_server.url
    _forget_failed_sign_ins_from_loopback()

    # The member mistypes their password until sign-in refuses even the right one.
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context().new_page()
            for _ in range(5):
                _sign_in(page, base, member.email, "wrong password")
            _sign_in(page, base, member.email, PASSWORD)
            expect(page.get_by_text(LOCKED)).to_be_visible(timeout=TIMEOUT_MS)
        finally:
            browser.close()

    with signed_in_browser(live_server, client, staff, chromium_path) as (ctx, errors):
        page = ctx.new_page()
        page.goto(f"{base}/support/")
        page.fill("#support-q", member.email)
        page.locator("form[role=search] button").click()
        page.get_by_test_id("support-results").get_by_role("link", name=org_a.name).click()
        row = page.locator("tr", has_text=member.email)
        expect(row.get_by_test_id("member-locked-out")).to_be_visible()
        row.get_by_role("link", name="Unlock").click()
        form = page.get_by_test_id("support-confirm")
        expect(form.get_by_label("Member")).to_have_value(re.compile(r"\d+"))
        expect(form.get_by_label("Member").locator("option:checked")).to_have_text(member.email)
        form.get_by_role("button", name="Confirm").click()
        expect(page.get_by_text(f"{member.email} can sign in again.")).to_be_visible(
            timeout=TIMEOUT_MS
        )
        page.goto(f"{base}/support/orgs/{org_a.pk}/")
        expect(page.locator("tr", has_text=member.email)).to_be_visible()
        expect(page.get_by_test_id("member-locked-out")).to_have_count(0)
        assert [e for e in errors if "favicon" not in e] == []

    # The member signs in with their password at once.
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context().new_page()
            _sign_in(page, base, member.email, PASSWORD)
            expect(page).not_to_have_url(re.compile(r"/accounts/login/"), timeout=TIMEOUT_MS)
            expect(page.get_by_text(LOCKED)).to_have_count(0)
            expect(page.get_by_text(org_a.name).first).to_be_visible()
        finally:
            browser.close()

    (event,) = audit(org_a, "support.action")
    assert event.metadata["action"] == "unlock_member"
    assert event.metadata["was_locked"] is True
