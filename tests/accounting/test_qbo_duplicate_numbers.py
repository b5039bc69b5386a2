"""Duplicate document numbers: QuickBooks answers a DocNumber already used with 6140 or 6210
("Duplicate Document Number Error"), and Unify handles both the same way for every document
type: ours from an earlier lost answer is found (by number and marker) and counted as posted,
anyone else's document with that number is a refusal in QuickBooks' words. (6210 is not the
closed-books answer: that is 5010 "Account Period Closed"; see provider-facts.)"""

from __future__ import annotations

import zoneinfo
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from accounting.ledgers.base import (
    DocumentKind,
    ExpenseDocument,
    ExpenseLine,
    JournalLine,
    PartyRef,
    PostingSide,
    SummaryDocument,
    document_marker,
)
from accounting.ledgers.qbo import faults as qbo_faults
from accounting.services.connections import ledger_adapter
from accounting.services.documents import LedgerFacts, build_sale_document
from tests.accounting.factories import make_order
from unify.core.exceptions import ProviderRejected

pytestmark = pytest.mark.django_db

NY = zoneinfo.ZoneInfo("America/New_York")
ALL_TYPES = ("SalesReceipt", "Invoice", "Purchase", "Bill", "JournalEntry")


def _document(kind: DocumentKind, org, connection, key: str, number: str):
    memo = document_marker(connection_id=connection.pk, source_reference=f"test:{number}")
    if kind in (DocumentKind.SALES_RECEIPT, DocumentKind.INVOICE_PAYMENT):
        order = make_order(org, lines=[("A", "Alpha", 1, "12.00", False)])
        doc = build_sale_document(
            order=order,
            lines=list(order.lines.model.all_orgs.filter(order=order)),
            posting_settings=connection.posting_settings,
            facts=LedgerFacts(connection_id=connection.pk, doc_number_max_length=21),
            document_number=number,
            idempotency_key=key,
            source_reference=f"test:{number}",
            refs={},
            tz=NY,
        )
        return replace(doc, kind=kind)
    if kind == DocumentKind.JOURNAL_ENTRY:
        return SummaryDocument(
            idempotency_key=key,
            reference=number,
            source_reference=f"test:{number}",
            issued_on=date(2026, 6, 1),
            currency="USD",
            lines=(
                JournalLine("4", PostingSide.DEBIT, Decimal("30.00"), "Sales"),
                JournalLine("79", PostingSide.CREDIT, Decimal("30.00"), "Sales"),
            ),
            memo=memo,
        )
    return ExpenseDocument(
        idempotency_key=key,
        reference=number,
        source_reference=f"test:{number}",
        kind=kind,
        vendor=PartyRef(display_name="USPS", external_id="57"),
        issued_on=date(2026, 6, 1),
        currency="USD",
        lines=(ExpenseLine("90", Decimal("8.40"), "Label"),),
        payment_account_id="35" if kind == DocumentKind.EXPENSE else "",
        payment_account_type="Bank" if kind == DocumentKind.EXPENSE else "",
        memo=memo,
    )


KINDS = [
    DocumentKind.SALES_RECEIPT,
    DocumentKind.INVOICE_PAYMENT,
    DocumentKind.EXPENSE,
    DocumentKind.BILL,
    DocumentKind.JOURNAL_ENTRY,
]
ENTITY = {
    DocumentKind.SALES_RECEIPT: "salesreceipt",
    DocumentKind.INVOICE_PAYMENT: "invoice",
    DocumentKind.EXPENSE: "purchase",
    DocumentKind.BILL: "bill",
    DocumentKind.JOURNAL_ENTRY: "journalentry",
}


@pytest.mark.parametrize("code", [6140, 6210])
@pytest.mark.parametrize("kind", KINDS)
def test_our_document_behind_a_duplicate_number_counts_as_posted(
    org_a, qbo, qbo_ledger, kind, code
):
    qbo.set_duplicate_doc_number_check(True, entities=ALL_TYPES, code=code)
    adapter = ledger_adapter(qbo_ledger)
    first = adapter.post(_document(kind, org_a, qbo_ledger, "unify-dup-1", "SS-DUP1"))
    # The same document again under another request id (the first answer was lost and the
    # replay window has passed): QuickBooks refuses the number; Unify finds its own.
    again = adapter.post(_document(kind, org_a, qbo_ledger, "unify-dup-2", "SS-DUP1"))

    assert again.external_id == first.external_id
    assert [d["Id"] for d in qbo.documents(ENTITY[kind])] == [first.external_id]


@pytest.mark.parametrize("code", [6140, 6210])
@pytest.mark.parametrize("kind", [DocumentKind.BILL, DocumentKind.JOURNAL_ENTRY])
def test_someone_elses_document_with_our_number_is_a_refusal(org_a, qbo, qbo_ledger, kind, code):
    qbo.set_duplicate_doc_number_check(True, entities=ALL_TYPES, code=code)
    adapter = ledger_adapter(qbo_ledger)
    # Another source's document (no marker of ours) holds the number already.
    theirs = replace(
        _document(kind, org_a, qbo_ledger, "unify-dup-3", "SS-DUP2"), memo="posted by hand"
    )
    adapter.post(theirs)

    with pytest.raises(ProviderRejected) as refused:
        adapter.post(_document(kind, org_a, qbo_ledger, "unify-dup-4", "SS-DUP2"))
    assert refused.value.field_errors["code"] == str(code)
    assert "Duplicate Document Number" in refused.value.user_message
    assert len(qbo.documents(ENTITY[kind])) == 1


def test_6210_is_a_duplicate_number_and_closed_books_are_5010_with_their_words():
    assert qbo_faults.is_duplicate_doc_number(6210)
    assert qbo_faults.is_duplicate_doc_number(6140)
    assert not qbo_faults.is_period_closed(6210, "Duplicate Document Number Error")
    assert qbo_faults.is_period_closed(
        5010, "Account Period Closed", "The account period has closed."
    )
    # 5010 without those words is a stale SyncToken.
    assert not qbo_faults.is_period_closed(5010, "Stale Object Error", "")
