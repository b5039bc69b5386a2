"""The QBO adapter against the stand-in, over HTTP, through python-quickbooks."""

from __future__ import annotations

import zoneinfo
from decimal import Decimal

import pytest

from accounting.ledgers.base import DocumentKind, document_marker
from accounting.services.connections import ledger_adapter
from accounting.services.documents import LedgerFacts, build_sale_document
from tests.accounting.factories import make_order

pytestmark = pytest.mark.django_db

NY = zoneinfo.ZoneInfo("America/New_York")


def _sale(order, connection, number="SS-1"):
    return build_sale_document(
        order=order,
        lines=list(order.lines.model.all_orgs.filter(order=order)),
        posting_settings=connection.posting_settings,
        facts=LedgerFacts(connection_id=connection.pk, doc_number_max_length=21),
        document_number=number,
        idempotency_key=f"unify-test-{order.pk}",
        source_reference=f"order:{order.pk}",
        refs={},
        tz=NY,
    )


def test_verify_names_the_company(qbo_ledger):
    assert ledger_adapter(qbo_ledger).verify().name == "Sandbox Company_US_1"


def test_catalog_lists_seeded_accounts_items_and_vendors(qbo_ledger):
    catalog = ledger_adapter(qbo_ledger).fetch_catalog()
    accounts = {a.id: (a.name, a.kind) for a in catalog.accounts}
    assert accounts["4"] == ("Undeposited Funds", "Other Current Asset")
    assert accounts["35"] == ("Checking", "Bank")
    assert {"ShipStation", "USPS"} <= {v.name for v in catalog.vendors}
    assert "Shipping" in {i.name for i in catalog.items}
    assert catalog.payment_methods


def test_sales_receipt_posts_once_with_the_orders_total(org_a, qbo, qbo_ledger):
    order = make_order(
        org_a,
        lines=[
            ("TSHIRT-BLK-M", "T-Shirt Black M", 2, "19.99", False),
            (None, "SPRING10", 1, "-4.00", True),
        ],
        shipping="7.99",
        tax="3.30",
    )
    doc = _sale(order, qbo_ledger)
    adapter = ledger_adapter(qbo_ledger)
    result = adapter.post(doc)
    again = adapter.post(doc)  # same requestid: Intuit replays the first answer

    assert result.external_id == again.external_id
    receipts = [r for r in qbo.documents("salesreceipt") if r.get("DocNumber") == "SS-1"]
    assert len(receipts) == 1
    (receipt,) = receipts
    assert Decimal(str(receipt["TotalAmt"])) == Decimal("47.27") == order.amount_paid
    assert result.number == "SS-1"
    assert result.deep_link.endswith(f"/app/salesreceipt?txnId={result.external_id}")
    assert result.resolved["item:sku:tshirt-blk-m"]
    assert result.resolved["customer:email:jane@example.com"]
    found = adapter.find_document(
        kind=DocumentKind.SALES_RECEIPT,
        reference="SS-1",
        marker=document_marker(connection_id=qbo_ledger.pk, source_reference=f"order:{order.pk}"),
    )
    assert found is not None and found.external_id == result.external_id
    assert found.total == Decimal("47.27")


def test_customer_names_taken_are_found_or_qualified_never_duplicated(org_a, qbo, qbo_ledger):
    # Amy's email as the seeded customer has it, but in other letter case: the same buyer.
    existing = make_order(
        org_a,
        lines=[("A", "A", 1, "5.00", False)],
        customer_name="Amy's Bird Sanctuary",
        customer_email="birds@intuit.com",
    )
    vendor_named = make_order(org_a, lines=[("A", "A", 1, "5.00", False)], customer_name="UPS")
    adapter = ledger_adapter(qbo_ledger)
    first = adapter.post(_sale(existing, qbo_ledger, number="SS-A"))
    second = adapter.post(_sale(vendor_named, qbo_ledger, number="SS-B"))

    customers = {c["DisplayName"]: c["Id"] for c in qbo.documents("customer")}
    assert first.resolved["customer:email:birds@intuit.com"] == customers["Amy's Bird Sanctuary"]
    assert list(customers).count("Amy's Bird Sanctuary") == 1
    assert second.resolved["customer:email:jane@example.com"] == customers["UPS (customer)"]
    receipt = qbo.document("salesreceipt", second.external_id)
    assert receipt["CustomerRef"]["value"] == customers["UPS (customer)"]
    faults = [e for e in qbo.events("fault") if e.get("code") == "6240"]
    # Created first, found on 6240: once for Amy (a customer), once for UPS (a vendor).
    assert len(faults) == 2


