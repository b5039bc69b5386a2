"""Property: any order (discounts, tax, shipping, odd quantities and prices, a paid amount
that may differ) builds a sale document that balances to the cent, and QuickBooks (the
stand-in, through python-quickbooks) accepts it with the same total."""

from __future__ import annotations

import itertools
import zoneinfo
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounting.services.connections import ledger_adapter
from accounting.services.documents import LedgerFacts, build_sale_document, money
from tests.accounting.factories import make_order

pytestmark = pytest.mark.django_db

NY = zoneinfo.ZoneInfo("America/New_York")
_numbers = itertools.count(1)

quantities = st.sampled_from(["1", "2", "3", "0.5", "1.25", "7", "12", "0.3333"])
prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("250"), places=2) | st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("40"), places=4
)
cents = st.decimals(min_value=Decimal("0"), max_value=Decimal("35"), places=2)


@st.composite
def orders(draw):
    lines = [
        (f"SKU-{draw(st.integers(0, 6))}", "Product", draw(quantities), str(draw(prices)), False)
        for _ in range(draw(st.integers(1, 5)))
    ]
    subtotal = sum(money(Decimal(q) * Decimal(p)) for _s, _n, q, p, _d in lines)
    for _ in range(draw(st.integers(0, 2))):
        room = subtotal - sum(-money(Decimal(p)) for *_x, p, d in lines if d)
        if room > 0:
            discount = draw(st.decimals(min_value=Decimal("0.01"), max_value=room, places=2))
            lines.append((None, "COUPON", "1", str(-discount), True))
    shipping = draw(cents)
    tax = draw(cents)
    difference = draw(st.sampled_from([Decimal("0")] * 3 + [Decimal("-0.01"), Decimal("1.50")]))
    return lines, shipping, tax, difference


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(example=orders())
def test_random_orders_build_balanced_documents_that_qbo_accepts(org_a, qbo, qbo_ledger, example):
    lines, shipping, tax, difference = example
    order = make_order(org_a, lines=lines, shipping=str(shipping), tax=str(tax))
    order.amount_paid = order.amount_paid + difference
    if order.amount_paid < 0:
        return
    order.save()
    ps = qbo_ledger.posting_settings
    ps.reconciliation_enabled = True
    ps.save()
    number = f"P-{next(_numbers)}"
    doc = build_sale_document(
        order=order,
        lines=list(order.lines.model.all_orgs.filter(order=order)),
        posting_settings=ps,
        facts=LedgerFacts(connection_id=qbo_ledger.pk, doc_number_max_length=21),
        document_number=number,
        idempotency_key=f"unify-prop-{number}",
        source_reference=f"order:{order.pk}",
        refs={},
        tz=NY,
    )
    assert doc.computed_total == doc.total == order.amount_paid
    assert all(line.amount == money(line.quantity * line.unit_price) for line in doc.lines)

    result = ledger_adapter(qbo_ledger).post(doc)

    receipt = qbo.document("salesreceipt", result.external_id)
    assert Decimal(str(receipt["TotalAmt"])) == order.amount_paid
    assert receipt["DocNumber"] == number
