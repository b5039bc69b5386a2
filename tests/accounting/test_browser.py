"""A merchant in a real browser: Accounting > Connect to QuickBooks (the stand-in's authorize
page) > map accounts > Sales > select orders > Post > status Posted with a link to the
document in QuickBooks. Posting runs in a real Celery worker."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.models import LedgerConnection, Posting
from tests.accounting.conftest import qbo_env
from tests.accounting.factories import make_order
from tests.worker_process import unique_queue
from unify.tenancy.scoping import org_scope

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def test_connect_map_accounts_post_from_sales_and_see_the_link(
    live_server, client, owner_of_a, org_a, qbo, qbo_settings, chromium_path, celery_worker_process
):
    from playwright.sync_api import expect, sync_playwright

    queue = unique_queue("browser")
    qbo_settings.ACCOUNTING_TASK_QUEUE = queue
    celery_worker_process([queue], env={**qbo_env(qbo), "ACCOUNTING_TASK_QUEUE": queue})
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
            number=f"B-{100 + i}",
            order_date=now - timedelta(hours=2 + i),
            payment_date=now - timedelta(hours=2 + i),
        )
        for i in range(2)
    ]
    not_selected = make_order(
        org_a, lines=[("X", "X", 1, "1.00", False)], number="B-999", order_date=now
    )
    client.force_login(owner_of_a.user)
    session = client.cookies["sessionid"].value

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            page.goto(f"{live_server.url}/o/{org_a.slug}/accounting/")
            page.get_by_role("button", name="Connect to QuickBooks").click()
            # Intuit's (stand-in's) authorize page: choose the company, approve.
            page.wait_for_url(f"{qbo.base_url}/connect/oauth2**")
            page.select_option("#realmId", qbo.realm_id)
            page.get_by_role("button", name="Connect").click()

            page.wait_for_url(f"{live_server.url}/o/{org_a.slug}/accounting/settings/")
            expect(page.get_by_text("Connected to Sandbox Company_US_1")).to_be_visible()
            page.get_by_label("Deposit to", exact=True).select_option(label="Undeposited Funds")
            page.get_by_label("Product income", exact=True).select_option(
                label="Sales of Product Income"
            )
            page.get_by_label("Shipping income", exact=True).select_option(label="Shipping Income")
            page.get_by_label("Discounts", exact=True).select_option(label="Discounts given")
            page.get_by_label("Sales tax liability", exact=True).select_option(
                label="Sales Tax Payable"
            )
            page.get_by_label("Shipping expense", exact=True).select_option(
                label="Shipping and Postage"
            )
            page.get_by_label("Account that pays label costs", exact=True).select_option(
                label="Checking"
            )
            page.get_by_role("button", name="Save posting settings").click()
            expect(page.get_by_text("Posting settings saved.")).to_be_visible()

            page.goto(f"{live_server.url}/o/{org_a.slug}/sales/")
            for order in orders:
                page.check(f'input[name="ids"][value="{order.pk}"]')
            page.get_by_role("button", name="Post", exact=True).click()
            expect(page.get_by_text("2 orders queued for posting.")).to_be_visible()

            hrefs: dict[int, str] = {}
            for order in orders:
                row = page.locator("tr", has=page.locator(f'input[name="ids"][value="{order.pk}"]'))
                for _ in range(60):
                    if row.locator("[data-testid=posting-status]").inner_text() == "Posted":
                        break
                    page.wait_for_timeout(500)
                    page.reload()
                    row = page.locator(
                        "tr", has=page.locator(f'input[name="ids"][value="{order.pk}"]')
                    )
                expect(row.locator("[data-testid=posting-status]")).to_have_text("Posted")
                link = row.get_by_role("link", name=f"Ledger document SS-{order.number}")
                expect(link).to_be_visible()
                hrefs[order.pk] = link.get_attribute("href")
            other = page.locator(
                "tr", has=page.locator(f'input[name="ids"][value="{not_selected.pk}"]')
            )
            expect(other.locator("[data-testid=posting-status]")).to_have_text("Not posted")

            # The link opens the document in QuickBooks, with the order's total.
            href = link.get_attribute("href")
            page.goto(href)
            expect(page.locator("#total")).to_have_text(str(orders[-1].amount_paid))
            assert errors == []
        finally:
            browser.close()

    # (The ORM cannot run inside Playwright's event loop: database checks come last.)
    for order in orders:
        posting = _posting(org_a, order)
        assert hrefs[order.pk] == f"{qbo.base_url}/app/salesreceipt?txnId={posting.external_id}"
    ledger = LedgerConnection.all_orgs.get(organization=org_a)
    assert ledger.company_id == qbo.realm_id
    receipts = qbo.documents("salesreceipt")
    assert sorted(r["DocNumber"] for r in receipts) == ["SS-B-100", "SS-B-101"]
    assert {Decimal(str(r["TotalAmt"])) for r in receipts} == {Decimal("33.05")}


def _posting(org, order) -> Posting:
    with org_scope(org.pk):
        return Posting.objects.get(order=order, kind="sale")
