"""What a Web Connector session sends next.

One qbXML message per ``sendRequestXML``, up to ``QBD_REQUESTS_PER_MESSAGE`` requests in it,
chosen in this order for the oldest queued postings of the connection:

1. the company's accounts and items, when the merchant asked for them (first run);
2. **look-ups** of documents whose earlier request left and was never answered (a Web
   Connector run cut short): ``*QueryRq`` by ``RefNumber``, matched on our memo marker;
   nothing is added again before this answer is in;
3. **names**: customers, vendors and items not known yet are queried by name, then added
   (a 3100 "name in use" on add means query again and reuse, or try the next name);
4. **transactions**: ``SalesReceiptAdd`` / ``InvoiceAdd`` then ``ReceivePaymentAdd`` /
   ``CheckAdd`` / ``CreditCardChargeAdd`` / ``BillAdd`` / ``JournalEntryAdd``. Each document
   is marked as sent, and committed, before the message leaves.

The session's working state (the request in flight, the names being resolved) lives in
``WebConnectorSession.pending``; what must survive the session lives in ``QbdDocument``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from accounting.ledgers.base import (
    Document,
    DocumentKind,
    ExpenseDocument,
    ItemRef,
    PostingSide,
    SaleDocument,
)
from accounting.ledgers.qbd import qbxml
from accounting.ledgers.qbd.documents import document_from_json
from accounting.ledgers.qbd.models import (
    DocumentStep,
    QbdDocument,
    WebConnectorSession,
    WebConnectorUser,
)
from accounting.ledgers.qbd.needs import candidates_of, discount_item, needs_of, tax_item
from accounting.models import LedgerConnection, LedgerReference, Posting, PostingState
from unify.core.stored_text import gettext as _

NAME_QUERY_BATCH = 100
# How far ahead names are looked up, in messages of documents.
NAMES_AHEAD_MESSAGES = 10
CREDIT_CARD_TYPES = {"creditcard", "credit card"}


def requests_per_message() -> int:
    return max(1, int(settings.QBD_REQUESTS_PER_MESSAGE))


@dataclass(slots=True)
class Work:
    """One SOAP call's view of its session."""

    session: WebConnectorSession
    user: WebConnectorUser
    connection: LedgerConnection
    _refs: dict[str, str] | None = None
    _new_refs: dict[str, str] | None = None

    @property
    def state(self) -> dict[str, Any]:
        return self.session.pending

    @property
    def refs(self) -> dict[str, str]:
        if self._refs is None:
            self._refs = dict(
                LedgerReference.objects.filter(ledger_connection=self.connection).values_list(
                    "key", "external_id"
                )
            )
        return self._refs

    def remember(self, key: str, list_id: str) -> None:
        """Kept for the next documents at once; written by :meth:`flush_references`."""
        self.refs[key] = list_id
        if self._new_refs is None:
            self._new_refs = {}
        self._new_refs[key[:300]] = list_id

    def flush_references(self) -> None:
        if not self._new_refs:
            return
        LedgerReference.objects.bulk_create(
            [
                LedgerReference(
                    organization_id=self.connection.organization_id,
                    ledger_connection=self.connection,
                    key=key,
                    external_id=list_id,
                )
                for key, list_id in self._new_refs.items()
            ],
            update_conflicts=True,
            unique_fields=["organization", "ledger_connection", "key"],
            update_fields=["external_id", "updated_at"],
        )
        self._new_refs = None

    def forget(self, keys: list[str]) -> None:
        LedgerReference.objects.filter(ledger_connection=self.connection, key__in=keys).delete()
        for key in keys:
            self.refs.pop(key, None)
            if self._new_refs:
                self._new_refs.pop(key, None)

    @property
    def skipped(self) -> set[int]:
        return set(self.state.get("skip", ()))

    def skip(self, posting_id: int) -> None:
        self.state["skip"] = sorted(self.skipped | {posting_id})


# ---------------------------------------------------------------------------------------------
# Documents of the queue
# ---------------------------------------------------------------------------------------------


def open_postings(work: Work):
    return (
        Posting.objects.filter(ledger_connection=work.connection, status=PostingState.QUEUED)
        .exclude(pk__in=work.skipped)
        .order_by("pk")
    )


