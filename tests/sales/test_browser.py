"""A merchant in a real browser: filter by store and date preset, search an order number,
open the order, ignore it, go back to the same list and export it."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.factories import MembershipFactory
from tests.sales.factories import make_connection, make_order, make_store
from unify.tenancy.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture
def shop(org_a, org_b):
    now = timezone.now()
    connection = make_connection(org_a, "Main ShipStation")
    us, amazon = make_store(connection, "Shopify US"), make_store(connection, "Amazon")
    make_order(org_a, number="A-7777", source_store=us, order_date=now - timedelta(hours=2))
    make_order(org_a, number="A-7700", source_store=us, order_date=now - timedelta(hours=3))
    make_order(org_a, number="A-1111", source_store=us, order_date=now - timedelta(days=20))
    make_order(org_a, number="Z-7777", source_store=amazon, order_date=now - timedelta(hours=1))
    make_order(org_b, number="A-7777-B", order_date=now - timedelta(hours=1))
    return {"us": us}


def rows(page) -> list[str]:
    return page.locator("[data-testid=order-link]").all_inner_texts()


def test_filter_search_open_ignore_and_export(live_server, client, org_a, shop, chromium_path):
    from playwright.sync_api import expect, sync_playwright

    membership = MembershipFactory(organization=org_a, role=Role.MEMBER, user__username="pat")
    client.force_login(membership.user)
    session = client.cookies["sessionid"].value

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(accept_downloads=True)
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on(
                "response",
                lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            page.goto(f"{live_server.url}/o/{org_a.slug}/sales/")
            expect(page.locator("[data-testid=order-link]")).to_have_count(4)

            # Store and date preset apply as soon as they are chosen (htmx, URL updated).
            page.get_by_label("Store", exact=True).select_option(label="Shopify US (Shopify)")
            expect(page.locator("[data-testid=order-link]")).to_have_count(3)
            page.get_by_label("Date", exact=True).select_option("7d")
            expect(page.locator("[data-testid=order-link]")).to_have_count(2)
            assert rows(page) == ["A-7777", "A-7700"]
            assert f"store={shop['us'].pk}" in page.url and "preset=7d" in page.url
            expect(page.locator("#tab-count-all")).to_have_text("2")

            page.get_by_label("Search", exact=True).fill("a-7777")
            page.get_by_label("Search", exact=True).press("Enter")
            expect(page.locator("[data-testid=order-link]")).to_have_count(1)
            assert rows(page) == ["A-7777"]
            list_url = page.url
            assert "q=a-7777" in list_url

            page.get_by_role("link", name="A-7777").click()
            expect(page.get_by_role("heading", name="Order A-7777")).to_be_visible()
            page.get_by_role("button", name="Ignore this order").click()
            expect(page.get_by_role("button", name="Un-ignore")).to_be_visible()
            expect(page.locator("[data-testid=posting-status]").first).to_have_text("Ignored")
            expect(page.locator("[data-testid=audit-trail]")).to_contain_text("Ignored")

            page.get_by_test_id("back-to-list").click()
            expect(page.locator("[data-testid=order-link]")).to_have_count(1)
            assert page.url == list_url
            expect(page.locator("[data-testid=posting-status]").first).to_have_text("Ignored")

            with page.expect_download() as info:
                page.get_by_test_id("export-csv").click()
            download = info.value
            text = Path(download.path()).read_text(encoding="utf-8")
            exported = list(csv.DictReader(io.StringIO(text)))
            assert [(r["order_number"], r["posting_status"], r["ignored"]) for r in exported] == [
                ("A-7777", "ignored", "yes")
            ]
            assert errors == []
        finally:
            browser.close()


def test_export_takes_the_filters_just_applied_without_reloading(
    live_server, client, org_a, shop, chromium_path
):
    """Filters applied through htmx (no page load), then Export CSV at once: the file holds
    exactly the orders on screen, after every change of filter, search and tab."""
    from playwright.sync_api import expect, sync_playwright

    membership = MembershipFactory(organization=org_a, role=Role.MEMBER, user__username="pat")
    client.force_login(membership.user)
    session = client.cookies["sessionid"].value

    def exported(page) -> list[str]:
        with page.expect_download() as info:
            page.get_by_test_id("export-csv").click()
        text = Path(info.value.path()).read_text(encoding="utf-8")
        return [r["order_number"] for r in csv.DictReader(io.StringIO(text))]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(accept_downloads=True)
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            loads: list[str] = []
            page.on("load", lambda: loads.append(page.url))
            page.goto(f"{live_server.url}/o/{org_a.slug}/sales/")
            expect(page.locator("[data-testid=order-link]")).to_have_count(4)
            assert sorted(exported(page)) == ["A-1111", "A-7700", "A-7777", "Z-7777"]

            page.get_by_label("Date", exact=True).select_option("7d")
            expect(page.locator("[data-testid=order-link]")).to_have_count(3)
            assert exported(page) == rows(page) == ["Z-7777", "A-7777", "A-7700"]

            page.get_by_label("Store", exact=True).select_option(label="Shopify US (Shopify)")
            expect(page.locator("[data-testid=order-link]")).to_have_count(2)
            assert exported(page) == rows(page) == ["A-7777", "A-7700"]

            page.get_by_label("Search", exact=True).fill("a-7700")
            page.get_by_test_id("apply-filters").click()
            expect(page.locator("[data-testid=order-link]")).to_have_count(1)
            assert exported(page) == rows(page) == ["A-7700"]

            # A tab with nothing in it: an empty file (the header only), not the whole list.
            page.get_by_test_id("tab-posted").click()
            expect(page.get_by_test_id("no-match")).to_be_visible()
            assert exported(page) == []

            # Back to "All": the store and date filters are still applied and exported.
            page.get_by_test_id("tab-all").click()
            expect(page.locator("[data-testid=order-link]")).to_have_count(1)
            assert exported(page) == rows(page) == ["A-7700"]
            # All of it happened on the one page load (htmx swapped the results).
            assert len(loads) == 1
        finally:
            browser.close()
