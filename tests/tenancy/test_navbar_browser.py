"""The navigation bar in a real browser: an organization with a long name (the 120 characters
the form allows) keeps the bar inside the window, shortens the name with an ellipsis (the whole
name on hover) and leaves the user menu visible and usable."""

from __future__ import annotations

import pytest

from tests.browser import WIDTHS, box, screenshot_dir, signed_in_browser
from tests.factories import MembershipFactory, OrganizationFactory
from unify.tenancy.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_NAME = (
    "Northwestern Outdoor Equipment and Apparel Trading Company of the Greater Pacific "
    "Region, Incorporated (Wholesale Division)"
)[:120]


@pytest.mark.parametrize("width", WIDTHS)
def test_long_organization_name_keeps_the_navbar_inside_the_window(
    live_server, client, chromium_path, width
):
    from playwright.sync_api import expect

    assert len(LONG_NAME) == 120
    org = OrganizationFactory(name=LONG_NAME, slug="northwestern")
    membership = MembershipFactory(
        organization=org, role=Role.OWNER, user__username="a.very.long.mailbox.name.for.testing"
    )
    user = membership.user
    with signed_in_browser(live_server, client, user, chromium_path) as (context, errors):
        page = context.new_page()
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(f"{live_server.url}/o/{org.slug}/")
        nav = page.get_by_role("navigation", name="Main navigation")
        expect(nav).to_be_visible()
        page.screenshot(path=screenshot_dir() / f"navbar-long-name-{width}.png")

        nav_box = box(nav)
        assert nav_box["width"] <= width
        assert page.evaluate("document.documentElement.scrollWidth") <= width

        switcher = page.locator("#org-switcher")
        user_menu = page.locator("#user-menu")
        for element in (switcher, user_menu):
            expect(element).to_be_visible()
            b = box(element)
            assert b["x"] >= 0 and b["right"] <= width, (element, b)
            assert b["bottom"] <= nav_box["bottom"] + 0.5  # on the bar, not wrapped below it
        # The name is cut with an ellipsis; the full name is the title and the button's name.
        name = switcher.locator("[data-org-name]")
        assert name.evaluate("(el) => getComputedStyle(el).textOverflow") == "ellipsis"
        assert name.evaluate("(el) => el.scrollWidth > el.clientWidth")
        assert name.get_attribute("title") == LONG_NAME
        expect(user_menu).to_have_text(user.email)

        user_menu.click()
        sign_out = page.get_by_role("button", name="Sign out")
        expect(sign_out).to_be_visible()
        assert box(sign_out)["right"] <= width
        assert errors == []
