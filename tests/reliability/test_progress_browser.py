"""A merchant clicks Sync now on the connection page: a real worker imports from the
ShipStation stand-in while the page's progress bar moves (htmx polling), and the finished
run appears in the history."""

from __future__ import annotations

import time

import pytest

from tests.factories import MembershipFactory
from tests.sales.support import SS_KEY, SS_SECRET, make_connection
from unify.tenancy.models import Role

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.shipstation_rate_limit(None),
]

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def test_sync_now_shows_live_progress_then_the_finished_run(
    live_server, client, org_a, shipstation, start_worker, sync_env, chromium_path
):
    from playwright.sync_api import expect, sync_playwright

    sync_env.set(SALES_SYNC_PAGE_SIZE=25)
    shipstation.add_account(SS_KEY, SS_SECRET, seed=107, orders=300, days=30)
    # Each answer takes a moment, so the run lasts long enough to be watched.
    shipstation.inject_faults("slow", probability=1.0, delay_seconds=0.25)
    connection = make_connection(org_a, name="Main ShipStation")
    start_worker()
    membership = MembershipFactory(organization=org_a, role=Role.MEMBER, user__username="sam")
    client.force_login(membership.user)
    session = client.cookies["sessionid"].value

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on(
                "console",
                lambda m: (
                    errors.append(m.text)
                    if m.type == "error" and "favicon" not in m.location.get("url", "")
                    else None
                ),
            )
            page.goto(f"{live_server.url}/o/{org_a.slug}/connections/{connection.pk}/")
            progress = page.locator(f"#sync-progress-{connection.pk}")
            expect(progress).to_contain_text("Not synced yet.")

            page.get_by_role("button", name="Sync now").click()
            bar = progress.locator("progress")
            expect(bar).to_be_visible(timeout=30_000)
            counts = page.get_by_test_id("sync-counts")
            expect(counts).to_contain_text("Page", timeout=30_000)
            first = int(bar.get_attribute("value"))
            # The page polls: the bar moves without a reload.
            seen = {first}
            deadline = time.monotonic() + 60
            while len(seen) < 2 and time.monotonic() < deadline:
                if bar.count() == 0:
                    break  # finished between two looks
                value = bar.get_attribute("value", timeout=5_000)
                if value is not None:
                    seen.add(int(value))
                page.wait_for_timeout(200)
            assert len(seen) >= 2 or bar.count() == 0, seen
            expect(progress).to_contain_text("300 new and 0 updated orders", timeout=90_000)
            expect(page.get_by_test_id("sync-history")).to_contain_text("300 / 0 / 0")
            assert errors == []
        finally:
            browser.close()
