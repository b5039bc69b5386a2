"""QuickBooks Online: our documents as QBO transactions, through python-quickbooks.

One request per document, each with the document's idempotency key as ``requestid`` (Intuit
replays the first answer for a repeated key). Customers, vendors and items are found by
name first and created when missing; a 6240 "duplicate name" on create means someone made
it meanwhile (or the name belongs to another kind of entity), so the answer is a query, not
a failure.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.utils.translation import gettext_lazy
from quickbooks import exceptions as qbe
from quickbooks.objects.account import Account
from quickbooks.objects.item import Item
from quickbooks.objects.paymentmethod import PaymentMethod
from quickbooks.objects.taxcode import TaxCode
from quickbooks.objects.vendor import Vendor

from accounting.ledgers.base import (
    ZERO,
    CatalogEntry,
    CompanyInfo,
    DocumentKind,
    ExpenseDocument,
    ExternalRef,
    ItemRef,
    LedgerAdapter,
    LedgerCatalog,
    OAuthTokens,
    PartyRef,
    PostingResult,
    PostingSide,
    RemovalResult,
    ResultStatus,
    SaleDocument,
    SummaryDocument,
    TokenStore,
    memo_marker,
)
from accounting.ledgers.qbo import faults as qbo_faults
from accounting.ledgers.qbo import items as qbo_items
from accounting.ledgers.qbo import own_items, voiding
from accounting.ledgers.qbo import tax as qbo_tax
from accounting.ledgers.qbo.client import PROVIDER, QboClient, dumps
from unify.core.exceptions import (
    IntegrationError,
    ProviderAuthError,
    ProviderRejected,
    ProviderResponseInvalid,
)
from unify.core.stored_text import gettext as _

# QuickBooks' entity names as a person reads them in a message.
_ENTITY_NAMES = {
    "Customer": gettext_lazy("customer"),
    "Vendor": gettext_lazy("vendor"),
    "Invoice": gettext_lazy("invoice"),
    "SalesReceipt": gettext_lazy("sales receipt"),
    "Payment": gettext_lazy("payment"),
    "Purchase": gettext_lazy("expense"),
    "Bill": gettext_lazy("bill"),
    "JournalEntry": gettext_lazy("journal entry"),
}

logger = logging.getLogger("unify.qbo")

T = TypeVar("T")

ENTITY_FOR_KIND = {
    DocumentKind.SALES_RECEIPT: "SalesReceipt",
    DocumentKind.INVOICE_PAYMENT: "Invoice",
    DocumentKind.EXPENSE: "Purchase",
    DocumentKind.BILL: "Bill",
    DocumentKind.JOURNAL_ENTRY: "JournalEntry",
}
APP_PAGE_FOR_KIND = {
    DocumentKind.SALES_RECEIPT: "salesreceipt",
    DocumentKind.INVOICE_PAYMENT: "invoice",
    DocumentKind.EXPENSE: "expense",
    DocumentKind.BILL: "bill",
    DocumentKind.JOURNAL_ENTRY: "journal",
}
# Refresh a little before Intuit's expiry rather than after a 401.
ACCESS_TOKEN_MARGIN = timedelta(seconds=120)
DUPLICATE_NAME = 6240
OBJECT_NOT_FOUND = 610
# Names tried for one customer or vendor before giving up (the name, then qualified ones).
MAX_NAME_CANDIDATES = 5


def quote(value: str) -> str:
    """A string literal for QBO's query language."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def clean_name(value: str, limit: int = 100) -> str:
    """QBO names may not hold a colon (it separates sub-customers/sub-items), tabs or
    newlines, and have length limits."""
    cleaned = " ".join(value.replace(":", "-").split())
    return cleaned[:limit] or "-"


def _ref(value: str) -> dict[str, str]:
    return {"value": value}


def _entity_request_id(kind: str, name: str, email: str = "") -> str:
    # The email is part of it: two buyers of the same name must not replay each other's create.
    key = f"{name.casefold()}\n{email.casefold()}" if email else name.casefold()
    return f"unify-{kind}-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def _with_suffix(name: str, suffix: str, limit: int = 100) -> str:
    """``name`` + ``suffix`` within QBO's name limit, shortening the name, not the suffix."""
    room = max(limit - len(suffix), 1)
    return clean_name(name[:room].rstrip() + suffix, limit)


def _same_buyer(row: dict[str, Any], email: str) -> bool:
    """A customer found by name is this buyer unless both have an email and they differ."""
    theirs = str((row.get("PrimaryEmailAddr") or {}).get("Address") or "").strip()
    return not theirs or not email or theirs.casefold() == email.casefold()


_fault_code = qbo_faults.fault_code
_is_stale = qbo_faults.is_stale


