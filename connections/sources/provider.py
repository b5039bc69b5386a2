"""What an order source owns besides its API adapter: the credentials it asks for and how they
are checked, the identity that tells two connections of one account apart, its rate limiter,
its webhooks (how a notification is read) and the re-fetch of one order.

Shared services and views never name a provider: they look it up in the registry
(:mod:`connections.sources.registry`) by ``StoreConnection.provider`` and build their
messages from ``provider.name``. A new source is a package under ``connections/sources/``
with a ``provider.py`` and one line in ``UNIFY_SOURCE_PROVIDERS``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from django.views.decorators.debug import sensitive_variables

from connections.sources.base import SourceAccount, SourceAdapter, SourceOrder, SourceShipment
from unify.core.http import RateLimiter
from unify.core.secrets import mask_hint

if TYPE_CHECKING:
    from django import forms

# Runs one request of a re-fetch (e.g. with retries on a rate limit) and returns its answer.
RequestWrapper = Callable[[Callable[[], Any]], Any]


def request_directly(request: Callable[[], Any]) -> Any:
    return request()


class UnreadableRecords:
    """How a source's order listing is read around one record the source cannot answer for
    (a page that fails every time because of that record; see
    :mod:`sales.services.unreadable` for what the import does with it).

    A source that never fails that way has none (``SourceProvider.unreadable_records`` is
    None): every failure of a page is then the page's."""

    # Smaller page sizes tried in turn (each must divide the one before); the last is 1.
    shrink_sizes: ClassVar[tuple[int, ...]] = (1,)

    def fails_on_a_record(self, exc: Exception) -> bool:
        """Whether ``exc`` (a page's failure) may be the source failing on one record of the
        page, rather than failing as a whole."""
        return False

    def window_where(self, window_start: datetime, window_end: datetime) -> dict[str, Any]:
        """Where in the source the unreadable record sits (kept with its import issue, for
        support): the listing and its bounds, in the source's own terms."""
        return {"modifiedFrom": window_start.isoformat(), "modifiedUntil": window_end.isoformat()}


@dataclass(frozen=True, slots=True)
class WebhookReading:
    """What a provider made of one webhook body: ``accepted`` (the notification may trigger a
    sync of its connection) or refused with a ``reason`` (answered 400, nothing happens)."""

    accepted: bool
    reason: str = ""


