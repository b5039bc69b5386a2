"""Xero: our documents as Xero documents, many per request, through xero-python.

Documents go out in batches (``post_many``): up to ``XERO_BATCH_SIZE`` (50) per PUT with
``summarizeErrors=false``, so one bad document fails alone with Xero's ``ValidationErrors``
and the others post. Each request carries an ``Idempotency-Key`` derived from the postings
in it (their own keys), so the same batch resent after a lost answer is replayed by Xero,
not created twice. Sales are invoices followed by their payments (a second PUT).

A document whose number Xero says is taken ("Invoice # must be unique.") is looked up: when
it is ours (the marker in its reference), the posting completes with it (an invoice whose
payment never went out gets it now).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings

from accounting.ledgers.base import (
    CatalogEntry,
    CompanyInfo,
    Document,
    DocumentKind,
    ExpenseDocument,
    ExternalRef,
    LedgerAdapter,
    LedgerCatalog,
    PostingResult,
    RemovalResult,
    ResultStatus,
    SaleDocument,
    SummaryDocument,
    TokenStore,
)
from accounting.ledgers.xero import currency, lock_dates
from accounting.ledgers.xero import documents as bodies
from accounting.ledgers.xero.client import PROVIDER, Answer, XeroSession
from accounting.ledgers.xero.references import References, _party_key
from unify.core.exceptions import (
    IntegrationError,
    ProviderRejected,
    ProviderResponseInvalid,
)
from unify.core.stored_text import gettext as _

logger = logging.getLogger("unify.xero")

_DEEP_LINKS = {
    DocumentKind.SALES_RECEIPT: "/AccountsReceivable/View.aspx?InvoiceID=",
    DocumentKind.INVOICE_PAYMENT: "/AccountsReceivable/View.aspx?InvoiceID=",
    DocumentKind.BILL: "/AccountsPayable/View.aspx?InvoiceID=",
    DocumentKind.EXPENSE: "/Bank/ViewTransaction.aspx?bankTransactionID=",
    DocumentKind.JOURNAL_ENTRY: "/Journal/View.aspx?invoiceID=",
}
_ACCOUNTS_CACHE: dict[str, tuple[float, dict[str, str]]] = {}
_ACCOUNTS_TTL = 600.0

Outcome = PostingResult | IntegrationError


def _messages(element: dict[str, Any]) -> list[str]:
    return [
        str(e.get("Message") or e.get("Description") or "")
        for e in element.get("ValidationErrors") or []
        if isinstance(e, dict)
    ]


def _rate(row: dict[str, Any]) -> str:
    return f"{Decimal(str(row.get('EffectiveRate', 0))).normalize():f}"


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class XeroAdapter(LedgerAdapter):
    provider_key = PROVIDER

    def __init__(self, *, company_id: str, tokens: TokenStore, connection_id: int) -> None:
        self.tenant_id = company_id
        self.connection_id = connection_id
        self.session = XeroSession(tenant_id=company_id, tokens=tokens, connection_id=connection_id)
        self.references = References(self.session)

    @property
    def requests_sent(self) -> int:
        return self.session.requests_sent

    def _error(self, cls: type[IntegrationError], message: str, **kwargs: Any) -> IntegrationError:
        return cls(message, provider=PROVIDER, connection_id=self.connection_id, **kwargs)

    def _rejected(self, template: str, errors: list[str], **params: str) -> ProviderRejected:
        """Xero refused something: ``template`` (translated, with ``%(reason)s``) names it."""
        reason = " ".join(e for e in errors if e) or _("no reason given")
        message = (template % {**params, "reason": reason})[:1000]
        return self._error(
            ProviderRejected,
            f"xero: {message}",
            field_errors={"ValidationErrors": errors},
            user_message=message,
        )

    def _body(self, answer: Answer, collection: str) -> list[dict[str, Any]]:
        if answer.status == 404:
            return []
        if answer.status != 200 or not isinstance(answer.body, dict):
            errors = [
                m
                for e in (answer.body or {}).get("Elements") or []
                if isinstance(e, dict)
                for m in _messages(e)
            ]
            raise self._rejected(
                _("Xero refused the request for %(collection)s: %(reason)s"),
                errors or [str((answer.body or {}).get("Message"))],
                collection=collection,
            )
        return [r for r in answer.body.get(collection) or [] if isinstance(r, dict)]

    # -- company, catalog ---------------------------------------------------------------------

    def verify(self) -> CompanyInfo:
        api = self.session.accounting
        answer = self.session.call(
            "GET Organisation", lambda **kw: api.get_organisations(self.tenant_id, **kw)
        )
        rows = self._body(answer, "Organisations")
        if not rows:
            raise self._error(ProviderResponseInvalid, "xero: no organisation in the answer")
        org = rows[0]
        return CompanyInfo(
            company_id=self.tenant_id,
            name=str(org.get("Name") or ""),
            country=str(org.get("CountryCode") or ""),
            currency=str(org.get("BaseCurrency") or ""),
        )

    def books_closed_through(self, refusal: Exception) -> date | None:
        """The organisation's lock date when ``refusal`` is Xero refusing a locked date."""
        errors = getattr(refusal, "field_errors", {}).get("ValidationErrors") or []
        if not isinstance(refusal, ProviderRejected) or not lock_dates.is_lock_refusal(errors):
            return None
        api = self.session.accounting
        answer = self.session.call(
            "GET Organisation", lambda **kw: api.get_organisations(self.tenant_id, **kw)
        )
        rows = self._body(answer, "Organisations")
        return lock_dates.locked_through(rows[0]) if rows else None

    def _accounts(self) -> list[dict[str, Any]]:
        api = self.session.accounting
        answer = self.session.call(
            "GET Accounts", lambda **kw: api.get_accounts(self.tenant_id, **kw)
        )
        rows = self._body(answer, "Accounts")
        _ACCOUNTS_CACHE[self.tenant_id] = (
            time.monotonic(),
            {str(a["AccountID"]): str(a.get("Code") or "") for a in rows if "AccountID" in a},
        )
        return rows

    def account_codes(self) -> bodies.AccountCodes:
        cached = _ACCOUNTS_CACHE.get(self.tenant_id)
        if cached is None or time.monotonic() - cached[0] > _ACCOUNTS_TTL:
            self._accounts()
            cached = _ACCOUNTS_CACHE[self.tenant_id]
        return bodies.AccountCodes(cached[1])

    def fetch_catalog(self) -> LedgerCatalog:
        api = self.session.accounting
        accounts = self._accounts()
        items = self._body(
            self.session.call("GET Items", lambda **kw: api.get_items(self.tenant_id, **kw)),
            "Items",
        )
        rates = self._body(
            self.session.call("GET TaxRates", lambda **kw: api.get_tax_rates(self.tenant_id, **kw)),
            "TaxRates",
        )
        return LedgerCatalog(
            accounts=tuple(
                CatalogEntry(
                    id=str(a["AccountID"]),
                    name=f"{a['Code']} · {a['Name']}" if a.get("Code") else str(a["Name"]),
                    kind=str(a.get("Type") or ""),
                    detail="payments"
                    if a.get("EnablePaymentsToAccount")
                    else str(a.get("Code") or ""),
                    active=a.get("Status", "ACTIVE") == "ACTIVE",
                )
                for a in accounts
            ),
            items=tuple(
                CatalogEntry(
                    id=str(i["Code"]),
                    name=f"{i['Code']} · {i.get('Name') or ''}",
                    kind="Item",
                    detail=str(i.get("Code")),
                )
                for i in items
                if i.get("Code")
            ),  # fmt: skip
            tax_codes=tuple(
                CatalogEntry(
                    id=str(r["TaxType"]),
                    name=f"{r.get('Name')} ({_rate(r)} %)",
                    kind="TaxRate",
                    active=r.get("Status", "ACTIVE") == "ACTIVE",
                )
                for r in rates
            ),
            fetched_at=datetime.now(UTC),
        )

    # -- look-ups -----------------------------------------------------------------------------

    def find_many(
        self, wanted: Sequence[tuple[DocumentKind, str, str]]
    ) -> dict[tuple[DocumentKind, str], ExternalRef]:
        """Our documents among ``(kind, number, marker)``: by number for invoices and bills,
        by the start of the reference (bank transactions) or narration (journals)."""
        found: dict[tuple[DocumentKind, str], ExternalRef] = {}
        api = self.session.accounting
        by_collection: dict[str, list[tuple[DocumentKind, str, str]]] = {}
        for item in wanted:
            by_collection.setdefault(bodies.COLLECTION_OF_KIND[item[0]][0], []).append(item)
        for collection, items in by_collection.items():
            for chunk in _chunks(items, 10):
                if collection == "Invoices":
                    numbers = [n for _k, n, _m in chunk]
                    call: Callable[..., Any] = lambda numbers=numbers, **kw: api.get_invoices(  # noqa: E731
                        self.tenant_id, invoice_numbers=numbers, page=1, **kw
                    )
                elif collection == "BankTransactions":
                    where = " OR ".join(
                        f"Reference.StartsWith({bodies.where_literal(n + ' ')})"
                        for _k, n, _m in chunk
                    )
                    call = lambda where=where, **kw: api.get_bank_transactions(  # noqa: E731
                        self.tenant_id, where=where, page=1, **kw
                    )
                else:
                    where = " OR ".join(
                        f"Narration.StartsWith({bodies.where_literal(m or n)})"
                        for _k, n, m in chunk
                    )
                    call = lambda where=where, **kw: api.get_manual_journals(  # noqa: E731
                        self.tenant_id, where=where, page=1, **kw
                    )
                rows = self._body(self.session.call(f"GET {collection}", call), collection)
                for kind, number, marker in chunk:
                    row = self._ours(collection, kind, number, marker, rows)
                    if row is not None:
                        found[(kind, number)] = self._ref(collection, row)
        return found

    @staticmethod
    def _ours(
        collection: str, kind: DocumentKind, number: str, marker: str, rows: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        for row in rows:
            if row.get("Status") in ("DELETED", "VOIDED"):
                continue
            if collection == "Invoices":
                wanted_type = "ACCPAY" if kind == DocumentKind.BILL else "ACCREC"
                if row.get("InvoiceNumber") != number or row.get("Type") != wanted_type:
                    continue
                text = str(row.get("Reference") or "")
            elif collection == "BankTransactions":
                text = str(row.get("Reference") or "")
                if not text.startswith(number + " "):
                    continue
            else:
                text = str(row.get("Narration") or "")
            if not marker or marker in text:
                return row
        return None

    @staticmethod
    def _ref(collection: str, row: dict[str, Any]) -> ExternalRef:
        id_field = {"Invoices": "InvoiceID", "BankTransactions": "BankTransactionID"}.get(
            collection, "ManualJournalID"
        )
        payments = [p for p in row.get("Payments") or [] if isinstance(p, dict)]
        return ExternalRef(
            external_id=str(row.get(id_field, "")),
            number=str(row.get("InvoiceNumber") or row.get("Reference") or ""),
            revision=str(row.get("UpdatedDateUTC") or ""),
            total=bodies.total_of(row),
            secondary_id=str(payments[0].get("PaymentID", "")) if payments else "",
        )

    def find_document(
        self, *, kind: DocumentKind, reference: str, marker: str
    ) -> ExternalRef | None:
        return self.find_many([(kind, reference, marker)]).get((kind, reference))

    def deep_link(self, *, kind: DocumentKind, external_id: str) -> str:
        return f"{settings.XERO_APP_BASE_URL.rstrip('/')}{_DEEP_LINKS[kind]}{external_id}"

    # -- posting ------------------------------------------------------------------------------

    def post_sale(self, doc: SaleDocument) -> PostingResult:
        return self._one(doc)

    def post_expense(self, doc: ExpenseDocument) -> PostingResult:
        return self._one(doc)

    def post_summary(self, doc: SummaryDocument) -> PostingResult:
        return self._one(doc)

    def _one(self, doc: Document) -> PostingResult:
        [outcome] = self.post_many([doc])
        if isinstance(outcome, IntegrationError):
            raise outcome
        return outcome

    def post_many(self, docs: Sequence[Document], *, send_by: float | None = None) -> list[Outcome]:
        """One outcome per document, in order: a result, or the error of that document
        (``ProviderRejected`` with Xero's words; a retryable error when its request failed;
        ``ProviderAuthError``/``ProviderRateLimited`` when Xero stopped the batch).
        ``send_by`` (``time.monotonic()``): no request leaves after it (``NotSent``)."""
        from accounting.ledgers.xero.sending import Batch

        for doc in docs:
            doc.check()
        return Batch(self, list(docs), send_by).run()

    def complete(self, doc: Document, found: ExternalRef) -> PostingResult:
        """A document found after an unknown outcome: an invoice may still lack its payment."""
        from accounting.ledgers.xero.sending import Batch

        [outcome] = Batch(self, [doc], None).complete([found])
        if isinstance(outcome, IntegrationError):
            raise outcome
        return outcome

    # -- posted documents that change ---------------------------------------------------------

    def update(self, doc: Document, existing: ExternalRef) -> PostingResult:
        """A sale edited after posting: its invoice takes the new lines (our payment deleted
        first, as Xero edits no paid invoice, and applied again). See ``changes``."""
        from accounting.ledgers.xero.changes import Changes

        doc.check()
        held = currency.journal_refusal(self, doc)
        if held is not None:
            raise held
        return Changes(self).update(doc, existing)

    def remove(
        self, kind: DocumentKind, existing: ExternalRef, *, idempotency_key: str = ""
    ) -> RemovalResult:
        """Invoices and bills voided (our payment deleted first), bank transactions deleted,
        manual journals voided; gone already counts as removed. See ``changes``."""
        from accounting.ledgers.xero.changes import Changes

        return Changes(self).remove(kind, existing, idempotency_key)

    def result(
        self,
        doc: Document,
        row: dict[str, Any],
        resolved: dict[str, str],
        *,
        payment_id: str = "",
        found: bool = False,
    ) -> PostingResult:
        collection, id_field = bodies.COLLECTION_OF_KIND[doc.kind]
        external_id = str(row.get(id_field, ""))
        total = bodies.total_of(row)
        answer: dict[str, Any] = {
            id_field: external_id,
            "Number": row.get("InvoiceNumber") or row.get("Reference") or "",
            "Total": total,
            "Status": row.get("Status", ""),
            "UpdatedDateUTC": row.get("UpdatedDateUTC", ""),
        }
        if payment_id:
            answer["PaymentID"] = payment_id
        if found:
            answer["found"] = True
        if total is not None:
            answer["TotalMatches"] = total == doc.total
        return PostingResult(
            status=ResultStatus.POSTED,
            external_id=external_id,
            number=str(row.get("InvoiceNumber") or doc.reference),
            revision=str(row.get("UpdatedDateUTC") or ""),
            deep_link=self.deep_link(kind=doc.kind, external_id=external_id),
            answer=answer,
            resolved=dict(resolved),
            secondary_id=payment_id,
        )

    def parties_of(self, docs: Sequence[Document]):
        for doc in docs:
            if isinstance(doc, SaleDocument):
                yield doc, doc.customer
            elif isinstance(doc, ExpenseDocument):
                yield doc, doc.vendor

    @staticmethod
    def party_key(party) -> str:
        return _party_key(party)