class QboAdapter(LedgerAdapter):
    provider_key = PROVIDER

    def __init__(self, *, company_id: str, tokens: TokenStore, connection_id: int) -> None:
        self.realm_id = company_id
        self.tokens = tokens
        self.connection_id = connection_id
        self._client: QboClient | None = None
        self._client_token: OAuthTokens | None = None
        self.requests_sent = 0

    # -- plumbing -----------------------------------------------------------------------------

    def _fresh_tokens(self) -> OAuthTokens:
        current = self.tokens.current()
        expires = current.access_expires_at
        if expires is not None and expires - ACCESS_TOKEN_MARGIN <= datetime.now(UTC):
            current = self._refresh(current)
        return current

    def _refresh(self, stale: OAuthTokens) -> OAuthTokens:
        from accounting.ledgers.qbo.provider import refresh_tokens

        return self.tokens.refresh(
            stale=stale, refresher=lambda t: refresh_tokens(t, connection_id=self.connection_id)
        )

    def _client_for(self, tokens: OAuthTokens) -> QboClient:
        if self._client is None or self._client_token is not tokens:
            if self._client is not None:
                self.requests_sent += self._client.requests_sent
            self._client = QboClient(
                realm_id=self.realm_id,
                access_token=tokens.access_token,
                connection_id=self.connection_id,
            )
            self._client_token = tokens
        return self._client

    def _error(self, cls: type[IntegrationError], message: str, **kwargs: Any) -> IntegrationError:
        return cls(message, provider=PROVIDER, connection_id=self.connection_id, **kwargs)

    def call(self, fn: Callable[[QboClient], T]) -> T:
        """Run ``fn`` with a client holding a valid token: refresh ahead of expiry, and once
        more after a 401 (another worker may have rotated the token meanwhile)."""
        tokens = self._fresh_tokens()
        for attempt in (1, 2):
            client = self._client_for(tokens)
            try:
                return fn(client)
            except qbe.AuthorizationException as exc:
                if attempt == 2:
                    raise self._error(
                        ProviderAuthError,
                        f"qbo: authorization refused after a token refresh ({exc.error_code})",
                        status_code=401,
                    ) from None
                tokens = self._refresh(tokens)
            except qbe.QuickbooksException as exc:
                # Anything the helpers below did not translate: an unreadable body
                # (python-quickbooks reports it as error 10000) or a fault we do not know.
                raise self._rejected(exc, _("the request")) from None
            except (KeyError, TypeError, ValueError) as exc:
                # An answer of an unexpected shape (a body cut short, nulls in a list).
                raise self._error(
                    ProviderResponseInvalid, f"qbo: unexpected answer ({type(exc).__name__})"
                ) from None
        raise AssertionError("unreachable")

    def _rejected(self, exc: qbe.QuickbooksException, what: str) -> Exception:
        """The exception to raise for a python-quickbooks error: the original for a 401 (so
        :meth:`call` refreshes and tries again), ``ProviderResponseInvalid`` for a body it
        could not read (the write may have happened: retried after a look-up), else
        ``ProviderRejected`` with QuickBooks' own words."""
        if isinstance(exc, qbe.AuthorizationException):
            return exc
        if isinstance(exc, qbe.SevereException) or _fault_code(exc) == 10000:
            return self._error(
                ProviderResponseInvalid, f"qbo {what}: unreadable answer ({exc.error_code})"
            )
        detail = (exc.detail or "").strip()
        # QuickBooks' own words stay as they are, inside a frame each reader reads in their
        # language (unify.core.stored_text).
        if detail and detail not in (exc.message or ""):
            message = _("QuickBooks refused %(what)s: “%(message)s” (%(detail)s)") % {
                "what": what,
                "message": exc.message,
                "detail": detail,
            }
        else:
            message = _("QuickBooks refused %(what)s: “%(message)s”") % {
                "what": what,
                "message": exc.message,
            }
        message = (
            qbo_faults.plain_message(_fault_code(exc), what, detail, str(exc.message or ""))
            or message
        )
        return self._error(
            ProviderRejected,
            f"qbo {what}: {exc.error_code} {exc.message}",
            field_errors={"code": str(exc.error_code), "detail": detail[:500]},
            hold_reason=qbo_faults.hold_reason(_fault_code(exc), detail, str(exc.message or "")),
            user_message=message[:1000],
        )

    @staticmethod
    def _rows(answer: dict[str, Any], entity: str) -> list[dict[str, Any]]:
        return [row for row in answer.get(entity) or [] if isinstance(row, dict)]

    def _query(self, client: QboClient, select: str) -> dict[str, Any]:
        return client.query(select).get("QueryResponse", {})

    def _create(
        self, client: QboClient, entity: str, body: dict[str, Any], request_id: str
    ) -> dict[str, Any]:
        return client.create_object(entity, dumps(body), request_id=request_id)[entity]

    # -- company, catalog ---------------------------------------------------------------------

    def verify(self) -> CompanyInfo:
        def run(client: QboClient) -> CompanyInfo:
            data = client.get_single_object("CompanyInfo", self.realm_id)["CompanyInfo"]
            return CompanyInfo(
                company_id=self.realm_id,
                name=data.get("CompanyName") or data.get("LegalName") or "",
                country=data.get("Country") or "",
            )

        return self.call(run)

    def fetch_catalog(self) -> LedgerCatalog:
        def all_of(client: QboClient, cls, where: str = "") -> list[Any]:
            found: list[Any] = []
            start = 1
            while True:
                page = cls.query(
                    f"SELECT * FROM {cls.qbo_object_name}{where} "  # noqa: S608 - QBO, constants
                    f"STARTPOSITION {start} MAXRESULTS 1000",
                    qb=client,
                )
                found.extend(page)
                if len(page) < 1000:
                    return found
                start += 1000

        def run(client: QboClient) -> LedgerCatalog:
            accounts = all_of(client, Account, " WHERE Active = true")
            items = all_of(client, Item, " WHERE Active = true")
            tax_codes = all_of(client, TaxCode)
            vendors = all_of(client, Vendor, " WHERE Active = true")
            methods = all_of(client, PaymentMethod)
            return LedgerCatalog(
                accounts=tuple(
                    CatalogEntry(
                        id=str(a.Id),
                        name=a.FullyQualifiedName or a.Name,
                        kind=a.AccountType or "",
                        detail=a.AccountSubType or "",
                    )
                    for a in accounts
                ),
                items=tuple(
                    CatalogEntry(
                        id=str(i.Id),
                        name=i.FullyQualifiedName or i.Name,
                        kind=i.Type or "",
                        detail=getattr(i, "Sku", "") or "",
                        account_id=str(getattr(i.IncomeAccountRef, "value", "") or "")
                        if getattr(i, "IncomeAccountRef", None)
                        else "",
                    )
                    for i in items
                ),
                tax_codes=tuple(
                    CatalogEntry(id=str(t.Id), name=t.Name, active=bool(getattr(t, "Active", True)))
                    for t in tax_codes
                ),
                vendors=tuple(CatalogEntry(id=str(v.Id), name=v.DisplayName) for v in vendors),
                payment_methods=tuple(CatalogEntry(id=str(m.Id), name=m.Name) for m in methods),
                fetched_at=datetime.now(UTC),
            )

        return self.call(run)

    # -- customers, vendors, items ------------------------------------------------------------

    def _find_or_create_party(
        self, client: QboClient, entity: str, party: PartyRef, resolved: dict[str, str]
    ) -> str:
        if party.external_id:
            return party.external_id
        if party.match_key and party.match_key in resolved:
            return resolved[party.match_key]
        name = clean_name(party.display_name)
        email = party.email.strip() if entity == "Customer" else ""
        # Create first, query on 6240: a new buyer (the usual case) costs one request, one
        # that exists costs two, and two workers creating the same one both end up with it.
        # A customer of that name with another email is another buyer: never merged, the
        # name is qualified with the email instead ("Jane Doe (jane@example.com)"). So is one
        # without an email that Unify's map already gave to another buyer's email.
        candidates = [name]
        taken_by_others = 0
        found = ""
        while candidates and len(candidates) <= MAX_NAME_CANDIDATES:
            candidate = candidates[-1]
            body: dict[str, Any] = {"DisplayName": candidate}
            if email:
                body["PrimaryEmailAddr"] = {"Address": email}
            try:
                created = self._create(
                    client, entity, body, _entity_request_id(entity, candidate, email)
                )
                found = str(created["Id"])
                break
            except qbe.QuickbooksException as exc:
                if _fault_code(exc) != DUPLICATE_NAME:
                    raise self._rejected(exc, f"{entity} {candidate}") from None
            # QBO's query language, not SQL; values go through quote().
            select = f"SELECT * FROM {entity} WHERE DisplayName = {quote(candidate)}"  # noqa: S608
            rows = self._rows(self._query(client, select), entity)
            if (
                rows
                and _same_buyer(rows[0], email)
                and not party.claimed_by_another(str(rows[0]["Id"]), resolved)
            ):
                # Reused as it is: the buyer's email is never written onto it, and Unify's
                # map records the claim, so no second email gets it.
                found = str(rows[0]["Id"])
                break
            if rows:
                taken_by_others += 1
                number = f" {taken_by_others}" if taken_by_others > 1 else ""
                candidates.append(_with_suffix(name, f" ({email}){number}"))
            elif f"({entity.lower()})" not in candidate:
                # The name belongs to a vendor or employee: try the qualified name.
                candidates.append(_with_suffix(candidate, f" ({entity.lower()})"))
            else:
                break
        if not found:
            raise self._error(
                ProviderRejected,
                f"qbo {entity} {name}: name taken",
                user_message=_(
                    "QuickBooks has no %(entity)s named “%(name)s” and refuses to create one "
                    "(the name is used by another customer, vendor or employee)."
                )
                % {"entity": _ENTITY_NAMES.get(entity, entity.lower()), "name": name},
            )
        if party.match_key:
            resolved[party.match_key] = found
        return found

    def _find_or_create_item(
        self, client: QboClient, item: ItemRef, resolved: dict[str, str], item_type: str
    ) -> str:
        if item.external_id:
            return item.external_id
        if item.match_key and item.match_key in resolved:
            return resolved[item.match_key]
        if item.account_bound and item.income_account_id:
            return own_items.own_item(self, client, item, resolved, item_type)
        sku = (item.sku or "").strip()[:100]
        name = qbo_items.item_name(item.name, sku) if sku else clean_name(item.name)
        select = f"SELECT * FROM Item WHERE Name = {quote(name)}"  # noqa: S608 - QBO, quoted
        if sku:
            # By its Sku first: the merchant's item may carry another name.
            by_sku = f"SELECT * FROM Item WHERE Sku = {quote(sku)}"  # noqa: S608 - quoted
            rows = [
                r for r in self._rows(self._query(client, by_sku), "Item") if r.get("Active", True)
            ]
            if rows:
                found = str(rows[0]["Id"])
                if item.match_key:
                    resolved[item.match_key] = found
                return found
        if not item.create_if_missing:
            rows = self._rows(self._query(client, select), "Item")
            if not rows:
                raise self._error(
                    ProviderRejected,
                    f"qbo item {name}: not found",
                    user_message=_(
                        "QuickBooks has no product or service named “%(name)s”. Create it "
                        "there, choose a default item, or allow Unify to create missing items."
                    )
                    % {"name": name},
                )
            found = str(rows[0]["Id"])
        else:
            body: dict[str, Any] = {
                "Name": name,
                "Type": item_type,
                "IncomeAccountRef": _ref(item.income_account_id),
            }
            if sku:
                body["Sku"] = sku
            found = ""
            for _attempt in (1, 2):
                try:
                    created = self._create(client, "Item", body, _entity_request_id("Item", name))
                    found = str(created["Id"])
                    break
                except qbe.QuickbooksException as exc:
                    if _fault_code(exc) != DUPLICATE_NAME:
                        raise self._rejected(exc, f"Item {name}") from None
                    # It exists already (in the merchant's catalog, or made by another worker).
                    rows = self._rows(self._query(client, select), "Item")
                    if rows and qbo_items.same_sku(rows[0], sku):
                        found = str(rows[0]["Id"])
                        break
                    if not rows or not sku or _attempt == 2:
                        raise self._rejected(exc, f"Item {name}") from None
                    # The name is another SKU's item: this SKU's own, suffixed name.
                    name = qbo_items.item_name(item.name, sku, taken=True)
                    body["Name"] = name
                    select = f"SELECT * FROM Item WHERE Name = {quote(name)}"  # noqa: S608
        if item.match_key:
            resolved[item.match_key] = found
        return found

    def books_closed_through(self, refusal: Exception) -> date | None:
        """The company's closing date (``Preferences.AccountingInfoPrefs.BookCloseDate``) when
        ``refusal`` is QuickBooks' closed-books fault."""
        if not isinstance(refusal, ProviderRejected):
            return None
        try:
            code = int(refusal.field_errors.get("code", 0))
        except (TypeError, ValueError):
            return None
        detail = str(refusal.field_errors.get("detail", ""))
        if not qbo_faults.is_period_closed(code, str(refusal), detail):
            return None

        def run(client: QboClient) -> dict[str, Any]:
            url = f"{client.api_url}/company/{client.company_id}/preferences"
            return client.get(url, {}).get("Preferences") or {}

        preferences = self.call(run)
        return qbo_faults.closing_date(preferences)

    # -- documents ----------------------------------------------------------------------------

    def _sale_body(self, client: QboClient, doc: SaleDocument, resolved: dict[str, str]) -> dict:
        lines: list[dict[str, Any]] = []

        def item_line(item_id: str, description: str, qty, price, amount, tax_code="") -> None:
            detail: dict[str, Any] = {"ItemRef": _ref(item_id), "Qty": qty, "UnitPrice": price}
            if tax_code:
                detail["TaxCodeRef"] = _ref(tax_code)
            lines.append(
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": amount,
                    "Description": description[:4000],
                    "SalesItemLineDetail": detail,
                }
            )

        # Every line carries TAX or NON: QuickBooks' automated sales tax would otherwise tax
        # it by its item (accounting/ledgers/qbo/tax.py).
        sold_code, other_code = qbo_tax.item_line_code(doc), qbo_tax.NOT_TAXABLE
        for line in doc.lines:
            item_id = self._find_or_create_item(client, line.item, resolved, "NonInventory")
            item_line(
                item_id, line.description, line.quantity, line.unit_price, line.amount, sold_code
            )
        if doc.shipping is not None:
            item_id = self._find_or_create_item(client, doc.shipping.item, resolved, "Service")
            amount = doc.shipping.amount
            item_line(item_id, doc.shipping.description, Decimal(1), amount, amount, other_code)
        if doc.tax and doc.tax_account_id and doc.tax_item is not None:
            item_id = self._find_or_create_item(client, doc.tax_item, resolved, "Service")
            item_line(item_id, "Sales tax", Decimal(1), doc.tax, doc.tax, other_code)
        if doc.difference is not None and doc.difference.item is not None:
            item_id = self._find_or_create_item(client, doc.difference.item, resolved, "Service")
            amount = doc.difference.amount
            item_line(item_id, doc.difference.description, Decimal(1), amount, amount, other_code)
        if doc.discounts:
            # QBO takes one discount line per transaction: the discounts are summed, their
            # names kept in the description.
            lines.append(
                {
                    "DetailType": "DiscountLineDetail",
                    "Amount": doc.discounts_total,
                    "Description": ", ".join(d.description for d in doc.discounts)[:4000],
                    "DiscountLineDetail": {
                        "PercentBased": False,
                        "DiscountAccountRef": _ref(doc.discounts[0].account_id),
                    },
                }
            )
        body: dict[str, Any] = {
            "DocNumber": doc.reference,
            "TxnDate": doc.issued_on.isoformat(),
            "CustomerRef": _ref(
                self._find_or_create_party(client, "Customer", doc.customer, resolved)
            ),
            "PrivateNote": doc.memo[:4000],
            "Line": lines,
        }
        if doc.currency:
            # QuickBooks refuses another currency than its home one without multicurrency
            # (held with the reason); with it, QuickBooks applies its own exchange rate.
            body["CurrencyRef"] = _ref(doc.currency)
        # The tax ShipStation reports, stated even when 0.00, so QuickBooks computes none.
        body["TxnTaxDetail"] = qbo_tax.txn_tax_detail(doc)
        ship_addr = qbo_tax.ship_addr(doc.ship_to)
        if ship_addr:
            body["ShipAddr"] = ship_addr
        return body

    def _result(
        self,
        kind: DocumentKind,
        data: dict[str, Any],
        resolved: dict[str, str],
        *,
        secondary_id: str = "",
        expected_total: Decimal | None = None,
    ) -> PostingResult:
        external_id = str(data.get("Id", ""))
        answer = {
            "Id": external_id,
            "DocNumber": data.get("DocNumber", ""),
            "SyncToken": data.get("SyncToken", ""),
            "TotalAmt": data.get("TotalAmt"),
            "TxnDate": data.get("TxnDate", ""),
        }
        if secondary_id:
            answer["PaymentId"] = secondary_id
        if expected_total is not None and data.get("TotalAmt") is not None:
            answer["TotalMatches"] = Decimal(str(data["TotalAmt"])) == expected_total
        return PostingResult(
            status=ResultStatus.POSTED,
            external_id=external_id,
            number=str(data.get("DocNumber", "")),
            revision=str(data.get("SyncToken", "")),
            deep_link=self.deep_link(kind=kind, external_id=external_id),
            answer=answer,
            resolved=dict(resolved),
            secondary_id=secondary_id,
        )

    def _create_document(
        self,
        client: QboClient,
        entity: str,
        body: dict[str, Any],
        doc_key: str,
        *,
        kind: DocumentKind,
        reference: str,
        marker: str,
    ) -> dict[str, Any]:
        try:
            return self._create(client, entity, body, doc_key)
        except qbe.QuickbooksException as exc:
            if qbo_faults.is_duplicate_doc_number(_fault_code(exc)):
                # Ours after all (the first answer was lost and the replay window passed), or
                # someone else's document with our number.
                found = self._find(client, kind, reference, marker)
                if found is not None:
                    return found
            raise self._rejected(exc, f"{entity} {reference}") from None

    def _create_payment(
        self, client: QboClient, doc: SaleDocument, invoice: dict[str, Any], customer_id: str
    ) -> str:
        payment = doc.payment
        body: dict[str, Any] = {
            "CustomerRef": _ref(customer_id),
            "TotalAmt": payment.amount,
            "TxnDate": payment.paid_on.isoformat(),
            "DepositToAccountRef": _ref(payment.deposit_account_id),
            "PaymentRefNum": payment.reference[:21],
            "CurrencyRef": _ref(doc.currency or "USD"),
            "PrivateNote": doc.memo[:4000],
            "Line": [
                {
                    "Amount": payment.amount,
                    "LinkedTxn": [{"TxnId": str(invoice["Id"]), "TxnType": "Invoice"}],
                }
            ],
        }
        if payment.payment_method_id:
            body["PaymentMethodRef"] = _ref(payment.payment_method_id)
        try:
            data = self._create(client, "Payment", body, f"{doc.idempotency_key}-p")
        except qbe.QuickbooksException as exc:
            raise self._rejected(
                exc, _("the payment for %(reference)s") % {"reference": doc.reference}
            ) from None
        return str(data["Id"])

    def post_sale(self, doc: SaleDocument) -> PostingResult:
        resolved: dict[str, str] = {}

        def run(client: QboClient) -> PostingResult:
            body = self._sale_body(client, doc, resolved)
            entity = ENTITY_FOR_KIND[doc.kind]
            if doc.kind == DocumentKind.SALES_RECEIPT:
                body["DepositToAccountRef"] = _ref(doc.payment.deposit_account_id)
                if doc.payment.payment_method_id:
                    body["PaymentMethodRef"] = _ref(doc.payment.payment_method_id)
            data = self._create_document(
                client,
                entity,
                body,
                doc.idempotency_key,
                kind=doc.kind,
                reference=doc.reference,
                marker=memo_marker(doc.memo),
            )
            payment_id = ""
            if doc.kind == DocumentKind.INVOICE_PAYMENT:
                payment_id = self._settle_invoice(client, doc, data, body["CustomerRef"]["value"])
            return self._result(
                doc.kind, data, resolved, secondary_id=payment_id, expected_total=doc.total
            )

        return self.call(run)

    def post_many(self, docs, *, send_by: float | None = None) -> list:
        """Up to ``QBO_BATCH_SIZE`` documents per request (see ``qbo/batch.py``)."""
        from accounting.ledgers.qbo.batch import post_many

        return post_many(self, docs, send_by)

    def _settle_invoice(
        self, client: QboClient, doc: SaleDocument, invoice: dict[str, Any], customer_id: str
    ) -> str:
        balance = Decimal(str(invoice.get("Balance", invoice.get("TotalAmt", "0"))))
        if doc.payment.amount <= ZERO or balance <= ZERO:
            return ""
        return self._create_payment(client, doc, invoice, customer_id)

    def complete(self, doc, found: ExternalRef) -> PostingResult:
        """A document found after an unknown outcome: an invoice may still lack its payment."""
        if not isinstance(doc, SaleDocument) or doc.kind != DocumentKind.INVOICE_PAYMENT:
            return super().complete(doc, found)

        def run(client: QboClient) -> PostingResult:
            invoice = client.get_single_object("Invoice", found.external_id)["Invoice"]
            customer_id = str(invoice.get("CustomerRef", {}).get("value", ""))
            payment_id = self._settle_invoice(client, doc, invoice, customer_id)
            return self._result(doc.kind, invoice, {}, secondary_id=payment_id)

        return self.call(run)

    def _expense_body(
        self, client: QboClient, doc: ExpenseDocument, resolved: dict[str, str]
    ) -> dict[str, Any]:
        vendor_id = self._find_or_create_party(client, "Vendor", doc.vendor, resolved)
        lines = [
            {
                "DetailType": "AccountBasedExpenseLineDetail",
                "Amount": line.amount,
                "Description": line.description[:4000],
                "AccountBasedExpenseLineDetail": {"AccountRef": _ref(line.account_id)},
            }
            for line in doc.lines
        ]
        body: dict[str, Any] = {
            "DocNumber": doc.reference,
            "TxnDate": doc.issued_on.isoformat(),
            "PrivateNote": doc.memo[:4000],
            "Line": lines,
        }
        if doc.kind == DocumentKind.BILL:
            body["VendorRef"] = _ref(vendor_id)
        else:
            account_type = doc.payment_account_type.replace(" ", "").lower()
            body["PaymentType"] = "CreditCard" if account_type == "creditcard" else "Cash"
            body["AccountRef"] = _ref(doc.payment_account_id)
            body["EntityRef"] = {"value": vendor_id, "type": "Vendor"}
        return body

    def post_expense(self, doc: ExpenseDocument) -> PostingResult:
        resolved: dict[str, str] = {}

        def run(client: QboClient) -> PostingResult:
            body = self._expense_body(client, doc, resolved)
            data = self._create_document(
                client,
                ENTITY_FOR_KIND[doc.kind],
                body,
                doc.idempotency_key,
                kind=doc.kind,
                reference=doc.reference,
                marker=memo_marker(doc.memo),
            )
            return self._result(doc.kind, data, resolved, expected_total=doc.total)

        return self.call(run)

    def _summary_body(self, doc: SummaryDocument) -> dict[str, Any]:
        body = {
            "DocNumber": doc.reference,
            "TxnDate": doc.issued_on.isoformat(),
            "PrivateNote": doc.memo[:4000],
            "Line": [
                {
                    "DetailType": "JournalEntryLineDetail",
                    "Amount": line.amount,
                    "Description": line.description[:4000],
                    "JournalEntryLineDetail": {
                        "PostingType": "Debit" if line.side == PostingSide.DEBIT else "Credit",
                        "AccountRef": _ref(line.account_id),
                    },
                }
                for line in doc.lines
            ],
        }
        if doc.currency:
            # A day's summary is in its orders' currency, never mixed (as sales are).
            body["CurrencyRef"] = _ref(doc.currency)
        return body

    def post_summary(self, doc: SummaryDocument) -> PostingResult:
        def run(client: QboClient) -> PostingResult:
            data = self._create_document(
                client,
                "JournalEntry",
                self._summary_body(doc),
                doc.idempotency_key,
                kind=doc.kind,
                reference=doc.reference,
                marker=memo_marker(doc.memo),
            )
            return self._result(doc.kind, data, {})

        return self.call(run)

    def _save_current(
        self,
        client: QboClient,
        entity: str,
        record_id: str,
        body: dict[str, Any],
        request_id: str,
        what: str,
    ) -> dict[str, Any]:
        """Update ``record_id`` with its current SyncToken (read again once if it went stale)."""
        for attempt in (1, 2):
            current = client.get_single_object(entity, record_id)[entity]
            body.update({"Id": record_id, "SyncToken": current["SyncToken"]})
            try:
                return client.update_object(entity, dumps(body), request_id=request_id)[entity]
            except qbe.QuickbooksException as exc:
                if not _is_stale(exc) or attempt == 2:
                    raise self._rejected(exc, what) from None
        raise AssertionError("unreachable")

    def _linked_payment(
        self, client: QboClient, invoice_id: str, payment_id: str
    ) -> dict[str, Any] | None:
        """The payment posted with an invoice: by its remembered id, else the one payment
        linked to the invoice (a posting from before payment ids were kept)."""
        if not payment_id:
            invoice = client.get_single_object("Invoice", invoice_id)["Invoice"]
            linked = [
                str(link.get("TxnId"))
                for link in invoice.get("LinkedTxn") or []
                if link.get("TxnType") == "Payment"
            ]
            if len(linked) != 1:
                return None
            payment_id = linked[0]
        try:
            return client.get_single_object("Payment", payment_id)["Payment"]
        except qbe.QuickbooksException as exc:
            if _fault_code(exc) == OBJECT_NOT_FOUND:
                return None  # deleted in QuickBooks: a new one is created
            raise self._rejected(exc, f"Payment {payment_id}") from None

    def _match_payment(
        self,
        client: QboClient,
        doc: SaleDocument,
        payment: dict[str, Any],
        invoice_id: str,
        customer_id: str,
        request_id: str,
    ) -> dict[str, Any]:
        """Sparse update of our payment to pay ``doc`` in full, unless it already does."""
        amount = doc.payment.amount
        lines = payment.get("Line") or []
        current_links = [
            (Decimal(str(line.get("Amount", "0"))), str(link.get("TxnId")), link.get("TxnType"))
            for line in lines
            for link in line.get("LinkedTxn") or []
        ]
        if (
            Decimal(str(payment.get("TotalAmt", "0"))) == amount
            and current_links == [(amount, invoice_id, "Invoice")]
            and str(payment.get("CustomerRef", {}).get("value", "")) == customer_id
        ):
            return payment
        body: dict[str, Any] = {
            "sparse": True,
            "CustomerRef": _ref(customer_id),
            "TotalAmt": amount,
            "Line": [
                {"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}
            ],
        }
        return self._save_current(
            client,
            "Payment",
            str(payment["Id"]),
            body,
            request_id,
            f"update of the payment for {doc.reference}",
        )

    def update(self, doc, existing: ExternalRef) -> PostingResult:
        """Replace a posted document by ``doc`` (sparse update with the current SyncToken). An
        invoice's payment follows it: updated to the new amount, or created if missing, so the
        invoice is neither left open nor overpaid."""
        doc.check()
        resolved: dict[str, str] = {}
        entity = ENTITY_FOR_KIND[doc.kind]
        with_payment = isinstance(doc, SaleDocument) and doc.kind == DocumentKind.INVOICE_PAYMENT

        def run(client: QboClient) -> PostingResult:
            if isinstance(doc, SaleDocument):
                body = self._sale_body(client, doc, resolved)
                if doc.kind == DocumentKind.SALES_RECEIPT:
                    body["DepositToAccountRef"] = _ref(doc.payment.deposit_account_id)
                    if doc.payment.payment_method_id:
                        body["PaymentMethodRef"] = _ref(doc.payment.payment_method_id)
            elif isinstance(doc, ExpenseDocument):
                body = self._expense_body(client, doc, resolved)
            else:
                body = self._summary_body(doc)
            # Sparse: what the merchant added in QuickBooks (a memo, a class) stays; every
            # field Unify owns is sent, the tax stated even when there is none now.
            body["sparse"] = True
            if isinstance(doc, SaleDocument):
                body.setdefault("TxnTaxDetail", {"TotalTax": ZERO})
            invoice_id = existing.external_id
            payment = None
            if with_payment:
                payment = self._linked_payment(client, invoice_id, existing.secondary_id)
                paid = Decimal(str(payment.get("TotalAmt", "0"))) if payment else ZERO
                if payment is not None and ZERO < doc.payment.amount < paid:
                    # A smaller total: QBO refuses an invoice below what is applied to it,
                    # so the payment comes down first.
                    payment = self._match_payment(
                        client,
                        doc,
                        payment,
                        invoice_id,
                        str(payment.get("CustomerRef", {}).get("value", "")),
                        f"{doc.idempotency_key}-p1",
                    )
            data = self._save_current(
                client,
                entity,
                invoice_id,
                body,
                doc.idempotency_key,
                f"update of {entity} {doc.reference}",
            )
            payment_id = ""
            if with_payment:
                customer_id = body["CustomerRef"]["value"]
                if payment is None:
                    payment_id = self._settle_invoice(client, doc, data, customer_id)
                elif doc.payment.amount > ZERO:
                    payment = self._match_payment(
                        client, doc, payment, invoice_id, customer_id, f"{doc.idempotency_key}-p"
                    )
                    payment_id = str(payment["Id"])
                else:
                    payment_id = str(payment["Id"])
                if payment_id:
                    # The invoice as the payment left it (its Balance, its SyncToken).
                    data = client.get_single_object(entity, invoice_id)[entity]
            return self._result(
                doc.kind, data, resolved, secondary_id=payment_id, expected_total=doc.total
            )

        return self.call(run)

    # -- removal ------------------------------------------------------------------------------

    def remove(
        self, kind: DocumentKind, existing: ExternalRef, *, idempotency_key: str = ""
    ) -> RemovalResult:
        """Delete our document ``existing`` by its stored id (``?operation=delete`` with its
        current SyncToken). Gone already (610 on the read or on the delete) counts as removed;
        a document renumbered since we posted it is left alone (it may no longer be ours)."""
        entity = ENTITY_FOR_KIND[kind]
        record_id = existing.external_id
        if not record_id:
            raise ValueError("remove() needs the ledger id of the posted document")
        what = _("the deletion of %(document)s") % {
            "document": f"{entity} {existing.number or record_id}"
        }

        def gone() -> RemovalResult:
            return RemovalResult(
                external_id=record_id,
                already_removed=True,
                answer={entity: {"Id": record_id, "status": "NotFound"}},
            )

        def run(client: QboClient) -> RemovalResult:
            payments: list[str] = []
            if kind == DocumentKind.INVOICE_PAYMENT:
                # QuickBooks deletes no invoice with payments applied: ours goes first.
                payments = voiding.delete_invoice_payments(
                    self, client, record_id, existing.secondary_id, idempotency_key
                )
            for attempt in (1, 2):
                try:
                    current = client.get_single_object(entity, record_id)[entity]
                except qbe.QuickbooksException as exc:
                    if _fault_code(exc) == OBJECT_NOT_FOUND:
                        return gone()
                    raise self._rejected(exc, what) from None
                number = str(current.get("DocNumber") or "")
                if existing.number and number and number != existing.number:
                    raise self._error(
                        ProviderRejected,
                        f"qbo {what}: DocNumber is now {number}",
                        user_message=_(
                            "QuickBooks' %(entity)s %(id)s is now numbered “%(number)s”, not "
                            "“%(posted)s” as posted; Unify leaves it alone."
                        )
                        % {
                            "entity": _ENTITY_NAMES.get(entity, entity),
                            "id": record_id,
                            "number": number,
                            "posted": existing.number,
                        },
                    )
                body = {"Id": record_id, "SyncToken": current["SyncToken"]}
                try:
                    answer = client.delete_object(
                        entity, dumps(body), request_id=idempotency_key or None
                    )
                except qbe.QuickbooksException as exc:
                    code = _fault_code(exc)
                    if code == OBJECT_NOT_FOUND:
                        return gone()
                    if _is_stale(exc) and attempt == 1:
                        continue  # edited meanwhile: read the new SyncToken once
                    raise self._rejected(exc, what) from None
                data = answer.get(entity) or {}
                if str(data.get("status", "")).lower() != "deleted":
                    raise self._error(
                        ProviderResponseInvalid, f"qbo {what}: no Deleted status in the answer"
                    )
                if payments:
                    answer = {**answer, "PaymentsDeleted": payments}
                return RemovalResult(external_id=record_id, answer=dict(answer))
            raise AssertionError("unreachable")

        return self.call(run)

    # -- look-ups -----------------------------------------------------------------------------

    def _find(
        self, client: QboClient, kind: DocumentKind, reference: str, marker: str
    ) -> dict[str, Any] | None:
        entity = ENTITY_FOR_KIND[kind]
        select = f"SELECT * FROM {entity} WHERE DocNumber = {quote(reference)}"  # noqa: S608
        rows = self._rows(self._query(client, select), entity)
        for row in rows:
            if not marker or marker in (row.get("PrivateNote") or ""):
                return row
        return None

    def find_document(
        self, *, kind: DocumentKind, reference: str, marker: str
    ) -> ExternalRef | None:
        def run(client: QboClient) -> ExternalRef | None:
            row = self._find(client, kind, reference, marker)
            if row is None:
                return None
            total = row.get("TotalAmt")
            return ExternalRef(
                external_id=str(row["Id"]),
                number=str(row.get("DocNumber", "")),
                revision=str(row.get("SyncToken", "")),
                total=Decimal(str(total)) if total is not None else None,
            )

        return self.call(run)

    def deep_link(self, *, kind: DocumentKind, external_id: str) -> str:
        base = settings.QBO_APP_BASE_URL.rstrip("/")
        return f"{base}/app/{APP_PAGE_FOR_KIND[kind]}?txnId={external_id}"