def _customers_named(qbo, prefix):
    return {
        c["DisplayName"]: (c["Id"], c.get("PrimaryEmailAddr", {}).get("Address", ""))
        for c in qbo.documents("customer")
        if c["DisplayName"].startswith(prefix)
    }


def test_two_buyers_with_the_same_name_and_different_emails_are_two_customers(
    org_a, qbo, qbo_ledger
):
    adapter = ledger_adapter(qbo_ledger)
    jane_a = make_order(org_a, lines=[("A", "A", 1, "5.00", False)], customer_email="jane@a.com")
    jane_b = make_order(org_a, lines=[("A", "A", 1, "6.00", False)], customer_email="jane@b.com")
    first = adapter.post(_sale(jane_a, qbo_ledger, number="SS-A"))
    second = adapter.post(_sale(jane_b, qbo_ledger, number="SS-B"))

    customers = _customers_named(qbo, "Jane Doe")
    assert customers == {
        "Jane Doe": (first.resolved["customer:email:jane@a.com"], "jane@a.com"),
        "Jane Doe (jane@b.com)": (second.resolved["customer:email:jane@b.com"], "jane@b.com"),
    }
    assert (
        first.resolved["customer:email:jane@a.com"] != second.resolved["customer:email:jane@b.com"]
    )
    receipt_b = qbo.document("salesreceipt", second.external_id)
    assert receipt_b["CustomerRef"]["value"] == customers["Jane Doe (jane@b.com)"][0]


def test_the_same_buyer_twice_is_one_customer(org_a, qbo, qbo_ledger):
    adapter = ledger_adapter(qbo_ledger)
    jane_b = make_order(org_a, lines=[("A", "A", 1, "5.00", False)], customer_email="jane@b.com")
    adapter.post(_sale(jane_b, qbo_ledger, number="SS-0"))  # takes "Jane Doe"
    orders = [
        make_order(org_a, lines=[("A", "A", 1, amount, False)], customer_email=email)
        for amount, email in (("5.00", "jane@a.com"), ("7.00", "JANE@A.COM"))
    ]
    results = [
        adapter.post(_sale(order, qbo_ledger, number=f"SS-{i}"))
        for i, order in enumerate(orders, start=1)
    ]

    customers = _customers_named(qbo, "Jane Doe")
    assert set(customers) == {"Jane Doe", "Jane Doe (jane@a.com)"}
    ids = {qbo.document("salesreceipt", r.external_id)["CustomerRef"]["value"] for r in results}
    assert ids == {customers["Jane Doe (jane@a.com)"][0]}


def test_buyer_named_like_a_customer_without_email_reuses_it(org_a, qbo, qbo_ledger):
    before = qbo.count("Customer")
    order = make_order(
        org_a,
        lines=[("A", "A", 1, "5.00", False)],
        customer_name="Walk-in Customer",
        customer_email="walkin@example.com",
    )
    result = ledger_adapter(qbo_ledger).post(_sale(order, qbo_ledger, number="SS-W"))

    assert qbo.count("Customer") == before
    (walk_in,) = [c for c in qbo.documents("customer") if c["DisplayName"] == "Walk-in Customer"]
    assert "PrimaryEmailAddr" not in walk_in
    receipt = qbo.document("salesreceipt", result.external_id)
    assert receipt["CustomerRef"]["value"] == walk_in["Id"]


def test_buyer_without_email_reuses_the_customer_of_that_name(org_a, qbo, qbo_ledger):
    before = qbo.count("Customer")
    order = make_order(
        org_a,
        lines=[("A", "A", 1, "5.00", False)],
        customer_name="Bill's Windsurf Shop",
        customer_email="",
    )
    result = ledger_adapter(qbo_ledger).post(_sale(order, qbo_ledger, number="SS-N"))

    assert qbo.count("Customer") == before
    receipt = qbo.document("salesreceipt", result.external_id)
    assert receipt["CustomerRef"]["value"] == "2"
    assert result.resolved["customer:name:bill's windsurf shop"] == "2"


def test_qualified_customer_name_keeps_the_email_within_qbos_limit(org_a, qbo, qbo_ledger):
    long_name = "Jane " + "Q" * 120
    email = "jane.with.a.long.address@example.com"
    adapter = ledger_adapter(qbo_ledger)
    for number, address in (("SS-L1", "other@example.com"), ("SS-L2", email)):
        order = make_order(
            org_a,
            lines=[("A", "A", 1, "5.00", False)],
            customer_name=long_name,
            customer_email=address,
        )
        adapter.post(_sale(order, qbo_ledger, number=number))

    names = sorted(_customers_named(qbo, "Jane Q"), key=len)
    assert len(names) == 2
    assert names[0] == long_name[:100]
    assert len(names[1]) == 100 and names[1].endswith(f" ({email})")
