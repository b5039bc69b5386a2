"""What QuickBooks answered to the message a session handed out, recorded.

Status codes: 0 done; 1 (no match) and 500 (some of the names not found) on queries; 3100
(name in use) on a list add means someone made it meanwhile, or the name belongs to another
list (QuickBooks keeps customer, vendor, employee and other names unique together): query
and reuse, or try the next name; 3140 (invalid reference) once makes the document's names be
looked up again (a customer or item deleted in QuickBooks), a second time fails it; anything
else fails the document with QuickBooks' own message. A request without an answer leaves its
document "sent": the next run looks it up before adding anything.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection as db_connection
from django.utils import timezone

from accounting.ledgers.base import (
    CatalogEntry,
    DocumentKind,
    LedgerCatalog,
    PostingResult,
    ResultStatus,
    memo_marker,
)
from accounting.ledgers.qbd import qbxml
from accounting.ledgers.qbd.documents import document_from_json
from accounting.ledgers.qbd.models import DocumentStep, QbdDocument
from accounting.ledgers.qbd.needs import candidates_of, needs_of
from accounting.ledgers.qbd.planner import Work
from accounting.ledgers.qbd.xmlsafe import local
from accounting.models import LedgerConnection, Posting
from accounting.services import LedgerAnswer, posting_record_results
from accounting.services.connections import posting_settings_suggest
from unify.core.stored_text import gettext as _

QUERY_OK = {qbxml.OK, qbxml.NO_MATCH, qbxml.NOT_ALL_FOUND}
ITEM_KINDS = {
    "ItemServiceRet": "Service",
    "ItemNonInventoryRet": "NonInventory",
    "ItemOtherChargeRet": "OtherCharge",
    "ItemInventoryRet": "Inventory",
    "ItemInventoryAssemblyRet": "InventoryAssembly",
}


def refused_message(answer: qbxml.Answer) -> str:
    return _("QuickBooks Desktop refused it: %(message)s (error %(code)s)") % {
        "message": answer.message or _("no reason given"),
        "code": answer.code,
    }


def _result(ret, *, secondary: str = "", found: bool = False) -> PostingResult:
    txn_id = qbxml.text(ret, "TxnID")
    number = qbxml.text(ret, "RefNumber")
    answer = {"TxnID": txn_id, "RefNumber": number, "EditSequence": qbxml.text(ret, "EditSequence")}
    if secondary:
        answer["PaymentTxnID"] = secondary
    if found:
        answer["found"] = True
    return PostingResult(
        status=ResultStatus.POSTED,
        external_id=txn_id,
        number=number,
        revision=qbxml.text(ret, "EditSequence"),
        answer=answer,
        secondary_id=secondary,
    )


class Recorder:
    """Applies one response message to the session, its documents and their postings."""

    def __init__(self, work: Work, fail: Callable[[Posting, str, str], None]) -> None:
        self.work = work
        self.fail = fail
        self.posted = 0
        self._answers: list[LedgerAnswer] = []
        self._documents: dict[int, QbdDocument] = {}

    def flush(self) -> None:
        """Write what this message changed: the documents' steps, then every posting's
        answer together (a handful of statements for a message of 50 documents)."""
        self.work.flush_references()
        if self._documents:
            with db_connection.cursor() as cursor:
                cursor.executemany(
                    "UPDATE qbd_qbddocument SET step = %s, txn_id = %s, edit_sequence = %s, "
                    "payment_txn_id = %s, error = %s, updated_at = %s WHERE id = %s",
                    [
                        [d.step, d.txn_id, d.edit_sequence, d.payment_txn_id, d.error,
                         timezone.now(), d.pk]
                        for d in self._documents.values()
                    ],
                )  # fmt: skip
        if self._answers:
            changed = posting_record_results(
                organization_id=self.work.connection.organization_id, answers=self._answers
            )
            self.posted += len(changed)
        self._answers, self._documents = [], {}

    # -- catalog ----------------------------------------------------------------------------

    def catalog(self, answers: list[qbxml.Answer]) -> None:
        accounts, items, company = [], [], ""
        for answer in answers:
            if not answer.ok and answer.code not in QUERY_OK:
                continue
            for ret in answer.rets:
                tag = local(ret.tag)
                if tag == "CompanyRet":
                    company = qbxml.text(ret, "CompanyName")
                elif tag == "AccountRet":
                    accounts.append(
                        CatalogEntry(
                            id=qbxml.text(ret, "ListID"),
                            name=qbxml.text(ret, "FullName"),
                            kind=qbxml.text(ret, "AccountType"),
                            detail=qbxml.text(ret, "SpecialAccountType"),
                            active=qbxml.text(ret, "IsActive") != "false",
                        )
                    )
                elif tag in ITEM_KINDS:
                    items.append(
                        CatalogEntry(
                            id=qbxml.text(ret, "ListID"),
                            name=qbxml.text(ret, "FullName"),
                            kind=ITEM_KINDS[tag],
                            active=qbxml.text(ret, "IsActive") != "false",
                        )
                    )
        catalog = LedgerCatalog(
            accounts=tuple(accounts), items=tuple(items), fetched_at=datetime.now(UTC)
        )
        now = timezone.now()
        connection = self.work.connection
        fields = {"catalog": catalog.to_json(), "catalog_fetched_at": now, "updated_at": now}
        if company:
            fields["company_name"] = company[:300]
        LedgerConnection.objects.filter(pk=connection.pk).update(**fields)
        for name, value in fields.items():
            setattr(connection, name, value)
        posting_settings_suggest(connection=connection, catalog=catalog)
        self.work.user.catalog_requested = False
        self.work.user.save(update_fields=["catalog_requested", "updated_at"])
        self.work.state["catalog"] = True

    # -- look-ups after an unknown outcome --------------------------------------------------

    def lookup(self, mapping: dict, answers: dict[str, qbxml.Answer]) -> None:
        for rid, info in mapping.items():
            answer = answers.get(rid)
            ids = [int(pk) for pk in info["postings"]]
            if answer is None or answer.code not in QUERY_OK:
                # No usable answer: these stay "sent" and are looked up in the next run.
                for pk in ids:
                    self.work.skip(pk)
                continue
            by_ref: dict[str, list] = {}
            for ret in answer.rets:
                by_ref.setdefault(qbxml.text(ret, "RefNumber").casefold(), []).append(ret)
            postings = Posting.objects.in_bulk(ids)
            qdocs = {d.posting_id: d for d in QbdDocument.objects.filter(posting_id__in=ids)}
            for pk_text, ref in info["postings"].items():
                posting, qdoc = postings.get(int(pk_text)), qdocs.get(int(pk_text))
                if posting is None or qdoc is None:
                    continue
                doc = document_from_json(posting.document)
                marker = memo_marker(doc.memo)
                ours = [
                    r
                    for r in by_ref.get(ref.casefold(), [])
                    if not marker or qbxml.text(r, "Memo").startswith(marker)
                ]
                self._after_lookup(posting, qdoc, doc.kind, ours[0] if ours else None)

    def _after_lookup(self, posting: Posting, qdoc: QbdDocument, kind, ret) -> None:
        if ret is None:
            # Never reached QuickBooks (or removed there since): safe to send again.
            qdoc.step = DocumentStep.PAYMENT_DUE if qdoc.txn_id else DocumentStep.NEW
            qdoc.save(update_fields=["step", "updated_at"])
            return
        if kind == DocumentKind.INVOICE_PAYMENT:
            qdoc.txn_id = qbxml.text(ret, "TxnID")
            payments = [
                link
                for link in qbxml.children(ret, "LinkedTxn")
                if qbxml.text(link, "TxnType") == "ReceivePayment"
            ]
            if not payments and _needs_payment(posting):
                qdoc.step = DocumentStep.PAYMENT_DUE
                qdoc.save(update_fields=["step", "txn_id", "updated_at"])
                return
            qdoc.payment_txn_id = qbxml.text(payments[0], "TxnID") if payments else ""
        self._posted(posting, qdoc, ret, found=True)

    # -- names -------------------------------------------------------------------------------

    def _next_name(self, key: str, reason: str) -> None:
        entry = self.work.state["names"][key]
        entry["tried"] += 1
        if entry["tried"] >= len(candidates_of(entry)):
            entry["stage"] = "failed"
            entry["error"] = reason
        else:
            entry["stage"] = "query"

    def _name_failed(self, key: str, message: str) -> None:
        entry = self.work.state["names"][key]
        entry["stage"] = "failed"
        entry["error"] = message

    def names_query(self, mapping: dict, answers: dict[str, qbxml.Answer]) -> None:
        entries = self.work.state["names"]
        for rid, info in mapping.items():
            answer = answers.get(rid)
            if answer is None or answer.code not in QUERY_OK:
                for key in info["keys"].values():
                    self._name_failed(
                        key,
                        refused_message(answer)
                        if answer
                        else _("QuickBooks Desktop did not answer."),
                    )
                continue
            found = {qbxml.text(r, "FullName").casefold(): r for r in answer.rets}
            for name_cf, key in info["keys"].items():
                entry = entries[key]
                ret = found.get(name_cf)
                if ret is not None:
                    theirs = qbxml.text(ret, "Email")
                    mine = entry.get("email", "")
                    if (
                        entry["kind"] == "customer"
                        and theirs
                        and mine
                        and theirs.casefold() != mine.casefold()
                    ):
                        self._next_name(key, self._names_taken(entry))
                    else:
                        self.work.remember(key, qbxml.text(ret, "ListID"))
                        # Known now (a reference): the session's state need not carry it.
                        entries.pop(key, None)
                elif entry["stage"] == "requery":
                    # "In use" but not in this list: a vendor, employee or other name has it.
                    self._next_name(key, self._names_taken(entry))
                elif entry.get("create", True):
                    entry["stage"] = "add"
                else:
                    self._name_failed(
                        key,
                        _(
                            "The item “%(name)s” is not in QuickBooks Desktop and creating "
                            "items is off in the posting settings."
                        )
                        % {"name": entry["name"]},
                    )

    def _names_taken(self, entry: dict) -> str:
        return _(
            "QuickBooks Desktop already uses the name “%(name)s” and the alternatives Unify tried."
        ) % {"name": entry["display"]}

    def names_add(self, mapping: dict, answers: dict[str, qbxml.Answer]) -> None:
        entries = self.work.state["names"]
        for rid, info in mapping.items():
            key = info["key"]
            answer = answers.get(rid)
            if answer is None:
                entries[key]["stage"] = "requery"  # it may exist now: ask before adding
            elif answer.ok and answer.rets:
                self.work.remember(key, qbxml.text(answer.rets[0], "ListID"))
                entries.pop(key, None)
            elif answer.code == qbxml.NAME_IN_USE:
                entries[key]["stage"] = "requery"
            else:
                self._name_failed(key, refused_message(answer))

    # -- transactions ------------------------------------------------------------------------

    def transactions(self, mapping: dict, answers: dict[str, qbxml.Answer]) -> None:
        ids = [info["posting"] for info in mapping.values()]
        # What recording needs of a posting: its id; an invoice's document tells whether a
        # payment follows (anything else loads only on the rare paths that need it).
        fields = ["id", "organization_id"]
        if any(info["what"] == "invoice" for info in mapping.values()):
            fields.append("document")
        postings = Posting.objects.only(*fields).in_bulk(ids)
        qdocs = {d.posting_id: d for d in QbdDocument.objects.filter(posting_id__in=ids)}
        for rid, info in mapping.items():
            posting, qdoc = postings.get(info["posting"]), qdocs.get(info["posting"])
            if posting is None or qdoc is None:
                continue
            answer = answers.get(rid)
            if answer is None:
                self.work.skip(posting.pk)  # stays "sent": looked up in the next run
                continue
            if answer.ok and answer.rets:
                self._added(posting, qdoc, info["what"], answer.rets[0])
            elif answer.code == qbxml.INVALID_REFERENCE and qdoc.stale_references == 0:
                # A customer, vendor or item we remembered may have been deleted or merged
                # in QuickBooks: look the names up again once.
                doc = document_from_json(posting.document)
                self.work.forget([n.key for n in needs_of(doc)])
                for need in needs_of(doc):
                    self.work.state.get("names", {}).pop(need.key, None)
                qdoc.stale_references = 1
                qdoc.step = DocumentStep.PAYMENT_DUE if qdoc.txn_id else DocumentStep.NEW
                qdoc.save(update_fields=["stale_references", "step", "updated_at"])
            else:
                qdoc.step = DocumentStep.FAILED
                qdoc.error = answer.message[:2000]
                qdoc.save(update_fields=["step", "error", "updated_at"])
                self.fail(
                    posting,
                    refused_message(answer),
                    f"{answer.name} {answer.code}: {answer.message}",
                )

    def _added(self, posting: Posting, qdoc: QbdDocument, what: str, ret) -> None:
        if what == "invoice":
            qdoc.txn_id = qbxml.text(ret, "TxnID")
            qdoc.edit_sequence = qbxml.text(ret, "EditSequence")
            if _needs_payment(posting):
                qdoc.step = DocumentStep.PAYMENT_DUE
                qdoc.save(update_fields=["txn_id", "edit_sequence", "step", "updated_at"])
                return
            self._posted(posting, qdoc, ret)
            return
        if what == "payment":
            qdoc.payment_txn_id = qbxml.text(ret, "TxnID")
            invoice = {"TxnID": qdoc.txn_id, "RefNumber": posting.document_number}
            self._posted(posting, qdoc, None, invoice=invoice)
            return
        self._posted(posting, qdoc, ret)

    def _posted(self, posting, qdoc: QbdDocument, ret, *, found=False, invoice=None) -> None:
        if ret is not None:
            result = _result(ret, secondary=qdoc.payment_txn_id, found=found)
        else:
            result = PostingResult(
                status=ResultStatus.POSTED,
                external_id=invoice["TxnID"],
                number=invoice["RefNumber"],
                answer={**invoice, "PaymentTxnID": qdoc.payment_txn_id},
                secondary_id=qdoc.payment_txn_id,
            )
        qdoc.step = DocumentStep.DONE
        qdoc.txn_id = result.external_id
        qdoc.error = ""
        qdoc.updated_at = timezone.now()
        self._documents[qdoc.pk] = qdoc
        self._answers.append(
            LedgerAnswer(posting_id=posting.pk, result=result, found_after_interruption=found)
        )


def _needs_payment(posting: Posting) -> bool:
    payment = (posting.document or {}).get("payment") or {}
    try:
        return Decimal(str(payment.get("amount") or "0")) > 0
    except ArithmeticError:
        return True
