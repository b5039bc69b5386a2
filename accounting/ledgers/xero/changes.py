"""Posted Xero documents that change: a sale edited after posting (its invoice updated), and
documents taken out of the books (an order cancelled or merged: its invoice voided; a voided
label: its ``SPEND`` bank transaction deleted or its bill voided; a summary: its journal
voided). See :meth:`XeroAdapter.update` and :meth:`XeroAdapter.remove`.

Xero's rules (docs/reference/provider-facts.md, "Xero: changing posted documents"):

- an ``AUTHORISED`` invoice can be edited (POST ``/Invoices/{InvoiceID}``) and voided
  (``Status: VOIDED``), never deleted; with a payment allocated to it, neither: "This
  document cannot be edited as it has a payment or credit note allocated to it." So our
  payment is deleted first (POST ``/Payments/{PaymentID}`` with ``Status: DELETED``), and a
  new one is applied to the edited invoice;
- a bank transaction is deleted with ``Status: DELETED``; a manual journal ``POSTED`` is
  voided with ``Status: VOIDED``.

Safe to repeat (the engine reruns a change whose answer was lost): each step reads the
document first and skips what is done; a payment is ours when it is the one we recorded, or
carries our payment reference (an earlier attempt of this change made it). Payments someone
else applied are never deleted: the change is refused with the reason.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from accounting.ledgers.base import (
    ZERO,
    Document,
    DocumentKind,
    ExternalRef,
    PostingResult,
    RemovalResult,
    SaleDocument,
    SummaryDocument,
)
from accounting.ledgers.xero import documents as bodies
from unify.core.exceptions import ProviderRejected, ProviderResponseInvalid
from unify.core.stored_text import gettext as _

if TYPE_CHECKING:
    from accounting.ledgers.xero.adapter import XeroAdapter

GONE = ("VOIDED", "DELETED")


def _messages(body: Any) -> list[str]:
    body = body if isinstance(body, dict) else {}
    out = []
    for element in body.get("Elements") or []:
        for error in (element or {}).get("ValidationErrors") or []:
            if isinstance(error, dict):
                out.append(str(error.get("Message") or ""))
    return out or [str(body.get("Message") or "")]


class Changes:
    def __init__(self, adapter: XeroAdapter) -> None:
        self.adapter = adapter
        self.session = adapter.session
        self.api = adapter.session.accounting
        self.tenant = adapter.session.tenant_id

    # -- reads and writes ---------------------------------------------------------------------

    def _read(self, collection: str, record_id: str) -> dict[str, Any] | None:
        getter = {
            "Invoices": self.api.get_invoice,
            "BankTransactions": self.api.get_bank_transaction,
            "ManualJournals": self.api.get_manual_journal,
        }[collection]
        answer = self.session.call(
            f"GET {collection}/{{id}}",
            lambda **kw: getter(self.tenant, record_id, **kw),
        )
        if answer.status == 404:
            return None
        rows = self.adapter._body(answer, collection)
        if not rows:
            raise self.adapter._error(
                ProviderResponseInvalid, f"xero GET {collection}/{record_id}: no record"
            )
        return rows[0]

    def _post(
        self, collection: str, record_id: str, element: dict[str, Any], key: str, what: str
    ) -> dict[str, Any]:
        writer = {
            "Invoices": self.api.update_invoice,
            "BankTransactions": self.api.update_bank_transaction,
            "ManualJournals": self.api.update_manual_journal,
        }[collection]
        extra: dict[str, Any] = {"unitdp": 4} if collection != "ManualJournals" else {}
        if key:
            extra["idempotency_key"] = key[:128]
        answer = self.session.call(
            f"POST {collection}/{{id}}",
            lambda **kw: writer(
                self.tenant,
                record_id,
                {collection: [element]},
                **extra,
                **kw,
            ),
        )
        if answer.status != 200:
            raise self.adapter._rejected(
                _("Xero refused the %(what)s: %(reason)s"), _messages(answer.body), what=what
            )
        return self.adapter._body(answer, collection)[0]

    def _delete_payment(self, payment_id: str, key: str) -> None:
        answer = self.session.call(
            "POST Payments/{id}",
            lambda **kw: self.api.delete_payment(
                self.tenant, payment_id, {"Status": "DELETED"}, idempotency_key=key, **kw
            ),
        )
        if answer.status == 404:
            return
        if answer.status != 200:
            raise self.adapter._rejected(
                _("Xero refused to delete the payment of the invoice: %(reason)s"),
                _messages(answer.body),
            )

    def _unpay(
        self, invoice: dict[str, Any], ours: set[str], our_reference: str, key: str
    ) -> dict[str, Any]:
        """Delete our payments of ``invoice``; refuse when someone else's remain."""
        payments = [p for p in invoice.get("Payments") or [] if isinstance(p, dict)]
        theirs = []
        for n, payment in enumerate(payments, start=1):
            payment_id = str(payment.get("PaymentID") or "")
            reference = str(payment.get("Reference") or "")
            if payment_id in ours or (our_reference and reference == our_reference):
                self._delete_payment(payment_id, f"{key}-unpay{n}"[:128])
            else:
                theirs.append(payment)
        if theirs:
            raise self.adapter._error(
                ProviderRejected,
                f"xero invoice {invoice.get('InvoiceID')}: {len(theirs)} payment(s) not ours",
                user_message=_(
                    "Invoice %(number)s has a payment in Xero that Unify did not make; Xero "
                    "allows no change to a paid invoice. Remove that payment in Xero, then "
                    "try again."
                )
                % {"number": invoice.get("InvoiceNumber") or invoice.get("InvoiceID")},
            )
        return invoice

    # -- update -------------------------------------------------------------------------------

    def update(self, doc: Document, existing: ExternalRef) -> PostingResult:
        if isinstance(doc, SummaryDocument):
            return self._update_journal(doc, existing)
        if not isinstance(doc, SaleDocument):
            raise self.adapter._error(
                ProviderRejected,
                f"xero: no update for {doc.kind}",
                user_message=_(
                    "Unify does not change a posted label cost in Xero; change it in Xero."
                ),
            )
        key = doc.idempotency_key
        invoice = self._read("Invoices", existing.external_id)
        if invoice is None or invoice.get("Status") in GONE:
            raise self.adapter._error(
                ProviderRejected,
                f"xero invoice {existing.external_id} is gone",
                user_message=_(
                    "Invoice %(number)s was voided or deleted in Xero; Unify cannot change it."
                )
                % {"number": existing.number or existing.external_id},
            )
        accounts = self.adapter.account_codes()
        resolved: dict[str, str] = {}
        contacts, refused = self.adapter.references.contacts([doc.customer], resolved)
        party = self.adapter.party_key(doc.customer)
        if party in refused:
            raise refused[party]
        items = self.adapter.references.items((line.item for line in doc.lines), resolved, accounts)
        body = bodies.sale_invoice(
            doc, contact_id=contacts.get(party, ""), item_codes=items, accounts=accounts
        )
        body["InvoiceID"] = existing.external_id
        payment_id = ""
        if not self._already(invoice, body, doc):
            self._unpay(invoice, {existing.secondary_id} - {""}, doc.payment.reference, key)
            invoice = self._post(
                "Invoices",
                existing.external_id,
                body,
                key,
                _("update of invoice %(number)s") % {"number": doc.reference},
            )
        paid = Decimal(str(invoice.get("AmountPaid") or "0"))
        due = Decimal(str(invoice.get("AmountDue", invoice.get("Total", "0")) or "0"))
        amount = min(doc.payment.amount - paid, due)
        if amount > ZERO:
            payment = bodies.payment(doc, invoice_id=existing.external_id, amount=amount)
            answer = self.session.call(
                "PUT Payments",
                lambda **kw: self.api.create_payments(
                    self.tenant,
                    {"Payments": [payment]},
                    summarize_errors=False,
                    idempotency_key=f"{key}-pay"[:128],
                    **kw,
                ),
            )
            rows = self.adapter._body(answer, "Payments")
            errors = [m for r in rows for m in bodies_errors(r)]
            if not rows or errors:
                raise self.adapter._rejected(
                    _(
                        "Xero refused the payment of invoice %(number)s (the invoice is "
                        "updated): %(reason)s"
                    ),
                    errors,
                    number=doc.reference,
                )
            payment_id = str(rows[0].get("PaymentID") or "")
            invoice = self._read("Invoices", existing.external_id) or invoice
        if not payment_id:
            payments = [p for p in invoice.get("Payments") or [] if isinstance(p, dict)]
            payment_id = str(payments[0].get("PaymentID") or "") if payments else ""
        return self.adapter.result(doc, invoice, resolved, payment_id=payment_id)

    @staticmethod
    def _already(invoice: dict[str, Any], body: dict[str, Any], doc: SaleDocument) -> bool:
        """The invoice already holds this version (an earlier attempt's answer was lost)."""
        total = bodies.total_of(invoice)
        lines = invoice.get("LineItems") or []
        return (
            total == doc.total
            and len(lines) == len(body["LineItems"])
            and all(
                str(a.get("Description", "")) == str(b.get("Description", ""))
                and Decimal(str(a.get("LineAmount", "0")))
                == bodies.money(b["Quantity"] * b["UnitAmount"])
                for a, b in zip(lines, body["LineItems"], strict=False)
            )
        )

    def _update_journal(self, doc: SummaryDocument, existing: ExternalRef) -> PostingResult:
        """A daily summary whose orders changed: the posted journal takes the new lines."""
        journal = self._read("ManualJournals", existing.external_id)
        if journal is None or journal.get("Status") in GONE:
            raise self.adapter._error(
                ProviderRejected,
                f"xero manual journal {existing.external_id} is gone",
                user_message=_(
                    "The manual journal of %(number)s was voided or deleted in Xero; Unify "
                    "cannot change it."
                )
                % {"number": doc.reference},
            )
        body = bodies.manual_journal(doc, accounts=self.adapter.account_codes())
        body["ManualJournalID"] = existing.external_id
        row = self._post(
            "ManualJournals",
            existing.external_id,
            body,
            doc.idempotency_key,
            _("update of the manual journal of %(number)s") % {"number": doc.reference},
        )
        return self.adapter.result(doc, row, {})

    # -- removal ------------------------------------------------------------------------------

    def remove(self, kind: DocumentKind, existing: ExternalRef, key: str) -> RemovalResult:
        collection, id_field = bodies.COLLECTION_OF_KIND[kind]
        record_id = existing.external_id
        if not record_id:
            raise ValueError("remove() needs the ledger id of the posted document")
        record = self._read(collection, record_id)
        if record is None or record.get("Status") in GONE:
            status = (record or {}).get("Status", "NotFound")
            return RemovalResult(
                external_id=record_id,
                already_removed=True,
                answer={id_field: record_id, "Status": status},
            )
        if collection == "Invoices":
            if kind != DocumentKind.BILL:
                record = self._unpay(record, {existing.secondary_id} - {""}, "", key)
            element = {id_field: record_id, "Status": "VOIDED"}
            what = _("voiding of invoice %(number)s") % {
                "number": record.get("InvoiceNumber") or record_id
            }
        elif collection == "BankTransactions":
            element = {id_field: record_id, "Status": "DELETED"}
            what = _("deletion of bank transaction %(number)s") % {
                "number": record.get("Reference") or record_id
            }
        else:
            element = {id_field: record_id, "Status": "VOIDED"}
            what = _("voiding of manual journal %(number)s") % {"number": record_id}
        row = self._post(collection, record_id, element, key, what)
        if row.get("Status") not in GONE:
            raise self.adapter._error(
                ProviderResponseInvalid, f"xero {collection} {record_id}: still {row.get('Status')}"
            )
        return RemovalResult(
            external_id=record_id, answer={id_field: record_id, "Status": row.get("Status")}
        )


def bodies_errors(row: dict[str, Any]) -> list[str]:
    return [
        str(e.get("Message") or "")
        for e in row.get("ValidationErrors") or []
        if isinstance(e, dict)
    ]
