"""One batch of documents on its way to Xero (see :meth:`XeroAdapter.post_many`).

Order of work: the chart (account codes, cached), the contacts and items the documents need
(found or created in bulk), then one PUT per collection and 50 documents (invoices and bills,
bank transactions, manual journals), then the payments of the sales whose invoices went in.
A request that fails in transit is sent again, with the same ``Idempotency-Key``, a few times
while the postings' lease allows; after that its documents come back with the error, and the
engine looks them up before sending them again.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings

from accounting.ledgers.base import (
    ZERO,
    Document,
    DocumentKind,
    ExpenseDocument,
    ExternalRef,
    SaleDocument,
    SummaryDocument,
    memo_marker,
)
from accounting.ledgers.xero import currency
from accounting.ledgers.xero import documents as bodies
from accounting.ledgers.xero.client import NotSent
from unify.core.exceptions import (
    IntegrationError,
    ProviderAuthError,
    ProviderRateLimited,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from unify.core.stored_text import gettext as _

if TYPE_CHECKING:
    from accounting.ledgers.xero.adapter import Outcome, XeroAdapter

SEND_ATTEMPTS = 3
NUMBER_TAKEN = "Invoice # must be unique."
_WRITE = {
    "Invoices": "create_invoices",
    "BankTransactions": "create_bank_transactions",
    "ManualJournals": "create_manual_journals",
    "Payments": "create_payments",
}
_KEY_KIND = {"Invoices": "inv", "BankTransactions": "bt", "ManualJournals": "mj", "Payments": "pay"}


def _messages(element: dict[str, Any]) -> list[str]:
    return [
        str(e.get("Message") or e.get("Description") or "")
        for e in element.get("ValidationErrors") or []
        if isinstance(e, dict)
    ]


def _is_sale(doc: Document) -> bool:
    return isinstance(doc, SaleDocument)


class Batch:
    def __init__(self, adapter: XeroAdapter, docs: list[Document], send_by: float | None) -> None:
        self.adapter = adapter
        self.session = adapter.session
        self.docs = docs
        self.send_by = send_by
        self.outcomes: list[Outcome | None] = [None] * len(docs)
        self.rows: dict[int, dict[str, Any]] = {}  # posted (or found) documents, by index
        self.found: set[int] = set()
        self.taken: list[int] = []  # numbers Xero says are taken: ours, from a lost answer?
        self.resolved: dict[str, str] = {}
        self.stopped: IntegrationError | None = None
        self.size = max(1, int(settings.XERO_BATCH_SIZE))

    # -- the whole batch ----------------------------------------------------------------------

    def run(self) -> list[Outcome]:
        try:
            accounts = self.adapter.account_codes()
            contacts, refused = self.adapter.references.contacts(
                (party for _doc, party in self.adapter.parties_of(self.docs)), self.resolved
            )
            items = self.adapter.references.items(
                (line.item for d in self.docs if isinstance(d, SaleDocument) for line in d.lines),
                self.resolved,
                accounts,
            )
            for index, doc in enumerate(self.docs):
                # A summary in another currency than the organisation's is held, not sent.
                self.outcomes[index] = currency.journal_refusal(self.adapter, doc)
        except IntegrationError as exc:
            return [exc] * len(self.docs)
        groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for index, doc in enumerate(self.docs):
            party = doc.customer if isinstance(doc, SaleDocument) else getattr(doc, "vendor", None)
            key = self.adapter.party_key(party) if party is not None else ""
            if self.outcomes[index] is not None:
                continue
            if key in refused:
                self.outcomes[index] = refused[key]
                continue
            contact_id = contacts.get(key, "")
            if isinstance(doc, SaleDocument):
                body = bodies.sale_invoice(
                    doc, contact_id=contact_id, item_codes=items, accounts=accounts
                )
            elif isinstance(doc, ExpenseDocument) and doc.kind == DocumentKind.BILL:
                body = bodies.bill(doc, contact_id=contact_id, accounts=accounts)
            elif isinstance(doc, ExpenseDocument):
                body = bodies.bank_transaction(doc, contact_id=contact_id, accounts=accounts)
            else:
                assert isinstance(doc, SummaryDocument)
                body = bodies.manual_journal(doc, accounts=accounts)
            collection = bodies.COLLECTION_OF_KIND[doc.kind][0]
            groups.setdefault(collection, []).append((index, body))
        for collection in ("Invoices", "BankTransactions", "ManualJournals"):
            group = groups.get(collection, [])
            for start in range(0, len(group), self.size):
                self._send(collection, group[start : start + self.size])
        if self.taken:
            self._claim_taken()
        self._pay()
        return self._finish()

    def complete(self, found: Sequence[ExternalRef]) -> list[Outcome]:
        """Documents found in Xero after an unknown outcome; sales get their payment if the
        invoice still has an amount due."""
        sale_ids = {}
        for index, (doc, ref) in enumerate(zip(self.docs, found, strict=True)):
            self.found.add(index)
            if _is_sale(doc):
                sale_ids[index] = ref.external_id
            else:
                self.rows[index] = self._row_of(doc, ref)
        if sale_ids:
            try:
                rows = self._invoices_by_id(list(sale_ids.values()))
            except IntegrationError as exc:
                for index in sale_ids:
                    self.outcomes[index] = exc
                rows = {}
            for index, invoice_id in sale_ids.items():
                if invoice_id in rows:
                    self.rows[index] = rows[invoice_id]
                elif self.outcomes[index] is None:
                    self.outcomes[index] = self.adapter._error(
                        ProviderResponseInvalid, f"xero: invoice {invoice_id} vanished"
                    )
        self._pay()
        return self._finish()

    def _finish(self) -> list[Outcome]:
        out: list[Outcome] = []
        for index, doc in enumerate(self.docs):
            outcome = self.outcomes[index]
            if outcome is None and index in self.rows:
                row = self.rows[index]
                payments = [p for p in row.get("Payments") or [] if isinstance(p, dict)]
                payment_id = str(row.get("_PaymentID") or "") or (
                    str(payments[0].get("PaymentID", "")) if payments else ""
                )
                outcome = self.adapter.result(
                    doc, row, self.resolved, payment_id=payment_id, found=index in self.found
                )
            if outcome is None:
                outcome = self.adapter._error(ProviderResponseInvalid, "xero: no answer for it")
            out.append(outcome)
        return out

    # -- requests -----------------------------------------------------------------------------

    def _put(self, collection: str, elements: list[dict[str, Any]], key: str):
        api = self.session.accounting
        method = getattr(api, _WRITE[collection])
        # Four decimals on unit amounts where the endpoint has them.
        extra = {"unitdp": 4} if collection in ("Invoices", "BankTransactions") else {}
        last: IntegrationError | None = None
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                return self.session.call(
                    f"PUT {collection}",
                    lambda **kw: method(
                        self.session.tenant_id,
                        {collection: elements},
                        summarize_errors=False,
                        idempotency_key=key,
                        **extra,
                        **kw,
                    ),
                    send_by=self.send_by,
                )
            except NotSent:
                raise
            except (ProviderUnavailable, ProviderResponseInvalid) as exc:
                last = exc
                pause = 0.5 * 2 ** (attempt - 1)
                if attempt == SEND_ATTEMPTS or (
                    self.send_by is not None and time.monotonic() + pause > self.send_by
                ):
                    break
                time.sleep(pause)
        assert last is not None
        raise last

    def _send(self, collection: str, chunk: list[tuple[int, dict[str, Any]]]) -> None:
        indexes = [i for i, _body in chunk]
        if self.stopped is not None:
            self._fail(indexes, self.stopped)
            return
        key = bodies_key(_KEY_KIND[collection], [self.docs[i] for i in indexes])
        try:
            answer = self._put(collection, [body for _i, body in chunk], key)
        except (ProviderAuthError, ProviderRateLimited) as exc:
            self.stopped = exc
            self._fail(indexes, exc)
            return
        except IntegrationError as exc:
            self._fail(indexes, exc)
            return
        rows = self._rows(answer, collection, len(chunk))
        if isinstance(rows, IntegrationError):
            self._fail(indexes, rows)
            return
        for index, row in zip(indexes, rows, strict=True):
            errors = _messages(row)
            if not row.get("HasErrors") and not errors:
                self.rows[index] = row
            elif errors == [NUMBER_TAKEN]:
                self.taken.append(index)
            else:
                doc = self.docs[index]
                self.outcomes[index] = self.adapter._rejected(
                    _("Xero refused document %(number)s: %(reason)s"),
                    errors,
                    number=doc.reference,
                )

    def _rows(self, answer, collection: str, expected: int) -> list[dict] | IntegrationError:
        body = answer.body if isinstance(answer.body, dict) else {}
        if answer.status != 200:
            errors = [m for e in body.get("Elements") or [] if isinstance(e, dict)
                      for m in _messages(e)]  # fmt: skip
            return self.adapter._rejected(
                _("Xero refused the request for %(collection)s: %(reason)s"),
                errors or [str(body.get("Message") or answer.status)],
                collection=collection,
            )
        rows = [r for r in body.get(collection) or [] if isinstance(r, dict)]
        if len(rows) != expected:
            return self.adapter._error(
                ProviderResponseInvalid,
                f"xero PUT {collection}: {len(rows)} elements back for {expected} sent",
            )
        return rows

    def _fail(self, indexes: list[int], error: IntegrationError) -> None:
        for index in indexes:
            if self.outcomes[index] is None:
                self.outcomes[index] = error

    def _claim_taken(self) -> None:
        """Numbers Xero says are taken: ours (a lost answer of an earlier attempt) completes
        with the document found; someone else's fails with Xero's words."""
        wanted = [
            (self.docs[i].kind, self.docs[i].reference, memo_marker(self.docs[i].memo))
            for i in self.taken
        ]
        try:
            found = self.adapter.find_many(wanted)
        except IntegrationError as exc:
            self._fail(self.taken, exc)
            return
        sales: dict[int, str] = {}
        for index in self.taken:
            doc = self.docs[index]
            ref = found.get((doc.kind, doc.reference))
            if ref is None:
                self.outcomes[index] = self.adapter._rejected(
                    _("Xero refused document %(number)s: %(reason)s"),
                    [NUMBER_TAKEN],
                    number=doc.reference,
                )
                continue
            self.found.add(index)
            if _is_sale(doc):
                sales[index] = ref.external_id
            else:
                self.rows[index] = self._row_of(doc, ref)
        if sales:
            try:
                rows = self._invoices_by_id(list(sales.values()))
            except IntegrationError as exc:
                self._fail(list(sales), exc)
                return
            for index, invoice_id in sales.items():
                if invoice_id in rows:
                    self.rows[index] = rows[invoice_id]

    def _invoices_by_id(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        api = self.session.accounting
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 25):
            chunk = ids[start : start + 25]
            answer = self.session.call(
                "GET Invoices",
                lambda chunk=chunk, **kw: api.get_invoices(
                    self.session.tenant_id, i_ds=chunk, page=1, **kw
                ),
            )
            body = answer.body if isinstance(answer.body, dict) else {}
            for row in body.get("Invoices") or []:
                if isinstance(row, dict):
                    out[str(row.get("InvoiceID"))] = row
        return out

    @staticmethod
    def _row_of(doc: Document, ref: ExternalRef) -> dict[str, Any]:
        collection, id_field = bodies.COLLECTION_OF_KIND[doc.kind]
        row: dict[str, Any] = {id_field: ref.external_id, "UpdatedDateUTC": ref.revision}
        if collection == "Invoices":
            row["InvoiceNumber"] = ref.number
        if ref.total is not None:
            row["Total"] = ref.total
        return row

    # -- payments -----------------------------------------------------------------------------

    def _pay(self) -> None:
        due: list[tuple[int, dict[str, Any]]] = []
        for index, row in self.rows.items():
            doc = self.docs[index]
            if not isinstance(doc, SaleDocument) or self.outcomes[index] is not None:
                continue
            amount_due = Decimal(str(row.get("AmountDue", row.get("Total", "0")) or "0"))
            amount = min(doc.payment.amount, amount_due)
            if amount <= ZERO or row.get("Status") == "PAID":
                continue
            invoice_id = str(row.get("InvoiceID", ""))
            due.append((index, bodies.payment(doc, invoice_id=invoice_id, amount=amount)))
        for start in range(0, len(due), self.size):
            chunk = due[start : start + self.size]
            indexes = [i for i, _body in chunk]
            if self.stopped is not None:
                self._fail(indexes, _reached(self.stopped))
                continue
            key = bodies_key("pay", [self.docs[i] for i in indexes])
            try:
                answer = self._put("Payments", [body for _i, body in chunk], key)
            except IntegrationError as exc:
                if isinstance(exc, ProviderAuthError | ProviderRateLimited):
                    self.stopped = exc
                # The invoices are in Xero: the next attempt looks them up, never resends.
                self._fail(indexes, _reached(exc))
                continue
            rows = self._rows(answer, "Payments", len(chunk))
            if isinstance(rows, IntegrationError):
                self._fail(indexes, rows)
                continue
            for index, row in zip(indexes, rows, strict=True):
                errors = _messages(row)
                if row.get("HasErrors") or errors:
                    number = self.rows[index].get("InvoiceNumber", "")
                    self.outcomes[index] = self.adapter._rejected(
                        _(
                            "Xero refused the payment of invoice %(number)s (the invoice is in "
                            "Xero): %(reason)s"
                        ),
                        errors,
                        number=str(number),
                    )
                else:
                    invoice = dict(self.rows[index])
                    invoice["_PaymentID"] = str(row.get("PaymentID", ""))
                    self.rows[index] = invoice


def _reached(exc: IntegrationError) -> IntegrationError:
    """``exc`` for documents Xero already holds (their payment is what failed)."""
    marked = copy.copy(exc)
    marked.reached_ledger = True  # type: ignore[attr-defined]
    return marked


def bodies_key(kind: str, docs: Sequence[Document]) -> str:
    """The request's Idempotency-Key: derived from the postings in it (at most 128
    characters, Xero's limit), so the same batch resent is the same request to Xero."""
    from accounting.ledgers.xero.references import request_key

    return request_key(kind, (d.idempotency_key for d in docs))
