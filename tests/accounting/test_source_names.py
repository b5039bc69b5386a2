"""Issue 15: accounting names the order source from the source registry (the connection's
provider), never a hard-coded "ShipStation"; and reads a source's own order figures through
its provider."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounting.forms import connected_source_names, label_vendor_choices
from accounting.models import LabelVendorMode
from accounting.services.differences import unitemised_discount
from tests.accounting.factories import make_order, make_store_connection

pytestmark = pytest.mark.django_db


def test_the_label_seller_choice_is_named_after_the_connected_source(org_a, org_b):
    make_store_connection(org_a)
    choices = dict(label_vendor_choices(connected_source_names(org_a.pk)))
    assert choices[LabelVendorMode.LABEL_SELLER] == "ShipStation"
    assert LabelVendorMode.LABEL_SELLER == "shipstation"  # the stored value is unchanged
    # No connection yet: the neutral wording.
    assert dict(label_vendor_choices(connected_source_names(org_b.pk)))[
        LabelVendorMode.LABEL_SELLER
    ] == str(LabelVendorMode.LABEL_SELLER.label)


def test_an_unitemised_discount_is_read_by_the_orders_source(org_a):
    order = make_order(org_a, lines=[("A", "A", 1, "30.00", False)], paid="25.00")
    order.raw = {"orderTotal": 30.0, "amountPaid": 25.0}
    assert unitemised_discount(order) == Decimal("5.00")
    # An order file's discounts are itemised: the same figures mean nothing there.
    order.source = "order_file"
    assert unitemised_discount(order) is None
