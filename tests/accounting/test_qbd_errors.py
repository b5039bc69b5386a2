"""QuickBooks Desktop: names, QuickBooks' refusals and failures, each ending as a clear
posting error or a reuse, never a crash; label costs and daily summaries as their qbXML
documents. The Web Connector simulator drives the live server over HTTP."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.ledgers.qbd.models import QbdDocument
from accounting.models import Posting, PostingState
from sales.models import Order
from sandbox.qbwc import Company
from tests.accounting.factories import make_order, make_store_connection
from tests.accounting.qbd.support import (
    catalog_run,
    connect,
    enqueue,
    map_settings,
    web_connector,
)
from tests.factories import ShippingCostFactory
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def books(live_server, org_a, settings):
    settings.QBD_BUSY_SECONDS = 0
    company = Company()
    credentials = connect(org_a)
    catalog_run(live_server, credentials, company)
    map_settings(credentials.connection, company)
    return company, credentials


def _order(org, number: str, **kwargs):
    now = timezone.now()
    kwargs.setdefault("lines", [("MUG-BLUE", "Blue mug", 1, "20.00", False)])
    return make_order(
        org,
        number=number,
        order_date=now - timedelta(hours=3),
        payment_date=now - timedelta(hours=3),
        **kwargs,
    )


def _statuses(org) -> dict[str, str]:
    with org_scope(org.pk):
        return dict(Posting.objects.values_list("document_number", "status"))


def test_long_names_are_fitted_to_quickbooks_limits_without_collisions(live_server, org_a, books):
    company, credentials = books
    long_name = "Maximiliana Alexandrina Featherstonehaugh-Worthington"
    orders = [
        _order(
            org_a,
            "L-1",
            customer_name=long_name,
            lines=[("SKU-" + "X" * 30 + "-RED", "Red", 1, "10.00", False)],
        ),
        _order(
            org_a,
            "L-2",
            customer_name=long_name,
            lines=[("SKU-" + "X" * 30 + "-BLUE", "Blue", 1, "12.00", False)],
        ),
    ]
    enqueue(org_a, orders)

    assert web_connector(live_server, credentials, company).run().finished

    assert _statuses(org_a) == {"SS-L-1": "posted", "SS-L-2": "posted"}
    customers = company.of_kind("customer")
    assert len(customers) == 1 and len(customers[0].name) <= 41
    assert customers[0].name.startswith("Maximiliana Alexandrina")
    items = [i for i in company.of_kind("item") if i.name.startswith("SKU-")]
    assert len(items) == 2 and len({i.name for i in items}) == 2
    assert all(len(i.name) <= 31 for i in items)


def test_names_in_use_are_reused_or_qualified(live_server, org_a, books):
    company, credentials = books
    same = company.add_name("customer", "Jane Doe", email="jane@example.com")
    company.add_name("customer", "John Roe", email="someone-else@example.com")
    company.add_name("vendor", "Ann Vendor")
    orders = [
        _order(org_a, "N-1", customer_name="Jane Doe", customer_email="jane@example.com"),
        _order(org_a, "N-2", customer_name="John Roe", customer_email="john@example.com"),
        _order(org_a, "N-3", customer_name="Ann Vendor", customer_email="ann@example.com"),
    ]
    enqueue(org_a, orders)

    assert web_connector(live_server, credentials, company).run().finished

    assert set(_statuses(org_a).values()) == {"posted"}
    by_ref = {t.ref_number: t for t in company.transactions("SalesReceipt")}
    assert by_ref["SS-N-1"].entity_id == same.list_id  # the same buyer: reused
    john = company.lists[by_ref["SS-N-2"].entity_id]
    assert john.name == "John Roe (john@example.com)" and john.email == "john@example.com"
    ann = company.lists[by_ref["SS-N-3"].entity_id]
    assert ann.kind == "customer" and ann.name == "Ann Vendor (ann@example.com)"


def test_a_missing_account_fails_the_posting_with_quickbooks_message(live_server, org_a, books):
    company, credentials = books
    map_settings(credentials.connection, company, deposit_account_id="80000099-1111111111")
    order = _order(org_a, "M-1")
    enqueue(org_a, [order])

    result = web_connector(live_server, credentials, company).run()

    assert result.finished
    with org_scope(org_a.pk):
        posting = Posting.objects.get()
        assert posting.status == PostingState.FAILED
        assert "invalid reference to QuickBooks Account" in posting.error
        assert "(error 3140)" in posting.error
        assert Order.objects.get().posting_status == "failed"
    assert company.transactions("SalesReceipt") == []


def test_a_customer_deleted_in_quickbooks_is_looked_up_again(live_server, org_a, books):
    company, credentials = books
    enqueue(org_a, [_order(org_a, "D-1")])
    assert web_connector(live_server, credentials, company).run().finished
    jane = company.find("customer", "Jane Doe")
    company.delete(jane.list_id)
    enqueue(org_a, [_order(org_a, "D-2")])

    assert web_connector(live_server, credentials, company).run().finished

    assert _statuses(org_a) == {"SS-D-1": "posted", "SS-D-2": "posted"}
    second = next(t for t in company.transactions("SalesReceipt") if t.ref_number == "SS-D-2")
    assert company.lists[second.entity_id].name == "Jane Doe"


def test_quickbooks_refusing_a_document_fails_only_that_posting(live_server, org_a, books):
    company, credentials = books
    company.refuse_refs["SS-R-2"] = (3180, "There was an error when saving a SalesReceipt.")
    enqueue(org_a, [_order(org_a, "R-1"), _order(org_a, "R-2"), _order(org_a, "R-3")])

    assert web_connector(live_server, credentials, company).run().finished

    assert _statuses(org_a) == {"SS-R-1": "posted", "SS-R-2": "failed", "SS-R-3": "posted"}
    with org_scope(org_a.pk):
        failed = Posting.objects.get(document_number="SS-R-2")
    assert failed.error == (
        "QuickBooks Desktop refused it: There was an error when saving a SalesReceipt. (error 3180)"
    )


def test_an_hresult_failure_ends_the_run_and_the_next_run_posts_once(live_server, org_a, books):
    company, credentials = books
    connector = web_connector(live_server, credentials, company)
    enqueue(org_a, [_order(org_a, "H-0")])
    assert connector.run().finished  # the customer and item are known from now on
    enqueue(org_a, [_order(org_a, "H-1"), _order(org_a, "H-2")])
    # The next message (the two sales receipts) fails as a whole in QuickBooks.
    company.hresult_messages = 1

    failed = connector.run()

    assert failed.errors and "Could not start QuickBooks" in failed.errors[0]
    with org_scope(org_a.pk):
        steps = dict(QbdDocument.objects.values_list("posting__document_number", "step"))
    assert steps == {"SS-H-0": "done", "SS-H-1": "sent", "SS-H-2": "sent"}
    assert connector.run().finished
    assert sorted(t.ref_number for t in company.transactions("SalesReceipt")) == [
        "SS-H-0",
        "SS-H-1",
        "SS-H-2",
    ]
    assert set(_statuses(org_a).values()) == {"posted"}


def test_label_costs_as_bills_and_card_charges_and_daily_summaries(live_server, org_a, books):
    company, credentials = books
    store = make_store_connection(org_a)
    order = _order(org_a, "E-1")
    ShippingCostFactory(organization=org_a, connection=store, order=order, order_number="E-1")
    map_settings(credentials.connection, company, label_cost_mode="bill")
    enqueue(org_a, [order])
    assert web_connector(live_server, credentials, company).run().finished
    bills = company.transactions("Bill")
    assert [(b.ref_number, Decimal(b.total)) for b in bills] == [("SS-E-1-L", Decimal("7.45"))]
    assert company.lists[bills[0].entity_id].name == "ShipStation"

    other = _order(org_a, "E-2")
    ShippingCostFactory(organization=org_a, connection=store, order=other, order_number="E-2")
    map_settings(
        credentials.connection,
        company,
        label_cost_mode="expense",
        label_payment_account_id="Company Visa",
    )
    enqueue(org_a, [other])
    assert web_connector(live_server, credentials, company).run().finished
    charges = company.transactions("CreditCardCharge")
    assert [(c.ref_number, Decimal(c.total)) for c in charges] == [("SS-E-2-L", Decimal("7.45"))]
    assert company.lists[charges[0].account_id].name == "Company Visa"


def test_daily_summary_is_one_balanced_journal_entry(live_server, org_a, books):
    company, credentials = books
    map_settings(credentials.connection, company, document_type="daily_summary")
    day = timezone.now() - timedelta(days=1)
    orders = [
        make_order(
            org_a,
            number=f"S-{i}",
            lines=[("MUG", "Mug", 1, "10.00", False)],
            shipping="5.00",
            tax="1.00",
            order_date=day,
            payment_date=day,
        )
        for i in range(3)
    ]
    enqueue(org_a, orders)

    assert web_connector(live_server, credentials, company).run().finished

    entries = company.transactions("JournalEntry")
    assert len(entries) == 1 and Decimal(entries[0].total) == Decimal("48.00")
    debits = sum(Decimal(x["amount"]) for x in entries[0].lines if x["side"] == "debit")
    credits = sum(Decimal(x["amount"]) for x in entries[0].lines if x["side"] == "credit")
    assert debits == credits == Decimal("48.00")
    with org_scope(org_a.pk):
        assert set(Order.objects.values_list("posting_status", flat=True)) == {"posted"}
