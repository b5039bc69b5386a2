"""Property: whatever lines, quantities, discounts, shipping and tax a sale has, QBO's
TotalAmt is exactly lines - discounts + shipping + tax, to the cent."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.framework import json_loads

CENT = Decimal("0.01")
cents = st.integers(min_value=0, max_value=99_999).map(lambda c: Decimal(c) / 100)
quantities = st.sampled_from(
    [Decimal("1"), Decimal("2"), Decimal("3"), Decimal("0.5"), Decimal("12")]
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(st.tuples(quantities, cents), min_size=1, max_size=6),
    discount_share=st.integers(min_value=0, max_value=100),
    shipping=cents,
    tax=cents,
)
def test_total_amount_is_lines_minus_discounts_plus_shipping_and_tax(
    qbo, api, lines, discount_share, shipping, tax
):
    amounts = [(qty * price).quantize(CENT, ROUND_HALF_UP) for qty, price in lines]
    subtotal = sum(amounts, Decimal("0"))
    discount = (subtotal * discount_share / 100).quantize(CENT, ROUND_HALF_UP)
    body_lines = [
        {
            "Amount": str(amount),
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {
                "ItemRef": {"value": "2"},
                "Qty": str(qty),
                "UnitPrice": str(price),
            },
        }
        for (qty, price), amount in zip(lines, amounts, strict=True)
    ]
    body_lines.append(
        {"Amount": str(discount), "DetailType": "DiscountLineDetail", "DiscountLineDetail": {}}
    )
    body_lines.append(
        {
            "Amount": str(shipping),
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": "SHIPPING_ITEM_ID"}},
        }
    )
    answer = api.post(
        api.url("salesreceipt"),
        json={"Line": body_lines, "TxnTaxDetail": {"TotalTax": str(tax)}},
    )
    assert answer.status_code == 200, answer.text
    receipt = json_loads(answer.content)["SalesReceipt"]
    assert receipt["TotalAmt"] == subtotal - discount + shipping + tax
    stored = qbo.document("SalesReceipt", receipt["Id"])
    assert stored["TotalAmt"] == subtotal - discount + shipping + tax