class SourceProvider(abc.ABC):
    """Static facts and protocol of one order source (no connection bound)."""

    key: ClassVar[str]  # as stored in StoreConnection.provider / Order.source
    name: ClassVar[str]  # shown to people; a brand name, not translated
    # False for a source without a connection of its own (order files arrive through an
    # existing connection): no Add Store entry, no credentials, no webhooks.
    connectable: ClassVar[bool] = True
    adapter_class: ClassVar[type[SourceAdapter] | None] = None
    # Order statuses a connection may choose to import, in display order.
    order_statuses: ClassVar[tuple[str, ...]] = ()
    # Templates of the connect page and the "new keys" page.
    connect_template: ClassVar[str] = ""
    keys_template: ClassVar[str] = "connections/keys.html"
    # The source's own help beside the "new keys" page: where in the source a merchant finds
    # the credentials ("": no help).
    keys_help_template: ClassVar[str] = ""
    # Form fields that hold the credentials (the first one carries duplicate-key errors).
    secret_fields: ClassVar[tuple[str, ...]] = ()
    # Where in the source a merchant makes new credentials (its own menu names, as shown).
    credentials_location: ClassVar[str] = ""  # may be lazy (translated menu names)
    # How long the source's credentials last, told when it stops accepting them (one
    # sentence naming the source; may be lazy; "": nothing to tell).
    credentials_lifetime_note: ClassVar[str] = ""
    # The source's own limit, shared by everyone using one key pair (told when two
    # organizations connect the same keys).
    shared_requests_per_minute: ClassVar[int | None] = None
    # Every text of its orders comes from their ``raw`` record (an API answer), so a clean
    # dump of ``raw`` proves them clean; False when the texts come from elsewhere (file rows).
    raw_is_whole_record: ClassVar[bool] = True
    # The module of its sandbox stand-in for ``make run`` (``make_run_environment()``: the
    # settings pointing Unify at it, ``make_run_notes()``: what to tell, e.g. demo keys).
    stand_in: ClassVar[str] = ""
    # How its order listing is read around a record it fails on (None: it never does).
    unreadable_records: ClassVar[UnreadableRecords | None] = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key}>"

    # -- credentials ---------------------------------------------------------------------------

    def connect_form_class(self) -> type[forms.Form]:
        """The Add Store form: the credentials plus ``name`` and ``mode``."""
        raise NotImplementedError(f"{self.key} has no connect form")

    def keys_form_class(self) -> type[forms.Form]:
        """The form for new credentials of an existing connection."""
        raise NotImplementedError(f"{self.key} has no credentials form")

    def credentials_from_form(self, cleaned_data: Mapping[str, Any]) -> dict[str, str]:
        return {name: cleaned_data[name] for name in self.secret_fields}

    @sensitive_variables()
    def credentials_clean(self, credentials: Mapping[str, str]) -> dict[str, str]:
        """The credentials as they will be stored; raises ``ConnectionRefused`` (with the form
        field it concerns) when they cannot be right, before anything is sent."""
        raise NotImplementedError(f"{self.key} takes no credentials")

    @sensitive_variables()
    def credentials_identity(self, credentials: Mapping[str, str]) -> str:
        """The part of the credentials that names the account (e.g. the API key)."""
        assert self.adapter_class is not None
        return self.adapter_class.credentials_identity(credentials)

    @sensitive_variables()
    def credentials_fingerprint(self, credentials: Mapping[str, str]) -> str:
        """A keyed hash of the identity: finds "already connected" without decrypting."""
        raise NotImplementedError

    @sensitive_variables()
    def credentials_hint(self, credentials: Mapping[str, str]) -> str:
        return mask_hint(self.credentials_identity(credentials))

    # -- API --------------------------------------------------------------------------------

    def rate_limiter(self, **kwargs: Any) -> RateLimiter | None:
        """The limiter every client of this source shares (across workers)."""
        return None

    @sensitive_variables()
    def adapter(
        self,
        credentials: Mapping[str, str],
        *,
        connection_id: int | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> SourceAdapter:
        """An adapter bound to the credentials; pass ``self.rate_limiter()`` to share the
        source's budget (None: no limiter, e.g. a one-off script)."""
        if self.adapter_class is None:
            raise NotImplementedError(f"{self.key} has no API adapter")
        return self.adapter_class.from_credentials(
            credentials,
            connection_id=connection_id,
            rate_limiter=rate_limiter,
        )

    @sensitive_variables()
    def verify(
        self,
        credentials: Mapping[str, str],
        *,
        connection_id: int | None = None,
        max_wait_seconds: float | None = None,
    ) -> SourceAccount:
        """Ask the source whether the credentials work; every failure becomes a
        ``ConnectionRefused`` with a plain message ("Nothing was saved")."""
        raise NotImplementedError(f"{self.key} cannot verify credentials")

    def needs_credentials_message(self) -> str:
        """The connection page's note when the source stopped accepting the credentials."""
        raise NotImplementedError

    # -- webhooks -----------------------------------------------------------------------------

    # Events subscribed for every connection (empty: the source sends no webhooks).
    webhook_events: ClassVar[tuple[str, ...]] = ()

    def webhook_read(self, payload: Any) -> WebhookReading:
        """Judge one parsed JSON webhook body (the token in the URL already named the
        connection). Nothing in it is fetched."""
        return WebhookReading(False, "this source sends no webhooks")

    # -- one order ----------------------------------------------------------------------------

    def order_refetch(
        self,
        adapter: SourceAdapter,
        *,
        external_id: str,
        number: str,
        order_date: datetime | None,
        store_external_id: int | None,
        call: RequestWrapper = request_directly,
    ) -> SourceOrder | None:
        """The order as the source has it now, or None when the source no longer has it."""
        raise NotImplementedError(f"{self.key} cannot fetch one order")

    def order_labels_refetch(
        self, adapter: SourceAdapter, *, external_id: str, call: RequestWrapper = request_directly
    ) -> list[SourceShipment]:
        """The labels the source has for one order now (each request run through
        ``call``)."""
        return []

    def order_unitemised_discount(self, raw: Mapping[str, Any]) -> Decimal | None:
        """The order's discount as the source reports it apart from its lines, read from the
        order's stored record (``raw``): what accounting may post as a coupon when the order
        has no discount line. None when the source has no such figure (its discounts are
        itemised on the lines)."""
        return None
