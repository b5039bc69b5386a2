"""Posting to Xero through the stand-in over HTTP (xero-python): what each document becomes,
batches of 50 where bad documents fail alone, the Idempotency-Key of a batch, and documents
found after a lost answer."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from accounting.models import Posting, PostingSettings
from accounting.services import posting_enqueue_orders, posting_retry_failed
from accounting.services.engine import posting_drain
from sandbox.xero import DEFAULT_TENANT_ID as T
from tests.accounting.factories import make_order, make_store_connection
from tests.factories import ShippingCostFactory
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

D = Decimal


def _post(org, ledger, orders):
    with org_scope(org.pk):
        posting_enqueue_orders(organization=org, order_ids=[o.pk for o in orders])
        posting_drain(ledger_connection_id=ledger.pk)
        return {p.order_id: p for p in Posting.objects.filter(kind="sale")}


def _invoices(xero) -> dict[str, dict]:
    return {i["InvoiceNumber"]: i for i in xero.documents("Invoices")}


def _puts(xero, collection: str) -> list:
    return [
        r for r in xero.requests_log(T) if r.method == "PUT" and r.path.endswith(f"/{collection}")
    ]


def test_sale_is_an_authorised_invoice_paid_to_the_deposit_account(org_a, xero, xero_ledger):
    order = make_order(
        org_a,
        lines=[
            ("TSHIRT-BLK-M", "T-Shirt Black M", 2, "19.99", False),
            ("MUG", "Mug", 3, "8.50", False),
            ("", "Spring sale", 1, "-5.00", True),
        ],
        shipping="6.95",
        tax="4.25",
        number="1001",
    )
    posting = _post(org_a, xero_ledger, [order])[order.pk]
    assert posting.status == "posted", posting.error
    invoice = _invoices(xero)["SS-1001"]
    assert (invoice["Type"], invoice["Status"], invoice["LineAmountTypes"]) == (
        "ACCREC",
        "PAID",
        "Exclusive",
    )
    assert invoice["Total"] == order.amount_paid == D("71.68")
    assert invoice["Reference"].startswith(f"[unify c{xero_ledger.pk} order:{order.pk}] Order 1001")
    lines = [(x.get("ItemCode"), x["Description"], x["LineAmount"], x["AccountCode"], x["TaxType"])
             for x in invoice["LineItems"]]  # fmt: skip
    assert lines == [
        ("TSHIRT-BLK-M", "T-Shirt Black M", D("39.98"), "200", "NONE"),
        ("MUG", "Mug", D("25.50"), "200", "NONE"),
        (None, "Shipping", D("6.95"), "210", "NONE"),
        (None, "Spring sale", D("-5.00"), "280", "NONE"),
        (None, "Sales tax", D("4.25"), "820", "NONE"),
    ]
    [payment] = xero.documents("Payments")
    assert (payment["Amount"], payment["Account"]["Code"], payment["Reference"]) == (
        D("71.68"),
        "615",
        "1001",
    )
    assert posting.secondary_external_id == payment["PaymentID"]
    assert posting.deep_link == (
        f"{xero.base_url}/AccountsReceivable/View.aspx?InvoiceID={invoice['InvoiceID']}"
    )
    # Items were created by SKU on the income account; the buyer by email.
    assert {i["Code"]: i["SalesDetails"]["AccountCode"] for i in xero.documents("Items")} == {
        "TSHIRT-BLK-M": "200",
        "MUG": "200",
    }
    [contact] = xero.documents("Contacts")
    assert (contact["Name"], contact["EmailAddress"]) == ("Jane Doe", "jane@example.com")


def test_tax_code_spreads_the_orders_tax_over_its_lines_to_the_cent(org_a, xero, xero_ledger):
    PostingSettings.all_orgs.filter(ledger_connection=xero_ledger).update(
        tax_code_by_destination={"US-CA": "TAX001"}
    )
    order = make_order(
        org_a,
        lines=[("A", "Alpha", 3, "3.33", False), ("B", "Beta", 1, "10.01", False)],
        tax="1.45",  # marketplace tax, not 7.25 % of the lines
        ship_to={"country": "US", "state": "CA"},
        number="2001",
    )
    posting = _post(org_a, xero_ledger, [order])[order.pk]
    assert posting.status == "posted", posting.error
    invoice = _invoices(xero)["SS-2001"]
    assert [(x["TaxType"], x["TaxAmount"]) for x in invoice["LineItems"]] == [
        ("TAX001", D("0.72")),
        ("TAX001", D("0.73")),
    ]
    assert (invoice["TotalTax"], invoice["Total"]) == (D("1.45"), order.amount_paid)


def test_unit_amounts_go_with_four_decimals_or_as_one_unit_at_the_amount(org_a, xero, xero_ledger):
    from accounting.ledgers.xero.documents import _line

    fits = make_order(org_a, lines=[("Q", "Third", 3, "0.3333", False)], number="2100")
    _post(org_a, xero_ledger, [fits])
    # 3 x 0.3333 = 0.9999, which Xero rounds to the line's 1.00: kept as sent.
    [line] = _invoices(xero)["SS-2100"]["LineItems"]
    assert (line["Quantity"], line["UnitAmount"], line["LineAmount"]) == (
        D("3.0000"),
        D("0.3333"),
        D("1.00"),
    )
    # 1000 x 0.0033 is 3.30, not 3.33: one unit at the amount, the quantity in the text.
    assert _line("Tiny", D("1000"), D("0.00333"), D("3.33")) == {
        "Description": "Tiny (1000 x 0.00333)",
        "Quantity": D(1),
        "UnitAmount": D("3.33"),
    }


def test_reconciliation_difference_is_its_own_line(org_a, xero, xero_ledger):
    PostingSettings.all_orgs.filter(ledger_connection=xero_ledger).update(
        reconciliation_enabled=True
    )
    order = make_order(
        org_a, lines=[("A", "Alpha", 1, "10.00", False)], paid="10.37", number="3001"
    )
    _post(org_a, xero_ledger, [order])
    invoice = _invoices(xero)["SS-3001"]
    assert invoice["Total"] == D("10.37")
    assert invoice["LineItems"][-1]["AccountCode"] == "870"
    assert invoice["LineItems"][-1]["LineAmount"] == D("0.37")


def test_two_buyers_of_one_name_get_their_own_contacts(org_a, xero, xero_ledger):
    xero.add_document("Contacts", {"Name": "Jane Doe", "EmailAddress": "jane@old.example"}, T)
    first = make_order(org_a, lines=[("A", "A", 1, "5.00", False)], customer_email="jane@a.example")
    again = make_order(org_a, lines=[("A", "A", 1, "5.00", False)], customer_email="jane@a.example")
    postings = _post(org_a, xero_ledger, [first, again])
    assert {p.status for p in postings.values()} == {"posted"}
    names = sorted(c["Name"] for c in xero.documents("Contacts"))
    assert names == ["Jane Doe", "Jane Doe (jane@a.example)"]
    invoices = _invoices(xero)
    contact_ids = {invoices[f"SS-{o.number}"]["Contact"]["ContactID"] for o in (first, again)}
    assert len(contact_ids) == 1


def test_label_costs_as_spend_transactions_or_bills(org_a, xero, xero_ledger):
    store = make_store_connection(org_a)
    order = make_order(org_a, lines=[("A", "A", 1, "5.00", False)], connection=store, number="4001")
    ShippingCostFactory(organization=org_a, connection=store, order=order, cost=D("7.45"),
                        order_number="4001")  # fmt: skip
    _post(org_a, xero_ledger, [order])
    [spend] = xero.documents("BankTransactions")
    assert (spend["Type"], spend["BankAccount"]["Code"], spend["Total"]) == (
        "SPEND",
        "090",
        D("7.45"),
    )
    assert spend["LineItems"][0]["AccountCode"] == "425"
    assert spend["Reference"].startswith("SS-4001-L [unify c")
    assert spend["Contact"]["Name"] == "ShipStation"

    PostingSettings.all_orgs.filter(ledger_connection=xero_ledger).update(label_cost_mode="bill")
    second = make_order(
        org_a, lines=[("A", "A", 1, "5.00", False)], connection=store, number="4002"
    )
    ShippingCostFactory(organization=org_a, connection=store, order=second, cost=D("4.10"),
                        insurance=D("1.00"), order_number="4002")  # fmt: skip
    _post(org_a, xero_ledger, [second])
    bills = [i for i in xero.documents("Invoices") if i["Type"] == "ACCPAY"]
    assert [(b["InvoiceNumber"], b["Total"], b["Status"]) for b in bills] == [
        ("SS-4002-L", D("5.10"), "AUTHORISED")
    ]


def test_daily_summary_is_a_balanced_manual_journal(org_a, xero, xero_settings):
    from tests.accounting.xero_support import connect_xero

    ledger = connect_xero(
        org_a, xero, document_type="daily_summary", label_cost_mode="off", trigger="manual"
    )
    orders = [
        make_order(org_a, lines=[("A", "A", 2, "10.00", False)], shipping="5.00", tax="1.60")
        for _ in range(3)
    ]
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in orders])
        posting_drain(ledger_connection_id=ledger.pk)
        [posting] = Posting.objects.filter(kind="summary")
    assert posting.status == "posted", posting.error
    [journal] = xero.documents("ManualJournals")
    amounts = [line["LineAmount"] for line in journal["JournalLines"]]
    assert sum(amounts) == 0
    by_account = {line["AccountCode"]: line["LineAmount"] for line in journal["JournalLines"]}
    assert by_account == {"615": D("79.80"), "200": D("-60.00"), "210": D("-15.00"),
                          "820": D("-4.80")}  # fmt: skip
    assert journal["Status"] == "POSTED"
    assert journal["Narration"].startswith(f"[unify c{ledger.pk} summary:")


def test_batch_of_50_with_3_invalid_posts_47_and_retry_after_the_fix_posts_the_3(
    org_a, xero, xero_ledger
):
    # Three orders ship to a state mapped to a tax rate Xero no longer has.
    PostingSettings.all_orgs.filter(ledger_connection=xero_ledger).update(
        tax_code_by_destination={"US-ZZ": "TAX999"}
    )
    orders = [
        make_order(
            org_a,
            lines=[("SKU-1", "Widget", 1, "10.00", False)],
            tax="0.80" if i in (7, 21, 40) else "0",
            ship_to={"country": "US", "state": "ZZ" if i in (7, 21, 40) else "NV"},
            number=str(5000 + i),
            customer_name="Repeat Buyer",
            customer_email="repeat@example.com",
        )
        for i in range(50)
    ]
    postings = _post(org_a, xero_ledger, orders)
    statuses = Counter(p.status for p in postings.values())
    assert statuses == Counter(posted=47, failed=3)
    failed = sorted(o.number for o in orders if postings[o.pk].status == "failed")
    assert failed == ["5007", "5021", "5040"]
    for order in orders:
        if order.number in failed:
            assert postings[order.pk].error == (
                f"Xero refused document SS-{order.number}: The TaxType code 'TAX999' does not "
                "exist or cannot be used for this type of transaction."
            )
    # One PUT for the 50 invoices, one for the 47 payments.
    assert len(_puts(xero, "Invoices")) == 1 and len(_puts(xero, "Payments")) == 1
    assert len(xero.documents("Invoices")) == 47

    PostingSettings.all_orgs.filter(ledger_connection=xero_ledger).update(
        tax_code_by_destination={"US-ZZ": "TAX001"}
    )
    with org_scope(org_a.pk):
        batch = posting_retry_failed(organization=org_a)
        assert batch.total == 3
        posting_drain(ledger_connection_id=xero_ledger.pk)
        assert Counter(Posting.objects.values_list("status", flat=True)) == Counter(posted=50)
    invoices = _invoices(xero)
    assert len(invoices) == 50 and sorted(invoices) == sorted(f"SS-{o.number}" for o in orders)
    retry_put = _puts(xero, "Invoices")[-1]
    assert len(_puts(xero, "Invoices")) == 2
    assert [e["elements"] for e in xero.events("write") if e["collection"] == "Invoices"] == [50, 3]
    assert retry_put.status == 200
    assert all(i["Status"] == "PAID" for i in invoices.values())


def test_a_lost_answer_is_replayed_by_its_idempotency_key_not_posted_twice(
    org_a, xero, xero_ledger
):
    orders = [make_order(org_a, lines=[("A", "A", 1, "9.00", False)]) for _ in range(5)]
    xero.inject_after_commit_faults("bad_gateway", count=1, path_prefix="/api.xro/2.0/Invoices")
    postings = _post(org_a, xero_ledger, orders)
    assert {p.status for p in postings.values()} == {"posted"}
    assert len(xero.documents("Invoices")) == 5 and len(xero.documents("Payments")) == 5
    [replay] = xero.events("idempotent_replay")
    assert replay["path"].endswith("/Invoices")
    statuses = [r.status for r in _puts(xero, "Invoices")]
    assert statuses == [502, 200]


def test_documents_found_after_an_interrupted_attempt_are_completed_not_resent(
    org_a, xero, xero_ledger
):
    orders = [make_order(org_a, lines=[("A", "A", 1, "9.00", False)]) for _ in range(3)]
    _post(org_a, xero_ledger, orders)
    # As after a crash between Xero's answer and our commit: in flight, sent, lease over; and
    # one invoice lost its payment in Xero meanwhile (never sent, say).
    [first_payment] = [p for p in xero.documents("Payments")][:1]
    with xero.organisation(T).lock:
        from sandbox.xero.documents import _delete_payment

        _delete_payment(xero.organisation(T), first_payment, [])
    from datetime import timedelta

    from django.utils import timezone

    with org_scope(org_a.pk):
        Posting.objects.update(
            status="in_flight",
            lease_until=timezone.now() - timedelta(seconds=1),
            sent_at=timezone.now(),
            lease_token="dead",
        )
        posting_drain(ledger_connection_id=xero_ledger.pk)
        postings = list(Posting.objects.all())
    assert {p.status for p in postings} == {"posted"}
    assert len(_puts(xero, "Invoices")) == 1  # none sent again
    assert len(xero.documents("Invoices")) == 3
    assert all(i["Status"] == "PAID" for i in xero.documents("Invoices"))
    live = [p for p in xero.documents("Payments") if p["Status"] != "DELETED"]
    assert len(live) == 3
    assert any("Found in the ledger" in e for p in postings for e in p.events.values_list(
        "message", flat=True))  # fmt: skip


def test_a_number_someone_else_used_in_xero_fails_with_xeros_words(org_a, xero, xero_ledger):
    xero.add_document(
        "Invoices",
        {"Type": "ACCREC", "Contact": {"Name": "Walk-in"}, "InvoiceNumber": "SS-6001",
         "Status": "AUTHORISED",
         "LineItems": [{"Description": "x", "UnitAmount": "1.00", "AccountCode": "200"}]},
        T,
    )  # fmt: skip
    order = make_order(org_a, lines=[("A", "A", 1, "9.00", False)], number="6001")
    posting = _post(org_a, xero_ledger, [order])[order.pk]
    assert posting.status == "failed"
    assert posting.error == "Xero refused document SS-6001: Invoice # must be unique."
    assert len(xero.documents("Invoices")) == 1


def test_a_closed_period_fails_with_the_lock_date(org_a, xero, xero_ledger):
    xero.set_lock_dates(period=date(2026, 5, 31))
    order = make_order(org_a, lines=[("A", "A", 1, "9.00", False)], number="7001")
    posting = _post(org_a, xero_ledger, [order])[order.pk]
    assert posting.status == "failed"
    assert "cannot be before the period lock date, currently set at 31 May 2026" in posting.error
