"""A merchant in a real browser: Accounting > Connect QuickBooks Desktop > the password shown
once > download the .qwc file; the Web Connector simulator (loaded from that file) reads the
accounts; Sales > select orders > Post; the next Web Connector update posts them and the
Sales tab shows them posted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounting.models import Posting
from sandbox.qbwc import Company, WebConnector, read_qwc
from tests.accounting.factories import make_order
from unify.tenancy.scoping import org_scope

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def test_connect_download_qwc_password_once_then_orders_posted_by_the_web_connector(
    live_server, client, owner_of_a, org_a, chromium_path, tmp_path
):
    from playwright.sync_api import expect, sync_playwright

    now = timezone.now()
    orders = [
        make_order(
            org_a,
            lines=[("MUG-BLUE", "Blue mug", 2, "14.50", False)],
            shipping="6.95",
            number=f"D-{100 + i}",
            order_date=now - timedelta(hours=2 + i),
            payment_date=now - timedelta(hours=2 + i),
        )
        for i in range(2)
    ]
    company = Company()
    client.force_login(owner_of_a.user)
    session = client.cookies["sessionid"].value

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(accept_downloads=True)
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            page.goto(f"{live_server.url}/o/{org_a.slug}/accounting/")
            page.get_by_role("button", name="Connect QuickBooks Desktop").click()
            expect(page.get_by_text("It is shown only this once")).to_be_visible()
            password = page.locator("#qbd-password").inner_text().strip()
            username = page.locator("#qbd-username").inner_text().strip()
            assert len(password) == 24
            with page.expect_download() as download:
                page.locator("#qbd-download").click()
            qwc_path = tmp_path / "unify.qwc"
            download.value.save_as(qwc_path)

            qwc = read_qwc(qwc_path)
            assert qwc["UserName"] == username
            assert password not in qwc_path.read_text()
            connector = WebConnector(qwc["AppURL"], username, password, company, noop_wait=0.05)
            first = connector.run()  # the first update reads the accounts and items
            assert first.finished, first

            page.goto(f"{live_server.url}/o/{org_a.slug}/accounting/")
            card = page.locator("#ledger-card-qbd")
            expect(card.locator("#ledger-company")).to_have_text("Sandbox Outdoor Supply")
            expect(card.locator("#qbd-last-contact")).not_to_have_text("Never")
            card.get_by_role("link", name="Web Connector setup").click()
            expect(page.locator("#qbd-password")).to_have_count(0)

            page.goto(f"{live_server.url}/o/{org_a.slug}/sales/")
            for order in orders:
                page.check(f'input[name="ids"][value="{order.pk}"]')
            page.get_by_role("button", name="Post", exact=True).click()
            expect(page.get_by_text("2 orders queued for posting.")).to_be_visible()

            second = connector.run()
            assert second.finished, second

            page.reload()
            for order in orders:
                row = page.locator("tr", has=page.locator(f'input[name="ids"][value="{order.pk}"]'))
                expect(row.locator("[data-testid=posting-status]")).to_have_text("Posted")
            page.goto(f"{live_server.url}/o/{org_a.slug}/accounting/")
            expect(page.locator("#qbd-queue")).to_have_text("0")
            assert errors == []
        finally:
            browser.close()

    receipts = company.transactions("SalesReceipt")
    assert sorted(r.ref_number for r in receipts) == ["SS-D-100", "SS-D-101"]
    assert {r.total for r in receipts} == {"35.95"}
    with org_scope(org_a.pk):
        assert set(Posting.objects.values_list("status", flat=True)) == {"posted"}
