"""The ledger-neutral contracts every ledger adapter speaks.

Services build documents from our models (``SaleDocument``, ``ExpenseDocument``,
``SummaryDocument``), hand them to an adapter, and store what comes back
(``PostingResult``). Adapters never touch the ORM: what they need from the database (the
connection's tokens) reaches them through a :class:`TokenStore` the service implements.

Every ledger in the registry (``UNIFY_LEDGER_PROVIDERS``) shares these contracts, whether it
is

- synchronous (REST, OAuth 2, an idempotency key or request id sent with each post), or
- asynchronous (``LedgerProvider.asynchronous``: a connector on the merchant's computer
  polls us; a post therefore ends ``QUEUED`` and the final answer arrives later,
  ``PostingResult.queued``).

Money is ``Decimal`` everywhere, already rounded to cents by the builder; adapters never do
arithmetic other than serialising.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from accounting.ledgers.documents import (  # noqa: F401 - re-exported
    AmountLine,
    Document,
    ExpenseDocument,
    ExpenseLine,
    JournalLine,
    PaymentInfo,
    PostalAddress,
    SaleDocument,
    SaleLine,
    SummaryDocument,
)
from accounting.ledgers.refs import (  # noqa: F401 - re-exported
    CENT,
    CLAIM_PREFIX,
    ZERO,
    DocumentInvalid,
    DocumentKind,
    ItemRef,
    PartyRef,
    PostingSide,
    RequestNotSent,
    ResultStatus,
    _provider_unavailable,
    customer_claims,
    document_marker,
    memo_marker,
)

if TYPE_CHECKING:
    from accounting.ledgers.account_types import Rule

# ---------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExternalRef:
    """A document found in the ledger."""

    external_id: str
    number: str = ""
    revision: str = ""  # the ledger's version of the record (for updates), if it has one
    total: Decimal | None = None
    # The document's second half when it has one: an invoice's payment.
    secondary_id: str = ""


@dataclass(frozen=True, slots=True)
class PostingResult:
    status: ResultStatus
    external_id: str = ""
    number: str = ""
    revision: str = ""
    deep_link: str = ""
    # The ledger's answer, already stripped of anything secret, for the posting log.
    answer: Mapping[str, Any] = field(default_factory=dict)
    # Customers/vendors/items the adapter found or created on the way, by match_key, so the
    # service remembers them and the next document skips the look-up.
    resolved: Mapping[str, str] = field(default_factory=dict)
    # A second document that belongs to this one (the Payment of an Invoice).
    secondary_id: str = ""

    @classmethod
    def queued(cls, **kwargs: Any) -> PostingResult:
        return cls(status=ResultStatus.QUEUED, **kwargs)


@dataclass(frozen=True, slots=True)
class RemovalResult:
    """A posted document taken out of the ledger (deleted where the ledger allows it)."""

    external_id: str
    # The document was gone before this call: removed by hand in the ledger, or by an earlier
    # attempt whose answer was lost. Either way it is no longer in the books.
    already_removed: bool = False
    answer: Mapping[str, Any] = field(default_factory=dict)


class RemovalUnsupported(NotImplementedError):
    """This ledger (or this kind of document in it) cannot have a posted document removed
    through its API: the posting stays listed for a person to act in the ledger."""


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    id: str
    name: str
    kind: str = ""  # account type, item type, tax rate...
    detail: str = ""  # account subtype, SKU...
    active: bool = True
    account_id: str = ""  # items: the income account the ledger posts them to


@dataclass(frozen=True, slots=True)
class LedgerCatalog:
    """What the settings screen offers in its dropdowns."""

    accounts: tuple[CatalogEntry, ...] = ()
    items: tuple[CatalogEntry, ...] = ()
    tax_codes: tuple[CatalogEntry, ...] = ()
    vendors: tuple[CatalogEntry, ...] = ()
    payment_methods: tuple[CatalogEntry, ...] = ()
    customers: tuple[CatalogEntry, ...] = ()
    fetched_at: datetime | None = None

    def ids(self, section: str) -> set[str]:
        return {entry.id for entry in getattr(self, section)}

    def to_json(self) -> dict[str, Any]:
        sections = ("accounts", "items", "tax_codes", "vendors", "payment_methods", "customers")
        data: dict[str, Any] = {
            name: [
                {"id": e.id, "name": e.name, "kind": e.kind, "detail": e.detail, "active": e.active}
                | ({"account_id": e.account_id} if e.account_id else {})
                for e in getattr(self, name)
            ]
            for name in sections
        }
        data["fetched_at"] = self.fetched_at.isoformat() if self.fetched_at else None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> LedgerCatalog:
        if not data:
            return cls()
        fetched = data.get("fetched_at")
        return cls(
            **{
                name: tuple(CatalogEntry(**entry) for entry in data.get(name, ()))
                for name in (
                    "accounts",
                    "items",
                    "tax_codes",
                    "vendors",
                    "payment_methods",
                    "customers",
                )
            },
            fetched_at=datetime.fromisoformat(fetched) if fetched else None,
        )


@dataclass(frozen=True, slots=True)
class CompanyInfo:
    company_id: str
    name: str
    country: str = ""
    currency: str = ""


# ---------------------------------------------------------------------------------------------
# Credentials
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OAuthTokens:
    access_token: str
    refresh_token: str
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None

    def __repr__(self) -> str:  # tokens never reach a log through a repr
        return f"OAuthTokens(access_expires_at={self.access_expires_at!r})"


@dataclass(frozen=True, slots=True)
class ConnectResult:
    """What a finished connection flow gives the service to store."""

    company_id: str
    company_name: str
    tokens: OAuthTokens


class TokenStore(Protocol):
    """The service side of a connection's tokens, handed to an adapter.

    ``refresh`` must serialise refreshes per connection (refresh tokens rotate: two
    concurrent refreshes would lose one) and persist the rotated token before returning.
    ``stale`` is the token set the caller found wanting; when another worker has refreshed
    meanwhile, the store returns the newer set without calling ``refresher``.
    """

    def current(self) -> OAuthTokens: ...

    def refresh(
        self, *, stale: OAuthTokens, refresher: Callable[[OAuthTokens], OAuthTokens]
    ) -> OAuthTokens: ...


# ---------------------------------------------------------------------------------------------
# Providers and adapters
# ---------------------------------------------------------------------------------------------


class LedgerAdapter(abc.ABC):
    """One ledger company, bound to one connection's credentials.

    Every ``post_*`` must be safe to repeat with the same document: it sends
    ``doc.idempotency_key`` (as the ledger's request id or idempotency header) or, where the
    ledger has none, looks the reference up first.
    """

    provider_key: ClassVar[str]

    @abc.abstractmethod
    def verify(self) -> CompanyInfo:
        """A cheap authenticated call: proves the tokens work, names the company."""

    @abc.abstractmethod
    def fetch_catalog(self) -> LedgerCatalog: ...

    @abc.abstractmethod
    def find_document(
        self, *, kind: DocumentKind, reference: str, marker: str
    ) -> ExternalRef | None:
        """The document with this number that we posted (``marker`` identifies ours)."""

    @abc.abstractmethod
    def post_sale(self, doc: SaleDocument) -> PostingResult: ...

    @abc.abstractmethod
    def post_expense(self, doc: ExpenseDocument) -> PostingResult: ...

    @abc.abstractmethod
    def post_summary(self, doc: SummaryDocument) -> PostingResult: ...

    def update(self, doc: Document, existing: ExternalRef) -> PostingResult:
        """Replace a posted document by a new version (ledgers whose provider says
        ``supports_update``); sent with the new revision's idempotency key."""
        raise NotImplementedError(f"{self.provider_key} cannot update posted documents")

    def remove(
        self, kind: DocumentKind, existing: ExternalRef, *, idempotency_key: str = ""
    ) -> RemovalResult:
        """Take the document ``existing`` (one WE posted: its stored id, never a look-up by
        number) out of the ledger. Safe to repeat: a document already gone counts as removed.
        A ledger refusal (e.g. a bill with payments) raises ``ProviderRejected``."""
        raise RemovalUnsupported(f"{self.provider_key} cannot remove posted documents")

    def complete(self, doc: Document, found: ExternalRef) -> PostingResult:
        """Finish a document that :meth:`find_document` found after an unknown outcome.
        Most documents are whole once they exist; an invoice may still lack its payment."""
        return PostingResult(
            status=ResultStatus.POSTED,
            external_id=found.external_id,
            number=found.number,
            revision=found.revision,
            deep_link=self.deep_link(kind=doc.kind, external_id=found.external_id),
            answer={"found": True, "Id": found.external_id, "DocNumber": found.number},
        )

    def post_many(
        self, docs: Sequence[Document], *, send_by: float | None = None
    ) -> list[PostingResult | Exception]:
        """Post several documents (ledgers whose provider has ``batch_size`` > 1 send them
        together). One outcome per document, in order: its result or its error. ``send_by``
        (``time.monotonic()``): nothing may be sent after it. Default: one at a time."""
        outcomes: list[PostingResult | Exception] = []
        for doc in docs:
            try:
                outcomes.append(self.post(doc))
            except Exception as exc:  # noqa: BLE001 - handed to the caller, per document
                outcomes.append(exc)
        return outcomes

    def next_claim_size(self, usual: int) -> int:
        """How many postings a drain claims for its next :meth:`post_many` call. A ledger with
        lanes of different sizes (e.g. many documents per batch request, or one per request
        beside them) says which lane is free now. Default: ``usual``."""
        return usual

    def find_many(
        self, wanted: Sequence[tuple[DocumentKind, str, str]]
    ) -> dict[tuple[DocumentKind, str], ExternalRef]:
        """:meth:`find_document` for several ``(kind, number, marker)`` at once."""
        found = {}
        for kind, reference, marker in wanted:
            ref = self.find_document(kind=kind, reference=reference, marker=marker)
            if ref is not None:
                found[(kind, reference)] = ref
        return found

    def post(self, doc: Document) -> PostingResult:
        doc.check()
        if isinstance(doc, SaleDocument):
            return self.post_sale(doc)
        if isinstance(doc, ExpenseDocument):
            return self.post_expense(doc)
        return self.post_summary(doc)

    def books_closed_through(self, refusal: Exception) -> date | None:
        """When ``refusal`` is the ledger refusing a date in closed books (a closing date,
        lock dates): the last closed day, read from the ledger. Else None."""
        return None

    @abc.abstractmethod
    def deep_link(self, *, kind: DocumentKind, external_id: str) -> str: ...


class LedgerProvider(abc.ABC):
    """Static facts about one ledger and its connection flow (no credentials)."""

    key: ClassVar[str]
    name: ClassVar[str]
    # "oauth": the user is sent to the ledger and comes back; "web_connector": a .qwc file.
    connect_kind: ClassVar[str] = "oauth"
    asynchronous: ClassVar[bool] = False
    supports_update: ClassVar[bool] = True
    doc_number_max_length: ClassVar[int]
    # Lengths the document builder fits names (customers, items) and a payment's reference
    # to; the adapter fits every other field to the ledger itself.
    name_max_length: ClassVar[int]
    payment_reference_max_length: ClassVar[int]
    # Documents this ledger can take for each setting; the settings form offers only these.
    sale_kinds: ClassVar[tuple[DocumentKind, ...]] = (
        DocumentKind.SALES_RECEIPT,
        DocumentKind.INVOICE_PAYMENT,
    )
    # A template that renders this ledger's own card on the Accounting tab ("" = the
    # generic OAuth card); a provider with its own setup pages links to them from there.
    card_template: ClassVar[str] = ""
    # The connect button's words where the ledger prescribes them ("" = "Connect <name>").
    connect_label: ClassVar[Any] = ""
    # Listed on the Accounting tab as "coming soon" and never connectable: a ledger the
    # product names before its adapter exists (see ``accounting.ledgers.registry``).
    planned: ClassVar[bool] = False
    # Sale lines charge shipping to an item of the ledger rather than
    # naming the shipping income account themselves: the settings offer the item.
    shipping_by_item: ClassVar[bool] = False
    # The account types each posting-settings mapping may use, by field
    # (:mod:`accounting.ledgers.account_types`); empty: every account.
    account_rules: ClassVar[Mapping[str, Rule]] = {}

    @abc.abstractmethod
    def authorization_url(self, *, state: str, redirect_uri: str) -> str: ...

    @abc.abstractmethod
    def complete_authorization(
        self, *, code: str, company_id: str, redirect_uri: str
    ) -> ConnectResult: ...

    @abc.abstractmethod
    def adapter(
        self, *, company_id: str, tokens: TokenStore, connection_id: int
    ) -> LedgerAdapter: ...

    @abc.abstractmethod
    def revoke(self, *, tokens: OAuthTokens) -> None: ...

    def redirect_uri(self, built: str) -> str:
        """The OAuth redirect URI to send: the one registered with the ledger when this
        deployment configures it, else ``built`` (this server's own callback address)."""
        return built

    def callback_company_id(self, params: Mapping[str, str]) -> str:
        """The company the ledger's OAuth callback names in its query ``params`` ("" when
        the ledger names none there)."""
        return ""

    def read_timeout_seconds(self) -> float:
        """The longest one request to the ledger may wait for its answer: a drain starts no
        document whose lease could run out meanwhile."""
        return 60.0

    def rate_limit_key(self, company_id: str) -> str:
        return f"{self.key}:{company_id}"

    # Documents per request: above 1 the engine claims that many and posts them together
    # through ``LedgerAdapter.post_many`` (Xero: 50).
    batch_size: ClassVar[int] = 1

    def disconnect(self, *, company_id: str, tokens: OAuthTokens) -> None:
        """End Unify's access to this company (by default: revoke the tokens)."""
        self.revoke(tokens=tokens)

    def posting_paused_until(self, company_id: str) -> datetime | None:
        """While the ledger's limits forbid posting to this company (Xero's daily limit):
        when posting resumes. The engine claims nothing meanwhile; the Accounting tab says so."""
        return None

    def suggested_settings(self, catalog: LedgerCatalog) -> dict[str, str]:
        """Posting settings this ledger's catalog suggests (account ids, document type), for
        a new connection; the merchant reviews them before anything is posted."""
        return {}

    def url_patterns(self, scope: str) -> list:
        """This ledger's own views: ``"tenant"`` ones go under ``/o/<slug>/accounting/<key>/``
        (named in the ``accounting`` namespace), ``"callback"`` ones under
        ``/ledgers/<key>/`` (OAuth callbacks, before the generic one) and ``"root"`` ones at
        the site's root with their own paths, unprefixed and outside every organization (an
        address an outside client is configured with, e.g. a connector's service endpoint:
        it authenticates each call itself)."""
        return []