def qbd_documents(postings: list[Posting]) -> dict[int, QbdDocument]:
    ids = [p.pk for p in postings]
    found = {d.posting_id: d for d in QbdDocument.objects.filter(posting_id__in=ids)}
    missing = [
        QbdDocument(organization_id=p.organization_id, posting=p)
        for p in postings
        if p.pk not in found
    ]
    if missing:
        QbdDocument.objects.bulk_create(missing, ignore_conflicts=True)
        found = {d.posting_id: d for d in QbdDocument.objects.filter(posting_id__in=ids)}
    for qdoc in found.values():
        if qdoc.step in (DocumentStep.FAILED, DocumentStep.DONE):
            # Queued again (a retry): an invoice already in QuickBooks only needs its payment.
            qdoc.step = DocumentStep.PAYMENT_DUE if qdoc.txn_id else DocumentStep.NEW
            qdoc.stale_references = 0
            qdoc.save(update_fields=["step", "stale_references", "updated_at"])
    return found


def entity_of(doc: Document) -> str:
    if doc.kind == DocumentKind.SALES_RECEIPT:
        return "SalesReceipt"
    if doc.kind == DocumentKind.INVOICE_PAYMENT:
        return "Invoice"
    if doc.kind == DocumentKind.BILL:
        return "Bill"
    if doc.kind == DocumentKind.EXPENSE:
        card = isinstance(doc, ExpenseDocument) and (
            doc.payment_account_type.casefold() in CREDIT_CARD_TYPES
        )
        return "CreditCardCharge" if card else "Check"
    return "JournalEntry"


# ---------------------------------------------------------------------------------------------
# Building the next message
# ---------------------------------------------------------------------------------------------


def _lookup_message(work: Work, postings, docs, parsed) -> str:
    by_entity: dict[str, dict[str, str]] = {}
    for posting in postings:
        doc = parsed[posting.pk]
        by_entity.setdefault(entity_of(doc), {})[str(posting.pk)] = doc.reference
    requests, mapping = [], {}
    for n, (entity, refs) in enumerate(sorted(by_entity.items()), start=1):
        rid = f"q{n}"
        requests.append(qbxml.txn_query(entity, rid, sorted(set(refs.values()))))
        mapping[rid] = {"entity": entity, "postings": refs}
    work.state["request"] = {"type": "lookup", "map": mapping}
    return qbxml.envelope(requests, version=work.state.get("version", qbxml.QBXML_VERSION))


def _names_query_message(work: Work, keys: list[str]) -> str:
    entries = work.state["names"]
    by_kind: dict[str, dict[str, str]] = {}
    for key in keys:
        entry = entries[key]
        name = candidates_of(entry)[entry["tried"]]
        by_kind.setdefault(entry["kind"], {})[name.casefold()] = key
        entry["name"] = name
    requests, mapping, n = [], {}, 0
    entity = {"customer": "Customer", "vendor": "Vendor", "item": "Item"}
    for kind, wanted in sorted(by_kind.items()):
        items = sorted(wanted.items())
        for start in range(0, len(items), NAME_QUERY_BATCH):
            n += 1
            rid = f"n{n}"
            batch = dict(items[start : start + NAME_QUERY_BATCH])
            full_names = [entries[k]["name"] for k in batch.values()]
            requests.append(qbxml.list_query(entity[kind], rid, full_names))
            mapping[rid] = {"kind": kind, "keys": batch}
    work.state["request"] = {"type": "names_query", "map": mapping}
    return qbxml.envelope(requests, version=work.state.get("version", qbxml.QBXML_VERSION))


def _names_add_message(work: Work, keys: list[str]) -> str:
    entries = work.state["names"]
    requests, mapping = [], {}
    for n, key in enumerate(keys, start=1):
        entry = entries[key]
        rid = f"a{n}"
        name = candidates_of(entry)[entry["tried"]]
        entry["name"] = name
        if entry["kind"] == "customer":
            requests.append(qbxml.customer_add(rid, name=name, email=entry.get("email", "")))
        elif entry["kind"] == "vendor":
            requests.append(qbxml.vendor_add(rid, name=name))
        else:
            requests.append(
                qbxml.item_non_inventory_add(
                    rid, name=name, account_id=entry["account_id"], desc=entry["display"]
                )
            )
        mapping[rid] = {"key": key}
    work.state["request"] = {"type": "names_add", "map": mapping}
    return qbxml.envelope(requests, version=work.state.get("version", qbxml.QBXML_VERSION))


def _item_id(work: Work, item: ItemRef | None, fallback_key: str = "") -> str:
    if item is not None and item.external_id and not item.match_key:
        return item.external_id
    key = (item.match_key if item else "") or fallback_key
    if not key and item is not None:
        key = f"item:name:{item.name.casefold()}"
    return work.refs[key]


