"""Layout of the Sales tab in a real browser at a laptop's and a desktop's width: the order
page's label-cost table shows its Cost column, badges and total without cutting them off,
and the list's page-size choice is the one in use."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from sales.models import Order
from tests.browser import WIDTHS, screenshot_dir, signed_in_browser, visible_box
from tests.factories import MembershipFactory
from tests.sales.factories import add_label, make_connection, make_order, make_store
from unify.tenancy.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def labelled_order(org_a):
    connection = make_connection(org_a, "Main ShipStation")
    store = make_store(connection, "Shopify US")
    order = make_order(
        org_a,
        number="L-4242",
        source_store=store,
        order_date=timezone.now() - timedelta(hours=3),
        lines=[{"sku": "TENT-4P", "name": "Four-person tent", "unit_price": "45.00"}],
    )
    # What a busy order has: an international label with insurance, a voided one, a return.
    add_label(
        order,
        cost="38.45",
        carrier="fedex",
        service="fedex_international_priority_express",
        tracking_number="420902109400111899223197428490",
        insurance=Decimal("12.50"),
        create_date=timezone.now() - timedelta(hours=2),
    )
    add_label(
        order,
        cost="7.15",
        carrier="stamps_com",
        service="usps_priority_mail_express_flat_rate_envelope",
        tracking_number="9405511899223197428490123456",
        voided=True,
        create_date=timezone.now() - timedelta(hours=1),
    )
    add_label(
        order,
        cost="11.20",
        carrier="ups_walleted",
        service="ups_ground_saver",
        tracking_number="1Z999AA10123456784",
        is_return=True,
        create_date=timezone.now() - timedelta(minutes=30),
    )
    Order.all_orgs.filter(pk=order.pk).update(
        label_cost_total=Decimal("50.95"), return_label_cost_total=Decimal("11.20")
    )
    return order


@pytest.mark.parametrize("width", WIDTHS)
def test_label_cost_table_shows_cost_badges_and_total_in_full(
    live_server, client, org_a, labelled_order, chromium_path, width
):
    from playwright.sync_api import expect

    member = MembershipFactory(organization=org_a, role=Role.MEMBER, user__username="lee")
    with signed_in_browser(live_server, client, member.user, chromium_path) as (context, errors):
        page = context.new_page()
        page.set_viewport_size({"width": width, "height": 1000})
        page.goto(f"{live_server.url}/o/{org_a.slug}/sales/{labelled_order.pk}/")
        table = page.get_by_test_id("label-costs")
        expect(table).to_be_visible()
        table.scroll_into_view_if_needed()
        page.screenshot(path=screenshot_dir() / f"order-label-costs-{width}.png", full_page=True)

        cells = {
            "cost header": table.locator("thead th", has_text="Cost"),
            "insured cost": table.locator("tbody td.money", has_text="insurance"),
            "voided badge": table.get_by_text("Voided", exact=True),
            "return badge": table.get_by_text("Return label", exact=True),
            "total": table.get_by_test_id("outbound-label-total"),
            "return total": table.get_by_test_id("return-label-total"),
        }
        measured = {name: visible_box(cell) for name, cell in cells.items()}
        cut = {name: m["clipped"] for name, m in measured.items() if m["clipped"] > 0.5}
        assert cut == {}, f"cut off at {width} px: {measured}"
        # Nothing scrolls sideways: the table fits the card it sits in.
        overflow = table.evaluate(
            "(t) => t.parentElement.scrollWidth - t.parentElement.clientWidth"
        )
        assert overflow <= 0
        # Return labels are not outbound shipping: their total is a row of its own.
        expect(table.get_by_test_id("outbound-label-total")).to_have_text("50.95")
        expect(table.get_by_test_id("return-label-total")).to_have_text("11.20")
        assert errors == []
