"""The source contract: what every order source (ShipStation now, an API v2 or a shop later)
gives the rest of Unify.

Contracts are frozen, slotted dataclasses. Money is ``Decimal`` (never float), instants are
aware UTC ``datetime`` objects, calendar days are ``date``. Each record keeps the provider's
raw dict (``raw``, parsed with ``parse_float=Decimal``) for storage and later re-reading.

Paging: list calls yield one :class:`Page` per provider page so a caller can checkpoint the
page number and resume with ``start_page``. A record that cannot be mapped does not kill its
page: it comes back as a :class:`SourceRecordError` in ``Page.errors`` next to the good
records, so the import can store an issue for it and carry on.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar

from django.utils.translation import gettext_lazy as _

from unify.core.exceptions import IntegrationError
from unify.core.http import RateLimiter, parse_json

T = TypeVar("T")

ZERO = Decimal("0")


class RawRecord(Mapping[str, Any]):
    """A provider record as received: its JSON text (``data``, UTF-8), read as a mapping
    (exact money, like every parsed answer) only when something looks inside.

    The import stores and hashes the text itself, so a record that is read by typed fields
    (see the ShipStation package's ``wire``) is never turned into a dict at all."""

    __slots__ = ("_parsed", "data")

    def __init__(self, data: bytes, parsed: dict[str, Any] | None = None) -> None:
        self.data = data
        self._parsed = parsed

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")

    def _mapping(self) -> dict[str, Any]:
        if self._parsed is None:
            value = parse_json(self.data)
            if not isinstance(value, dict):
                raise TypeError("a raw record is a JSON object")
            self._parsed = value
        return self._parsed

    def __getitem__(self, key: str) -> Any:
        return self._mapping()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())

    def __repr__(self) -> str:
        return f"RawRecord({self.data[:80]!r}{'...' if len(self.data) > 80 else ''})"


@dataclass(frozen=True, slots=True)
class SourceStore:
    """A store or marketplace inside the source account."""

    external_id: int
    name: str
    marketplace_id: int | None
    marketplace_name: str
    active: bool
    refresh_date: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SourceAccount:
    """What a successful credentials check tells us about the account."""

    provider: str
    stores: tuple[SourceStore, ...]


@dataclass(frozen=True, slots=True)
class SourceOrderLine:
    external_id: str  # the provider's line id (ShipStation orderItemId); "" when absent
    line_key: str | None  # the marketplace's line key; "discount" marks a discount line
    sku: str | None  # may be empty or missing in the source
    name: str
    quantity: Decimal
    unit_price: Decimal  # negative on discount lines
    tax_amount: Decimal
    shipping_amount: Decimal
    discount_amount: Decimal = ZERO  # order files can carry a discount per line
    is_adjustment: bool = False  # not a physical product (discounts, fees)
    product_id: str | None = None

    @property
    def is_discount(self) -> bool:
        return self.line_key == "discount" or (self.is_adjustment and self.unit_price < 0)

    @property
    def extended_price(self) -> Decimal:
        return self.quantity * self.unit_price


@dataclass(frozen=True, slots=True)
class SourceOrder:
    external_id: str  # ShipStation orderId as text; the order number for order files
    order_key: str  # unique per order in the source
    number: str  # not unique across stores
    status: str
    order_date: datetime
    create_date: datetime
    modify_date: datetime
    payment_date: datetime | None
    ship_date: date | None
    customer_name: str
    customer_email: str
    bill_to: Mapping[str, Any]
    ship_to: Mapping[str, Any]
    store_id: int | None  # the source's store id; None for order files (see store_name)
    lines: tuple[SourceOrderLine, ...]
    tax_amount: Decimal
    shipping_amount: Decimal  # shipping charged to the customer
    order_total: Decimal
    amount_paid: Decimal
    externally_fulfilled: bool = False
    payment_method: str = ""
    currency: str | None = None  # ShipStation v1 has none: the connection's currency applies
    store_name: str = ""  # order files name the store instead of giving an id
    # Orders merged into this one in the source (ShipStation ``advancedOptions.mergedIds``):
    # they no longer exist there on their own.
    merged_ids: tuple[str, ...] = ()
    # The order this one was split off (ShipStation ``advancedOptions.parentId``), or "".
    parent_id: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def discount_total(self) -> Decimal:
        """Discounts as a positive amount: discount lines plus per-line discounts."""
        from_lines = sum((-line.extended_price for line in self.lines if line.is_discount), ZERO)
        per_line = sum((line.discount_amount for line in self.lines), ZERO)
        return from_lines + per_line


