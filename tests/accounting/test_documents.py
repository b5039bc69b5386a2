"""The document builder: orders, label costs and days into balanced documents, to the cent."""

from __future__ import annotations

import zoneinfo
from datetime import date
from decimal import Decimal

import pytest

from accounting.ledgers.base import DocumentKind, PostingSide
from accounting.services.documents import (
    DocumentBuildError,
    LedgerFacts,
    build_expense_document,
    build_sale_document,
    build_summary_document,
    fit_document_number,
    idempotency_key,
    summary_totals,
)
from tests.accounting.factories import make_order, make_store_connection, mapped_settings
from tests.factories import LedgerConnectionFactory, ShippingCostFactory

pytestmark = pytest.mark.django_db

NY = zoneinfo.ZoneInfo("America/New_York")


@pytest.fixture
def ledger(org_a):
    return LedgerConnectionFactory(organization=org_a)


def _build(order, ps, *, refs=None, number="SS-1"):
    return build_sale_document(
        order=order,
        lines=list(order.lines.model.all_orgs.filter(order=order)),
        posting_settings=ps,
        facts=LedgerFacts(connection_id=ps.ledger_connection_id, doc_number_max_length=21),
        document_number=number,
        idempotency_key="unify-test",
        source_reference=f"order:{order.pk}",
        refs=refs or {},
        tz=NY,
    )


def test_sale_with_discount_tax_and_shipping_adds_up_to_amount_paid(org_a, ledger):
    ps = mapped_settings(ledger)
    order = make_order(
        org_a,
        lines=[
            ("TSHIRT-BLK-M", "T-Shirt Black M", 2, "19.99", False),
            ("MUG", "Mug", 1, "8.50", False),
            (None, "SPRING10", 1, "-4.00", True),
        ],
        shipping="7.99",
        tax="3.30",
    )
    doc = _build(order, ps)
    assert doc.total == Decimal("55.77") == order.amount_paid
    assert [(line.item.sku, line.quantity, line.unit_price, line.amount) for line in doc.lines] == [
        ("TSHIRT-BLK-M", Decimal("2"), Decimal("19.99"), Decimal("39.98")),
        ("MUG", Decimal("1"), Decimal("8.5"), Decimal("8.50")),
    ]
    assert [(d.description, d.amount, d.account_id) for d in doc.discounts] == [
        ("SPRING10", Decimal("4.00"), "86")
    ]
    assert doc.shipping.amount == Decimal("7.99") and doc.shipping.account_id == "83"
    assert doc.tax == Decimal("3.30")
    assert doc.tax_account_id == "89"  # no tax code mapped: tax goes to the liability account
    assert doc.difference is None
    assert doc.kind == DocumentKind.SALES_RECEIPT
    assert doc.customer.display_name == "Jane Doe"
    assert doc.payment.deposit_account_id == "4" and doc.payment.amount == Decimal("55.77")
    # Paid 15:30 UTC on 4 May is 11:30 in New York: the same day.
    assert doc.issued_on == date(2026, 5, 4)
    assert f"[unify c{ledger.pk} order:{order.pk}]" in doc.memo


def test_zero_priced_line_is_kept_with_zero_amount(org_a, ledger):
    ps = mapped_settings(ledger)
    order = make_order(
        org_a, lines=[("A", "A", 1, "12.00", False), ("FREE-GIFT", "Gift", 1, "0", False)]
    )
    doc = _build(order, ps)
    assert [line.amount for line in doc.lines] == [Decimal("12.00"), Decimal("0.00")]
    assert doc.total == Decimal("12.00")


def test_odd_quantities_round_half_up_and_multiply_exactly(org_a, ledger):
    ps = mapped_settings(ledger, reconciliation_enabled=True)
    order = make_order(org_a, lines=[("BULK", "Bulk", "3", "3.3333", False)], paid="10.00")
    doc = _build(order, ps)
    (line,) = doc.lines
    assert line.amount == Decimal("10.00")
    assert (line.quantity * line.unit_price).quantize(Decimal("0.01")) == line.amount
    assert doc.difference is None and doc.total == Decimal("10.00")


def test_missing_sku_uses_default_item_then_created_item_then_fails(org_a, ledger):
    order = make_order(org_a, lines=[("", "Handmade bowl", 1, "30.00", False)])
    ps = mapped_settings(ledger, default_item_id="19", item_create_missing=False)
    assert _build(order, ps).lines[0].item.external_id == "19"

    ps = mapped_settings(ledger, default_item_id="", item_create_missing=True)
    item = _build(order, ps).lines[0].item
    assert (item.name, item.create_if_missing, item.income_account_id, item.match_key) == (
        "Handmade bowl",
        True,
        "79",
        "item:name:handmade bowl",
    )

    ps = mapped_settings(ledger, default_item_id="", item_create_missing=False)
    with pytest.raises(DocumentBuildError) as info:
        _build(order, ps)
    assert "Handmade bowl" in info.value.user_message


