"""Shipping-expense mode end to end in a real Chromium, as a new merchant on the Pro plan
does it, with a ShipStation account of their own (not the demo fixtures): Add Store >
ShipStation > Continue > keys > Shipping expense > Connect Store (a real worker runs the
first import: labels wait for their orders), Upload order file with a shop export typed from
what that account shows, the labels on the orders, then Post from the Sales tab: the labels
reach the QuickBooks stand-in as expenses. Screenshots go to ``.data/screenshots/``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from connections.models import StoreConnection
from connections.sources.shipstation.client import api_key_fingerprint
from connections.sources.shipstation.limits import shipstation_rate_limiter
from sales.models import Order
from tests.accounting.conftest import connect_ledger, qbo_env
from tests.accounting.conftest import qbo_settings as qbo_settings  # noqa: F401 (a fixture)
from tests.merchant import shipstation_account, shop_export_csv
from tests.worker_process import unique_queue
from unify.tenancy.scoping import org_scope

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
KEY, SECRET = "second-merchant-key-5d21", "second-merchant-secret-90ab"


def test_shipping_expense_mode_end_to_end_in_the_browser(
    live_server,
    client,
    owner_of_a,
    org_a,
    shipstation,
    qbo,
    qbo_settings,
    settings,
    chromium_path,
    celery_worker_process,
    tmp_path,
):
    from playwright.sync_api import expect, sync_playwright

    org_a.plan = "pro"
    org_a.save()
    shipstation.add_account(KEY, SECRET, seed=9090, orders=60, days=20, stores=2)
    shipstation_rate_limiter().reset(f"shipstation:{api_key_fingerprint(KEY)}")
    sales_queue, accounting_queue = unique_queue("sales"), unique_queue("accounting")
    env = {
        **qbo_env(qbo),
        "DJANGO_SETTINGS_MODULE": "tests.reliability.worker_settings",
        "SHIPSTATION_API_BASE_URL": shipstation.base_url,
        "SHIPSTATION_RATE_LIMIT_PER_MINUTE": "100000",
        "SALES_TASK_QUEUE": sales_queue,
        "ACCOUNTING_TASK_QUEUE": accounting_queue,
    }
    settings.SHIPSTATION_API_BASE_URL = shipstation.base_url
    settings.SHIPSTATION_RATE_LIMIT_PER_MINUTE = 100_000
    settings.SALES_TASK_QUEUE = sales_queue
    settings.ACCOUNTING_TASK_QUEUE = accounting_queue
    celery_worker_process([sales_queue, accounting_queue], env=env)
    connect_ledger(org_a, qbo)

    # What the merchant sees in their ShipStation account, typed into their shop's export.
    seen = shipstation_account(shipstation.base_url, KEY, SECRET)
    chosen = [o for o in seen if o.label_cost > 0 and o.store_name and o.items][:5]
    assert len(chosen) == 5
    export = tmp_path / "shop-orders.csv"
    export.write_bytes(shop_export_csv(chosen))
    shots = Path(django_settings.BASE_DIR) / ".data" / "screenshots" / "shipping-expense"
    shots.mkdir(parents=True, exist_ok=True)

    client.force_login(owner_of_a.user)
    session = client.cookies["sessionid"].value
    base = live_server.url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 900})
            context.add_cookies([{"name": "sessionid", "value": session, "url": base}])
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            page.goto(f"{base}/o/{org_a.slug}/connections/")
            page.locator("main").get_by_role("link", name="Add Store").first.click()
            page.get_by_label("ShipStation").check()
            page.get_by_role("button", name="Continue").click()
            page.get_by_label("API Key").fill(KEY)
            page.get_by_label("API Secret").fill(SECRET)
            page.get_by_label("Connection name").fill("Shop label costs")
            page.get_by_label("Shipping expense").check()
            page.screenshot(path=str(shots / "1-connect.png"), full_page=True)
            page.get_by_role("button", name="Connect Store").click()
            page.wait_for_url(f"{base}/o/{org_a.slug}/connections/*/")

            # The first import (a real worker) brings the labels; they wait for their orders.
            waiting = page.get_by_text("label costs waiting for their orders")
            for _ in range(120):
                if waiting.count():
                    break
                page.wait_for_timeout(500)
                page.reload()
            expect(waiting.first).to_be_visible()
            page.screenshot(path=str(shots / "2-labels-waiting.png"), full_page=True)

            page.get_by_role("link", name="Upload order file").first.click()
            page.get_by_label("Order file (CSV or XLSX)").set_input_files(str(export))
            page.get_by_role("button", name="Upload and import orders").click()
            page.wait_for_url(f"{base}/o/{org_a.slug}/connections/order-file/*/")
            matched = page.get_by_test_id("costs-matched")
            expected_matched = sum(len(o.labels) for o in chosen)
            expect(matched).to_have_text(str(expected_matched))
            page.screenshot(path=str(shots / "3-upload-result.png"), full_page=True)

            # The Sales tab, filtered to this connection, lists exactly those orders.
            page.get_by_role("link", name="Review orders on the Sales tab").click()
            page.get_by_label("Connection").select_option(label="Shop label costs")
            page.get_by_role("button", name="Show orders").click()
            rows = page.locator('input[name="ids"]')
            expect(rows).to_have_count(5)
            page.screenshot(path=str(shots / "4-sales-tab.png"), full_page=True)

            # An order page shows its label cost.
            first = chosen[0]
            page.get_by_role("link", name=first.number, exact=True).first.click()
            table = page.get_by_test_id("label-costs")
            expect(table).to_contain_text(f"{first.label_cost:.2f}")
            page.screenshot(path=str(shots / "5-order.png"), full_page=True)

            page.go_back()
            page.get_by_label("Select every order on this page").check()
            page.get_by_role("button", name="Post", exact=True).click()
            expect(page.get_by_text("5 orders queued for posting.")).to_be_visible()
            for _ in range(120):
                if len(qbo.documents("purchase")) >= expected_matched:
                    break
                page.wait_for_timeout(500)
            page.reload()
            page.screenshot(path=str(shots / "6-posted.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()

    connection = StoreConnection.all_orgs.get(organization=org_a)
    with org_scope(org_a.pk):
        orders = {o.number: o for o in Order.objects.filter(connection=connection)}
    assert sorted(orders) == sorted(o.number for o in chosen)
    for seen_order in chosen:
        assert orders[seen_order.number].label_cost_total == seen_order.label_cost
    # Every label of those orders posted once as an expense, with ShipStation's amount.
    purchases = qbo.documents("purchase")
    expected = sorted(
        lb.cost for o in chosen for lb in o.labels if not lb.voided and not lb.is_return
    )
    assert sorted(Decimal(str(p["TotalAmt"])) for p in purchases) == expected