@dataclass(frozen=True, slots=True)
class SourceShipment:
    """A shipping label bought in the source (cost fixed when bought)."""

    external_id: str
    order_id: str | None
    order_key: str | None
    order_number: str | None
    store_id: int | None
    create_date: datetime
    ship_date: date | None
    carrier: str
    service: str
    tracking_number: str
    cost: Decimal
    insurance_cost: Decimal
    voided: bool
    void_date: datetime | None
    is_return: bool
    # Who the carrier bills (``advancedOptions.billToParty``): "" or "my_account" /
    # "my_other_account" is the merchant; "recipient" and "third_party" are not.
    bill_to_party: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def total_cost(self) -> Decimal:
        return self.cost + self.insurance_cost


@dataclass(frozen=True, slots=True)
class SourceFulfillment:
    """An order marked shipped without a label bought in the source (no label cost)."""

    external_id: str
    order_id: str | None
    order_number: str | None
    create_date: datetime
    ship_date: date | None
    carrier: str
    tracking_number: str
    fulfillment_fee: Decimal
    voided: bool
    void_date: datetime | None
    # Who fulfilled it (``sellerFillProviderName``, else ``fulfillmentProviderCode``).
    provider: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SourceWebhook:
    external_id: str
    event: str
    target_url: str
    name: str
    store_id: int | None
    active: bool


@dataclass(frozen=True, slots=True)
class SourceRecordError:
    """One record the adapter could not read. The rest of its page is fine."""

    kind: str  # "order", "shipment", "fulfillment", "store", "order_file_row"
    external_ref: str  # the best id we could find ("" when none), for the merchant and support
    reason: str
    raw_text: str  # the record as received (bounded), for the stored issue


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    page: int  # 1-based, as requested
    pages: int  # as reported by the source (0 for an empty result)
    total: int  # records matching the query, as reported by the source
    errors: tuple[SourceRecordError, ...] = ()
    skipped_nulls: int = 0  # null entries in the list, dropped

    @property
    def is_last(self) -> bool:
        return self.page >= self.pages


class UntrustedResourceUrl(IntegrationError):
    """A URL handed to us (a webhook's ``resource_url``) points outside the provider.

    Fetching it would send the merchant's credentials to whoever runs that host.
    """

    retryable = False
    default_user_message = _("The notification pointed at an address outside ShipStation.")


class SourceAdapter(abc.ABC):
    """One connected source account, bound to its credentials.

    Built with :meth:`from_credentials`; the credentials stay inside the HTTP layer and never
    become a readable attribute of the adapter.
    """

    key: ClassVar[str]  # provider key, as stored on StoreConnection.provider
    display_name: ClassVar[str]

    @classmethod
    @abc.abstractmethod
    def from_credentials(
        cls,
        credentials: Mapping[str, str],
        *,
        connection_id: int | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> SourceAdapter: ...

    @classmethod
    @abc.abstractmethod
    def credentials_identity(cls, credentials: Mapping[str, str]) -> str:
        """The part of the credentials that identifies the account (e.g. the API key), used
        for the duplicate check fingerprint and the masked hint."""

    @abc.abstractmethod
    def verify(self) -> SourceAccount:
        """Prove the credentials work; raises ``ProviderAuthError`` when they do not."""

    @abc.abstractmethod
    def list_stores(self) -> list[SourceStore]: ...

    @abc.abstractmethod
    def iter_order_pages(
        self,
        *,
        modified_since: datetime,
        modified_until: datetime | None = None,
        statuses: Sequence[str] = (),
        store_ids: Sequence[int] = (),
        page_size: int = 500,
        start_page: int = 1,
    ) -> Iterator[Page[SourceOrder]]:
        """Orders modified in the window, oldest modification first."""

    @abc.abstractmethod
    def iter_shipment_pages(
        self,
        *,
        created_since: datetime | None = None,
        created_until: datetime | None = None,
        voided_since: datetime | None = None,
        voided_until: datetime | None = None,
        store_ids: Sequence[int] = (),
        page_size: int = 500,
        start_page: int = 1,
    ) -> Iterator[Page[SourceShipment]]:
        """Labels created (or voided) in the window, oldest first."""

    @abc.abstractmethod
    def iter_fulfillment_pages(
        self,
        *,
        created_since: datetime | None = None,
        created_until: datetime | None = None,
        page_size: int = 500,
        start_page: int = 1,
    ) -> Iterator[Page[SourceFulfillment]]: ...

    @abc.abstractmethod
    def subscribe_webhook(
        self, *, target_url: str, event: str, friendly_name: str, store_id: int | None = None
    ) -> str:
        """Subscribe and return the provider's webhook id."""

    @abc.abstractmethod
    def list_webhooks(self) -> list[SourceWebhook]: ...

    @abc.abstractmethod
    def unsubscribe_webhook(self, webhook_id: str) -> None:
        """Remove a subscription; one that is already gone is not an error."""

    @abc.abstractmethod
    def fetch_resource(
        self, resource_url: str, *, resource_type: str
    ) -> Page[SourceOrder] | Page[SourceShipment] | Page[SourceFulfillment]:
        """Fetch what a webhook points at, after checking the URL belongs to the provider
        (raises :class:`UntrustedResourceUrl` otherwise)."""