def test_known_references_fill_in_ledger_ids(org_a, ledger):
    ps = mapped_settings(ledger)
    order = make_order(org_a, lines=[("ABC", "Abc", 1, "5.00", False)], shipping="1.00")
    doc = _build(
        order,
        ps,
        refs={"item:sku:abc": "31", "customer:email:jane@example.com": "58", "item:shipping": "7"},
    )
    assert doc.lines[0].item.external_id == "31"
    assert doc.customer.external_id == "58"
    assert doc.shipping.item.external_id == "7"


def test_difference_goes_to_reconciliation_account_when_enabled(org_a, ledger):
    order = make_order(org_a, lines=[("A", "A", 1, "50.00", False)], tax="4.00", paid="50.00")
    ps = mapped_settings(ledger, reconciliation_enabled=True)
    doc = _build(order, ps)
    assert doc.difference.amount == Decimal("-4.00")
    assert doc.difference.account_id == "92"
    assert doc.total == Decimal("50.00")
    assert doc.computed_total == Decimal("50.00")


def test_difference_without_reconciliation_account_fails_naming_both_amounts(org_a, ledger):
    order = make_order(org_a, lines=[("A", "A", 1, "50.00", False)], tax="4.00", paid="50.00")
    ps = mapped_settings(ledger, reconciliation_enabled=False)
    with pytest.raises(DocumentBuildError) as info:
        _build(order, ps)
    message = info.value.user_message
    assert "50.00" in message and "54.00" in message and "-4.00" in message


def test_unmapped_account_is_named(org_a, ledger):
    order = make_order(org_a, lines=[("A", "A", 1, "5.00", False)], shipping="2.00")
    ps = mapped_settings(ledger, shipping_income_account_id="")
    with pytest.raises(DocumentBuildError) as info:
        _build(order, ps)
    assert "shipping income" in info.value.user_message


def test_per_store_customer_and_invoice_kind(org_a, ledger):
    order = make_order(org_a, lines=[("A", "A", 1, "5.00", False)], store_name="Amazon US")
    ps = mapped_settings(ledger, customer_strategy="per_store", document_type="invoice_payment")
    doc = _build(order, ps)
    assert doc.customer.display_name == "Amazon US customers"
    assert doc.kind == DocumentKind.INVOICE_PAYMENT


def test_per_store_customer_of_an_order_without_a_store_is_its_sources(org_a, ledger):
    """The name is the customer's match key: a ShipStation order without a store name goes
    to "ShipStation customers" as it always did; an order file's to its own source's."""
    ps = mapped_settings(ledger, customer_strategy="per_store")
    order = make_order(org_a, lines=[("A", "A", 1, "5.00", False)], store_name="")
    assert _build(order, ps).customer.display_name == "ShipStation customers"
    order.source = "order_file"
    assert _build(order, ps).customer.display_name == "Order file customers"


def test_tax_code_by_destination_wins_over_store_and_default(org_a, ledger):
    order = make_order(
        org_a,
        lines=[("A", "A", 1, "10.00", False)],
        tax="0.83",
        ship_to={"country": "US", "state": "TX"},
    )
    ps = mapped_settings(ledger, default_tax_code_id="2", tax_code_by_destination={"us-tx": "7"})
    doc = _build(order, ps)
    assert doc.tax_code_id == "7" and doc.tax_account_id == ""
    assert doc.lines[0].tax_code_id == "7"


def test_document_numbers_fit_the_limit_without_collisions():
    assert fit_document_number("SS-", "1001", 21) == "SS-1001"
    assert fit_document_number("SS-", "1001", 21, attempt=1) == "SS-1001-2"
    a = fit_document_number("SS-", "113-4455667-1234567-EXTRA", 21)
    b = fit_document_number("SS-", "999-4455667-1234567-EXTRA", 21)
    assert len(a) == len(b) == 21
    assert a != b
    assert a.startswith("SS-") and a.split("~")[0].endswith("1234567-EXTRA"[-8:])
    assert len(fit_document_number("SS-", "113-4455667-1234567-EXTRA", 21, attempt=12)) == 21
    assert fit_document_number("", "x" * 40, 11) != fit_document_number("", "y" + "x" * 39, 11)
    with pytest.raises(DocumentBuildError):
        fit_document_number("ABCDEFGHIJ", "12345", 11, attempt=3)


def test_idempotency_key_is_deterministic_and_fits_requestid():
    key = idempotency_key(connection_id=3, kind="sale", source_reference="order:9", revision=0)
    assert key == idempotency_key(
        connection_id=3, kind="sale", source_reference="order:9", revision=0
    )
    assert key != idempotency_key(
        connection_id=3, kind="sale", source_reference="order:9", revision=1
    )
    assert len(key) <= 50


