"""The dashboard in a real Chromium (screenshots for review): a new organization's dashboard
(getting started, no charts), then the dashboard after a first import from the ShipStation
stand-in: the four charts drawn by the vendored Chart.js under the CSP (no page errors, no
refused script), the totals row equal to the Sales tab's, and "All caught up"."""

from __future__ import annotations

import pytest

from sales.filters import OrderFilters, preset_range
from sales.selectors_tab import order_summary
from tests.browser import screenshot_dir, signed_in_browser
from tests.sales.support import SS_KEY, SS_SECRET
from tests.sales.support import make_connection as make_ss_connection
from unify.tenancy.scoping import org_scope

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ss_app(shipstation, settings):
    settings.SHIPSTATION_API_BASE_URL = shipstation.base_url
    settings.SHIPSTATION_RATE_LIMIT_PER_MINUTE = 100_000
    settings.SALES_SYNC_BACKOFF_SECONDS = 0.01
    settings.SALES_SYNC_BACKOFF_MAX_SECONDS = 0.05
    from connections.sources.shipstation.client import api_key_fingerprint
    from connections.sources.shipstation.limits import shipstation_rate_limiter

    shipstation_rate_limiter().reset(f"shipstation:{api_key_fingerprint(SS_KEY)}")
    return shipstation


@pytest.mark.shipstation_rate_limit(None)
def test_dashboard_empty_then_after_the_first_import(
    live_server, client, org_a, owner_of_a, chromium_path, ss_app
):
    from sales.services import sync_request, sync_run_execute

    shots = screenshot_dir()
    url = f"{live_server.url}/o/{org_a.slug}/"
    with signed_in_browser(live_server, client, owner_of_a.user, chromium_path) as (ctx, errors):
        page = ctx.new_page()
        page.set_viewport_size({"width": 1366, "height": 900})
        page.goto(url)
        assert page.get_by_test_id("getting-started").is_visible()
        assert page.get_by_test_id("step-store").get_attribute("data-done") == "false"
        assert page.get_by_test_id("dashboard-charts").count() == 0
        page.screenshot(path=str(shots / "dashboard-empty.png"), full_page=True)

        assert errors == []

    # The first import, outside the browser (Playwright's loop forbids database calls).
    ss_app.add_account(SS_KEY, SS_SECRET, seed=21, orders=60, days=25)
    connection = make_ss_connection(org_a)
    with org_scope(org_a.pk):
        run = sync_request(organization=org_a, connection=connection)
        while sync_run_execute(run_id=run.pk).continue_later:
            pass
        start, end = preset_range("30d", tz=org_a.tzinfo)
        totals = order_summary(
            organization=org_a, filters=OrderFilters(date_from=start, date_until=end)
        ).totals
    assert totals

    with signed_in_browser(live_server, client, owner_of_a.user, chromium_path) as (ctx, errors):
        page = ctx.new_page()
        page.set_viewport_size({"width": 1366, "height": 900})
        page.goto(url)
        charts = page.get_by_test_id("dashboard-charts")
        assert charts.is_visible()
        for canvas in ("chart-sales", "chart-shipping", "chart-posting", "chart-skus"):
            # Chart.js drew into the canvas (it sets the pixel size it drew at).
            drawn = page.locator(f"#{canvas}").evaluate(
                "c => window.Chart && window.Chart.getChart(c) !== undefined"
            )
            assert drawn, canvas
        for t in totals:
            row = page.locator(f'tr[data-currency="{t.currency}"]')
            assert row.locator('[data-field="orders"]').inner_text() == str(t.orders)
            assert row.locator('[data-field="total_sales"]').inner_text() == str(t.total_sales)
        assert page.get_by_test_id("step-store").get_attribute("data-done") == "true"
        page.screenshot(path=str(shots / "dashboard-after-import.png"), full_page=True)
        assert errors == []