def _sale_lines(work: Work, doc: SaleDocument) -> list[qbxml.Line]:
    lines = [
        qbxml.Line(
            item_id=_item_id(work, line.item),
            desc=line.description,
            amount=line.amount,
            quantity=line.quantity,
        )
        for line in doc.lines
    ]
    if doc.shipping is not None:
        item_id = _item_id(work, doc.shipping.item, "item:shipping")
        lines.append(qbxml.Line(item_id, doc.shipping.description, doc.shipping.amount))
    for d in doc.discounts:
        lines.append(
            qbxml.Line(_item_id(work, discount_item(d.account_id)), d.description, -d.amount)
        )
    if doc.tax:
        lines.append(qbxml.Line(_item_id(work, tax_item(doc)), _("Sales tax"), doc.tax))
    if doc.difference is not None:
        item_id = _item_id(work, doc.difference.item, "item:reconciliation")
        lines.append(qbxml.Line(item_id, doc.difference.description, doc.difference.amount))
    return lines


def transaction_request(work: Work, rid: str, doc: Document, qdoc: QbdDocument) -> tuple[str, str]:
    """(request, what it does: "add" | "invoice" | "payment")."""
    if isinstance(doc, SaleDocument):
        customer_id = work.refs[needs_of(doc)[0].key]
        if doc.kind == DocumentKind.INVOICE_PAYMENT and qdoc.step == DocumentStep.PAYMENT_DUE:
            return (
                qbxml.receive_payment_add(
                    rid,
                    customer_id=customer_id,
                    txn_date=doc.payment.paid_on,
                    ref_number=doc.payment.reference or doc.reference,
                    amount=doc.payment.amount,
                    payment_method_id=doc.payment.payment_method_id,
                    memo=doc.memo,
                    deposit_account_id=doc.payment.deposit_account_id,
                    invoice_txn_id=qdoc.txn_id,
                ),
                "payment",
            )
        if doc.kind == DocumentKind.INVOICE_PAYMENT:
            return (
                qbxml.invoice_add(
                    rid,
                    customer_id=customer_id,
                    txn_date=doc.issued_on,
                    ref_number=doc.reference,
                    memo=doc.memo,
                    lines=_sale_lines(work, doc),
                ),
                "invoice",
            )
        return (
            qbxml.sales_receipt_add(
                rid,
                customer_id=customer_id,
                txn_date=doc.issued_on,
                ref_number=doc.reference,
                memo=doc.memo,
                deposit_account_id=doc.payment.deposit_account_id,
                payment_method_id=doc.payment.payment_method_id,
                lines=_sale_lines(work, doc),
            ),
            "add",
        )
    if isinstance(doc, ExpenseDocument):
        vendor_id = work.refs[needs_of(doc)[0].key]
        lines = [(line.account_id, line.amount, line.description) for line in doc.lines]
        common = {"txn_date": doc.issued_on, "ref_number": doc.reference, "memo": doc.memo}
        if doc.kind == DocumentKind.BILL:
            return qbxml.bill_add(rid, vendor_id=vendor_id, lines=lines, **common), "add"
        if entity_of(doc) == "CreditCardCharge":
            return (
                qbxml.credit_card_charge_add(
                    rid,
                    card_account_id=doc.payment_account_id,
                    vendor_id=vendor_id,
                    lines=lines,
                    **common,
                ),
                "add",
            )
        return (
            qbxml.check_add(
                rid,
                bank_account_id=doc.payment_account_id,
                vendor_id=vendor_id,
                lines=lines,
                **common,
            ),
            "add",
        )
    debits = [
        (x.account_id, x.amount, x.description) for x in doc.lines if x.side == PostingSide.DEBIT
    ]
    credits = [
        (x.account_id, x.amount, x.description) for x in doc.lines if x.side == PostingSide.CREDIT
    ]
    return (
        qbxml.journal_entry_add(
            rid,
            txn_date=doc.issued_on,
            ref_number=doc.reference,
            memo=doc.memo,
            debits=debits,
            credits=credits,
        ),
        "add",
    )


