"""A merchant in a real browser: Accounting > Connect Xero > the stand-in's consent page (two
organisations ticked) > the organisation picker > the suggested mappings, saved > Sales >
select orders > Post > Posted, with a link that opens the invoice in Xero. Posting runs in a
real Celery worker."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.models import LedgerConnection, Posting
from sandbox.xero import DEFAULT_TENANT_ID, SECOND_TENANT_ID
from tests.accounting.factories import make_order
from tests.accounting.xero_support import xero_env
from tests.browser import CHROMIUM_ARGS, screenshot_dir
from tests.worker_process import unique_queue
from unify.tenancy.scoping import org_scope

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_connect_xero_pick_the_organisation_post_from_sales_and_open_the_invoice(
    live_server, client, owner_of_a, org_a, xero, xero_settings, chromium_path,
    celery_worker_process,
):  # fmt: skip
    from playwright.sync_api import expect, sync_playwright

    queue = unique_queue("xero-browser")
    xero_settings.ACCOUNTING_TASK_QUEUE = queue
    celery_worker_process([queue], env={**xero_env(xero), "ACCOUNTING_TASK_QUEUE": queue})
    now = timezone.now()
    orders = [
        make_order(
            org_a,
            lines=[
                ("MUG-BLUE", "Blue mug", 2, "14.50", False),
                (None, "WELCOME5", 1, "-5.00", True),
            ],
            shipping="6.95",
            tax="2.10",
            number=f"X-{100 + i}",
            order_date=now - timedelta(hours=2 + i),
            payment_date=now - timedelta(hours=2 + i),
        )
        for i in range(2)
    ]
    not_selected = make_order(org_a, lines=[("X", "X", 1, "1.00", False)], number="X-999")
    client.force_login(owner_of_a.user)
    session = client.cookies["sessionid"].value
    shots = screenshot_dir()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 900})
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            page.goto(f"{live_server.url}/o/{org_a.slug}/accounting/")
            page.get_by_role("button", name="Connect Xero").click()
            # Xero's (stand-in's) consent page: tick both organisations, allow.
            page.wait_for_url(f"{xero.base_url}/identity/connect/authorize**")
            page.get_by_label("Demo Company (US)").check()
            page.get_by_label("Bolt Bikes Ltd").check()
            page.get_by_role("button", name="Allow access").click()

            page.wait_for_url(f"{live_server.url}/o/{org_a.slug}/accounting/xero/organisation/")
            page.screenshot(path=str(shots / "xero-choose-organisation.png"), full_page=True)
            page.get_by_label("Demo Company (US)").check()
            page.get_by_role("button", name="Connect this organisation").click()

            page.wait_for_url(f"{live_server.url}/o/{org_a.slug}/accounting/settings/")
            expect(page.get_by_text("Connected to Demo Company (US)")).to_be_visible()
            # The mappings are suggested from Xero's chart; the merchant checks and saves.
            deposit = page.get_by_label("Deposit to", exact=True)
            expect(deposit.locator("option:checked")).to_have_text("615 · Sales Clearing")
            expect(
                page.get_by_label("Sales tax liability", exact=True).locator("option:checked")
            ).to_have_text("820 · Sales Tax")
            page.screenshot(path=str(shots / "xero-settings.png"), full_page=True)
            page.get_by_role("button", name="Save posting settings").click()
            expect(page.get_by_text("Posting settings saved.")).to_be_visible()

            page.goto(f"{live_server.url}/o/{org_a.slug}/sales/")
            for order in orders:
                page.check(f'input[name="ids"][value="{order.pk}"]')
            page.get_by_role("button", name="Post", exact=True).click()
            expect(page.get_by_text("2 orders queued for posting.")).to_be_visible()

            hrefs: dict[int, str] = {}
            for order in orders:
                selector = f'input[name="ids"][value="{order.pk}"]'
                row = page.locator("tr", has=page.locator(selector))
                for _ in range(60):
                    if row.locator("[data-testid=posting-status]").inner_text() == "Posted":
                        break
                    page.wait_for_timeout(500)
                    page.reload()
                    row = page.locator("tr", has=page.locator(selector))
                expect(row.locator("[data-testid=posting-status]")).to_have_text("Posted")
                link = row.get_by_role("link", name=f"Ledger document SS-{order.number}")
                expect(link).to_be_visible()
                hrefs[order.pk] = link.get_attribute("href")
            other = page.locator(
                "tr", has=page.locator(f'input[name="ids"][value="{not_selected.pk}"]')
            )
            expect(other.locator("[data-testid=posting-status]")).to_have_text("Not posted")
            page.screenshot(path=str(shots / "xero-sales-posted.png"), full_page=True)

            page.goto(hrefs[orders[-1].pk])
            expect(page.locator("#total")).to_have_text(str(orders[-1].amount_paid))
            assert errors == []
        finally:
            browser.close()

    ledger = LedgerConnection.all_orgs.get(organization=org_a)
    assert (ledger.provider, ledger.company_id) == ("xero", DEFAULT_TENANT_ID)
    for order in orders:
        with org_scope(org_a.pk):
            posting = Posting.objects.get(order=order, kind="sale")
        assert hrefs[order.pk] == (
            f"{xero.base_url}/AccountsReceivable/View.aspx?InvoiceID={posting.external_id}"
        )
    invoices = xero.documents("Invoices", DEFAULT_TENANT_ID)
    assert sorted(i["InvoiceNumber"] for i in invoices) == ["SS-X-100", "SS-X-101"]
    assert {i["Total"] for i in invoices} == {Decimal("33.05")}
    assert {i["Status"] for i in invoices} == {"PAID"}
    assert xero.documents("Invoices", SECOND_TENANT_ID) == []