def test_label_cost_becomes_expense_or_bill(org_a, ledger):
    store = make_store_connection(org_a)
    order = make_order(org_a, lines=[("A", "A", 1, "5.00", False)], connection=store)
    cost = ShippingCostFactory(
        organization=org_a,
        connection=store,
        order=order,
        order_number=order.number,
        cost=Decimal("7.45"),
        insurance=Decimal("1.10"),
    )

    def build(ps):
        return build_expense_document(
            cost=cost,
            order=order,
            posting_settings=ps,
            facts=LedgerFacts(connection_id=ledger.pk, doc_number_max_length=21),
            document_number="SS-L1",
            idempotency_key="k",
            source_reference=f"label:{cost.pk}",
            refs={},
            tz=NY,
        )

    doc = build(mapped_settings(ledger, label_cost_mode="expense", label_vendor_mode="carrier"))
    assert doc.kind == DocumentKind.EXPENSE
    assert doc.vendor.display_name == "USPS"
    assert doc.payment_account_id == "35"
    assert [(x.account_id, x.amount) for x in doc.lines] == [
        ("90", Decimal("7.45")),
        ("90", Decimal("1.10")),
    ]
    assert doc.total == Decimal("8.55")
    assert doc.issued_on == date(2026, 5, 4)

    doc = build(mapped_settings(ledger, label_cost_mode="bill", label_vendor_mode="shipstation"))
    assert doc.kind == DocumentKind.BILL and doc.vendor.display_name == "ShipStation"
    assert doc.payment_account_id == ""

    with pytest.raises(DocumentBuildError):
        build(mapped_settings(ledger, label_cost_mode="off"))


def test_daily_summary_balances_and_equals_the_days_orders(org_a, ledger):
    ps = mapped_settings(ledger, reconciliation_enabled=True)
    orders = [
        make_order(org_a, lines=[("A", "A", 2, "10.00", False)], shipping="5.00", tax="1.65"),
        make_order(
            org_a,
            lines=[("B", "B", 1, "40.00", False), (None, "COUPON", 1, "-5.00", True)],
            tax="2.80",
        ),
        make_order(org_a, lines=[("C", "C", 1, "9.99", False)], paid="9.00"),
    ]
    pairs = [(o, list(o.lines.model.all_orgs.filter(order=o))) for o in orders]
    totals = summary_totals(pairs, ps)
    assert totals.paid == sum(o.amount_paid for o in orders) == Decimal("73.45")
    doc = build_summary_document(
        totals=totals,
        day=date(2026, 5, 4),
        store_name="Web Store",
        currency="USD",
        posting_settings=ps,
        facts=LedgerFacts(connection_id=ledger.pk, doc_number_max_length=21),
        document_number="SS-D20260504",
        idempotency_key="k",
        source_reference="summary:web:2026-05-04",
    )
    assert doc.debits == doc.credits
    lines = {(x.account_id, x.side): x.amount for x in doc.lines}
    assert lines == {
        ("4", PostingSide.DEBIT): Decimal("73.45"),
        ("86", PostingSide.DEBIT): Decimal("5.00"),
        ("79", PostingSide.CREDIT): Decimal("69.99"),
        ("83", PostingSide.CREDIT): Decimal("5.00"),
        ("89", PostingSide.CREDIT): Decimal("4.45"),
        ("92", PostingSide.DEBIT): Decimal("0.99"),
    }


def test_daily_summary_refuses_unexplained_difference(org_a, ledger):
    ps = mapped_settings(ledger, reconciliation_enabled=False)
    order = make_order(org_a, lines=[("C", "C", 1, "9.99", False)], paid="9.00")
    with pytest.raises(DocumentBuildError) as info:
        summary_totals([(order, list(order.lines.model.all_orgs.filter(order=order)))], ps)
    assert "9.00" in info.value.user_message and "9.99" in info.value.user_message


def test_negative_amount_paid_fails_with_a_message(org_a, ledger):
    ps = mapped_settings(ledger, reconciliation_enabled=True)
    order = make_order(org_a, lines=[("A", "A", 1, "2.00", False)], paid="-1.00")
    with pytest.raises(DocumentBuildError) as info:
        _build(order, ps)
    assert "negative total -1.00" in info.value.user_message


def test_buyers_are_known_by_email_and_by_name_only_without_one(org_a, ledger):
    ps = mapped_settings(ledger)
    keys = [
        _build(make_order(org_a, lines=[("A", "A", 1, "5.00", False)], **who), ps).customer
        for who in (
            {"customer_email": "jane@a.com"},
            {"customer_email": "Jane@B.com "},
            {"customer_email": ""},
        )
    ]
    assert [(c.display_name, c.email, c.match_key) for c in keys] == [
        ("Jane Doe", "jane@a.com", "customer:email:jane@a.com"),
        ("Jane Doe", "Jane@B.com", "customer:email:jane@b.com"),
        ("Jane Doe", "", "customer:name:jane doe"),
    ]
