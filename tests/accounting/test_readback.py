"""Issue 17, "Done when": an independent read-back of the books.

A ShipStation account made like the demo one (its seed, with merges, splits, quick-ship labels,
fulfillments ...) is imported and posted to a QuickBooks Online stand-in company in each
posting style (sales receipt, invoice + payment, daily summary); then orders are edited,
cancelled, merged and labels voided in ShipStation, imported again and the flagged postings
updated in the ledger. The books are then read back without our own models: ShipStation
through its API and QuickBooks through its query API, both over HTTP. They must show

- each eligible order's sale exactly once, with ShipStation's amount paid (an invoice paid by
  one payment of that amount, or left open when nothing was paid), and no sale for the others;
- every label cost once (by its tracking number), at ShipStation's cost, none for a voided one;
- daily summaries balanced, one currency each and balanced per currency, each day's deposits
  equal to that day's amounts paid;
- nothing on the reconciliation account but each order's unexplained difference (amount
  paid minus items, shipping and tax less discounts, as ShipStation reports them) less what
  has a proper home (tax a marketplace collected, a coupon: ``rb.reconciliation_due``).

Real parts: PostgreSQL, the stand-ins over HTTP, python-quickbooks in Unify. A day summarised
before one of its orders changed must show the corrected figures (issue 17 item 3).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest
import requests

from tests.accounting import readback_support as rb
from tests.accounting.conftest import connect_ledger
from tests.accounting.readback_support import ZERO

pytestmark = pytest.mark.django_db

RECONCILIATION = "92"  # tests/accounting/factories.py: mapped_settings
DEPOSIT = "4"


# -- reading ShipStation and QuickBooks over HTTP ----------------------------------------------


class QuickBooksReader:
    """The company as its query API shows it (``SELECT * FROM <entity>``, paged)."""

    def __init__(self, qbo) -> None:
        token = qbo.issue_tokens()["access_token"]
        self.url = f"{qbo.api_base_url}/company/{qbo.realm_id}/query"
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        )

    def all(self, entity: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        start = 1
        while True:
            select = f"SELECT * FROM {entity} STARTPOSITION {start} MAXRESULTS 1000"
            answer = self.session.get(
                self.url, params={"query": select, "minorversion": 75}, timeout=30
            )
            assert answer.status_code == 200, answer.text
            page = answer.json()["QueryResponse"].get(entity, [])
            rows += page
            if len(page) < 1000:
                return rows
            start += 1000


# -- what ShipStation says should be in the books ------------------------------------------------


def _memo_number(doc: dict[str, Any]) -> str:
    match = rb.ORDER_IN_MEMO.search(str(doc.get("PrivateNote", "")))
    return match.group(1) if match else ""


def _live(doc: dict[str, Any]) -> bool:
    """Voided documents stay in QuickBooks at 0.00; they hold no sale."""
    return rb.money(doc.get("TotalAmt")) != ZERO or "Voided" not in str(doc.get("PrivateNote", ""))


def _reconciled(doc: dict[str, Any]) -> Decimal:
    return sum(
        (
            rb.money(line["Amount"])
            for line in doc.get("Line", [])
            if line.get("DetailType") == "SalesItemLineDetail"
            and line["SalesItemLineDetail"].get("ItemAccountRef", {}).get("value") == RECONCILIATION
        ),
        ZERO,
    )


# -- the checks ----------------------------------------------------------------------------------


def _check_sales(books: QuickBooksReader, orders, style: str, statuses) -> None:
    entity = "SalesReceipt" if style == "sales_receipt" else "Invoice"
    payments = {p["Id"]: p for p in books.all("Payment")} if entity == "Invoice" else {}
    sales = []
    for doc in books.all(entity):
        if not _live(doc):
            continue
        linked = [
            rb.money(payments[link["TxnId"]]["TotalAmt"])
            for link in doc.get("LinkedTxn", [])
            if link.get("TxnType") == "Payment" and link["TxnId"] in payments
        ]
        sales.append(
            rb.Sale(
                number=_memo_number(doc),
                currency=(doc.get("CurrencyRef") or {}).get("value", "USD"),
                total=rb.money(doc["TotalAmt"]),
                reconciled=_reconciled(doc),
                balance=rb.money(doc.get("Balance")),
                payments=linked if entity == "Invoice" else None,
            )
        )
    rb.check_sales(sales, orders, statuses, receipts=entity == "SalesReceipt")
    if payments:
        invoiced = {link["TxnId"] for p in payments.values() for link in _links(p)}
        assert len(invoiced) == len(payments), "a payment on no invoice, or two on one"


def _links(payment: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        link
        for line in payment.get("Line", [])
        for link in line.get("LinkedTxn", [])
        if link.get("TxnType") == "Invoice"
    ]


def _expenses(books: QuickBooksReader) -> list[list[tuple[str, Decimal]]]:
    """Every purchase and bill, as its lines (description, amount)."""
    return [
        [(str(x.get("Description", "")), rb.money(x["Amount"])) for x in purchase["Line"]]
        for purchase in books.all("Purchase") + books.all("Bill")
    ]


def _check_labels(books: QuickBooksReader, orders, labels, posted: set[int]) -> None:
    """``posted``: the ShipStation ids of the orders whose labels must be in the books."""
    purchases = books.all("Purchase") + books.all("Bill")
    expenses = [
        (" ".join(str(line.get("Description", "")) for line in p.get("Line", [])),
         rb.money(p["TotalAmt"]))
        for p in purchases
    ]  # fmt: skip
    rb.check_labels(expenses, labels, posted)


def _check_costs_are_all_known(books: QuickBooksReader, labels, fulfillments, posted) -> None:
    rb.check_costs_are_all_known(_expenses(books), labels, fulfillments, posted)


def _check_summaries(books: QuickBooksReader, orders, statuses, tz) -> None:
    """Journal entries balance (each, and per currency); each day's deposit is that day's
    amounts paid and its reconciliation lines only the unexplained gaps, including days
    summarised before one of their orders changed (issue 17 item 3: such a summary is
    corrected in place)."""
    entries = books.all("JournalEntry")
    assert entries
    by_currency: dict[str, Counter] = defaultdict(Counter)
    deposits: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    reconciled: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for entry in entries:
        currency = (entry.get("CurrencyRef") or {}).get("value", "USD")
        sides: Counter = Counter()
        for line in entry["Line"]:
            detail = line["JournalEntryLineDetail"]
            sides[detail["PostingType"]] += rb.money(line["Amount"])
            by_currency[currency][detail["PostingType"]] += rb.money(line["Amount"])
            if detail["AccountRef"]["value"] == DEPOSIT and detail["PostingType"] == "Debit":
                deposits[(entry["TxnDate"], currency)] += rb.money(line["Amount"])
            if detail["AccountRef"]["value"] == RECONCILIATION:
                sign = 1 if detail["PostingType"] == "Credit" else -1
                reconciled[(entry["TxnDate"], currency)] += sign * rb.money(line["Amount"])
        assert sides["Debit"] == sides["Credit"], entry["DocNumber"]
    for currency, sides in by_currency.items():
        assert sides["Debit"] == sides["Credit"], currency
    rb.check_days(deposits, reconciled, orders, statuses, tz)


# -- the run -------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["sales_receipt", "invoice_payment", "daily_summary"])
def test_the_books_read_back_show_each_sale_and_cost_once(
    org_a, shipstation, settings, qbo, qbo_settings, style
):
    settings.SHIPSTATION_API_BASE_URL = shipstation.base_url
    settings.SHIPSTATION_RATE_LIMIT_PER_MINUTE = 100_000
    # The CAD account's connection is in Canadian dollars: QuickBooks with multicurrency on.
    qbo.set_duplicate_doc_number_check(False)
    qbo.set_preferences(
        CurrencyPrefs={"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "USD"}}
    )
    stores = rb.seed_and_connect(org_a, shipstation)
    ledger = connect_ledger(
        org_a, qbo, trigger="after_import", document_type=style, reconciliation_enabled=True
    )
    statuses = ("shipped",)
    orders, labels, fulfillments, posted = rb.post_change_and_read(
        org_a, shipstation, stores, ledger, statuses
    )
    books = QuickBooksReader(qbo)
    if style == "daily_summary":
        _check_summaries(books, orders, statuses, org_a.tzinfo)
        assert books.all("SalesReceipt") == [] and books.all("Invoice") == []
        posted = rb.summarised_posted(orders, posted, org_a.tzinfo)
    else:
        _check_sales(books, orders, style, statuses)
    _check_labels(books, orders, labels, posted)
    _check_costs_are_all_known(books, labels, fulfillments, posted)