def _transactions_message(work: Work, ready: list[tuple[Posting, Document, QbdDocument]]) -> str:
    requests, mapping = [], {}
    now = timezone.now()
    with transaction.atomic():
        for n, (posting, doc, qdoc) in enumerate(ready, start=1):
            rid = f"t{n}"
            request, what = transaction_request(work, rid, doc, qdoc)
            requests.append(request)
            mapping[rid] = {"posting": posting.pk, "what": what}
            qdoc.step = DocumentStep.PAYMENT_SENT if what == "payment" else DocumentStep.SENT
            qdoc.sent_at = now
            qdoc.sent_in = work.session
        with db_connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE qbd_qbddocument SET step = %s, sent_at = %s, sent_in_id = %s, "
                "updated_at = %s WHERE id = %s",
                [[d.step, now, work.session.pk, now, d.pk] for _p, _d, d in ready],
            )
    work.state["request"] = {"type": "txn", "map": mapping}
    return qbxml.envelope(requests, version=work.state.get("version", qbxml.QBXML_VERSION))


def _names_ahead(work: Work, entries: dict[str, dict], size: int) -> list[str]:
    """Names not known yet of the documents after the first ``size`` (up to
    ``NAMES_AHEAD_MESSAGES`` messages' worth), entered as to be queried."""
    ahead = (
        open_postings(work)
        .only("id", "organization_id", "document")[size : size * NAMES_AHEAD_MESSAGES]
        .values_list("document", flat=True)
    )
    keys = []
    for data in ahead:
        try:
            doc = document_from_json(data or {})
        except (KeyError, TypeError, ValueError):
            continue  # its own message says so when its turn comes
        for need in needs_of(doc):
            if need.key in work.refs:
                continue
            entry = entries.setdefault(need.key, _new_entry(need))
            if entry["stage"] in ("query", "requery"):
                keys.append(need.key)
    return keys


def _new_entry(need) -> dict[str, Any]:
    return {
        "kind": need.kind,
        "display": need.display,
        "email": need.email,
        "account_id": need.account_id,
        "create": need.create,
        "tried": 0,
        "stage": "query",
    }


def next_message(work: Work, fail) -> str | None:
    """The next qbXML message, or None when this session has nothing left to send.
    ``fail(posting, message)`` records a document that cannot be sent."""
    if work.user.catalog_requested and not work.state.get("catalog"):
        work.state["request"] = {"type": "catalog"}
        return qbxml.envelope(
            qbxml.catalog_requests(), version=work.state.get("version", qbxml.QBXML_VERSION)
        )
    size = requests_per_message()
    for _round in range(size + 2):
        # What a message needs of a posting: its document (the rest loads only if it fails).
        postings = list(open_postings(work).only("id", "organization_id", "document")[:size])
        if not postings:
            return None
        docs = qbd_documents(postings)
        parsed: dict[int, Document] = {}
        for posting in postings:
            try:
                parsed[posting.pk] = document_from_json(posting.document or {})
            except (KeyError, TypeError, ValueError) as exc:
                fail(
                    posting,
                    _("Unify could not read this document again. Support has the details."),
                    f"{type(exc).__name__}: {exc}",
                )
        postings = [p for p in postings if p.pk in parsed]
        lookups = [
            p for p in postings if docs[p.pk].step in (DocumentStep.SENT, DocumentStep.PAYMENT_SENT)
        ]
        if lookups:
            return _lookup_message(work, lookups, docs, parsed)
        entries = work.state.setdefault("names", {})
        wanted: list[str] = []
        blocked: dict[int, str] = {}
        for posting in postings:
            for need in needs_of(parsed[posting.pk]):
                if need.key in work.refs:
                    continue
                entry = entries.setdefault(need.key, _new_entry(need))
                if entry["stage"] == "failed":
                    blocked[posting.pk] = entry.get("error", "")
                else:
                    wanted.append(need.key)
        for posting in postings:
            if posting.pk in blocked:
                fail(posting, blocked[posting.pk], "")
        if blocked:
            continue
        unique = list(dict.fromkeys(wanted))
        queries = [k for k in unique if entries[k]["stage"] in ("query", "requery")]
        if queries:
            # Ask for the names of the next documents too: one query message and a few add
            # messages then serve many transaction messages.
            queries = list(dict.fromkeys(queries + _names_ahead(work, entries, size)))
            return _names_query_message(work, queries)
        adds = [k for k in unique if entries[k]["stage"] == "add"]
        if adds:
            adds += [k for k, e in entries.items() if e["stage"] == "add" and k not in adds]
            return _names_add_message(work, adds[:size])
        ready = [(p, parsed[p.pk], docs[p.pk]) for p in postings]
        if ready:
            return _transactions_message(work, ready)
    return None
