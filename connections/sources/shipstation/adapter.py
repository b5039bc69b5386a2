"""ShipStation API v1 as a :class:`~connections.sources.base.SourceAdapter`."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from connections.sources.base import (
    Page,
    SourceAccount,
    SourceAdapter,
    SourceFulfillment,
    SourceOrder,
    SourceShipment,
    SourceStore,
    SourceWebhook,
    UntrustedResourceUrl,
)
from connections.sources.shipstation import mapping
from connections.sources.shipstation.client import (
    PROVIDER,
    REAL_API_HOST,
    TRUSTED_DOMAIN,
    ShipStationClient,
)
from unify.core.exceptions import ProviderRejected, ProviderResponseInvalid
from unify.core.http import RateLimiter

T = TypeVar("T")

MAX_PAGE_SIZE = 500
ORDER_STATUSES = (
    "awaiting_payment",
    "awaiting_shipment",
    "pending_fulfillment",
    "shipped",
    "on_hold",
    "cancelled",
    "rejected_fulfillment",
)
WEBHOOK_EVENTS = (
    "ORDER_NOTIFY",
    "ITEM_ORDER_NOTIFY",
    "SHIP_NOTIFY",
    "ITEM_SHIP_NOTIFY",
    "FULFILLMENT_SHIPPED",
    "FULFILLMENT_REJECTED",
)
_WEBHOOK_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def is_trusted_resource_url(resource_url: str, *, api_base_url: str) -> bool:
    """May we send the merchant's credentials to ``resource_url``?

    Rule (webhook payloads name the URL to fetch, and v1 webhooks are not signed, so anyone
    can post one):

    1. no user info in the URL, and it must not be longer than ShipStation's 200-character
       limit plus some slack (2,000);
    2. scheme, host and port equal those of the configured ``SHIPSTATION_API_BASE_URL``
       (the sandbox in development, the real API in production), or
    3. the configured base is the real API host and the URL is ``https`` on port 443 with a
       host that is ``shipstation.com`` or a subdomain of it (webhooks point at hosts such
       as ``ssapi11.shipstation.com``).

    Anything else (http, other hosts, look-alikes such as ``shipstation.com.evil.test``) is
    refused.
    """
    if len(resource_url) > 2000:
        return False
    parts = urlsplit(resource_url)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return False
    try:
        origin = _origin(resource_url)
        base_origin = _origin(api_base_url)
    except ValueError:  # unparsable port
        return False
    scheme, host, port = origin
    if not host or scheme not in ("http", "https"):
        return False
    if origin == base_origin:
        return True
    base_is_real = base_origin[0] == "https" and (
        base_origin[1] == REAL_API_HOST or base_origin[1].endswith("." + TRUSTED_DOMAIN)
    )
    return (
        base_is_real
        and scheme == "https"
        and port == 443
        and (host == TRUSTED_DOMAIN or host.endswith("." + TRUSTED_DOMAIN))
    )


class ShipStationAdapter(SourceAdapter):
    key = PROVIDER
    display_name = "ShipStation"

    def __init__(self, client: ShipStationClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<ShipStationAdapter connection={self._client.connection_id}>"

    @classmethod
    @sensitive_variables()
    def from_credentials(
        cls,
        credentials: Mapping[str, str],
        *,
        connection_id: int | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> ShipStationAdapter:
        return cls(
            ShipStationClient(
                api_key=credentials["api_key"],
                api_secret=credentials["api_secret"],
                rate_limiter=rate_limiter,
                connection_id=connection_id,
            )
        )

    @classmethod
    def credentials_identity(cls, credentials: Mapping[str, str]) -> str:
        return credentials["api_key"].strip()

    @property
    def rate_limit_key(self) -> str:
        return self._client.rate_limit_key

    # -- helpers ------------------------------------------------------------------------------

    def _invalid(self, message: str) -> ProviderResponseInvalid:
        return ProviderResponseInvalid(
            message, provider=PROVIDER, connection_id=self._client.connection_id
        )

    def _page(
        self,
        kind: str,
        envelope: Any,
        *,
        list_key: str,
        page: int,
        mapper: Callable[[Mapping[str, Any]], T],
        keep: Callable[[T], bool] | None = None,
    ) -> Page[T]:
        try:
            return mapping.map_page(
                kind, envelope, list_key=list_key, page=page, mapper=mapper, keep=keep
            )
        except mapping.MappingError as exc:
            raise self._invalid(f"shipstation {list_key} page {page}: {exc}") from None

    def _pages(
        self,
        fetch: Callable[[dict[str, Any]], Any],
        params: dict[str, Any],
        *,
        kind: str,
        list_key: str,
        mapper: Callable[[Mapping[str, Any]], T],
        keep: Callable[[T], bool] | None,
        page_size: int,
        start_page: int,
    ) -> Iterator[Page[T]]:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
        if start_page < 1:
            raise ValueError("start_page is 1-based")
        page = start_page
        while True:
            envelope = fetch({**params, "page": page, "pageSize": page_size})
            result = self._page(
                kind, envelope, list_key=list_key, page=page, mapper=mapper, keep=keep
            )
            yield result
            if result.is_last:
                return
            page += 1

    # -- SourceAdapter ------------------------------------------------------------------------

    def verify(self) -> SourceAccount:
        return SourceAccount(provider=PROVIDER, stores=tuple(self.list_stores()))

    def list_stores(self) -> list[SourceStore]:
        answer = self._client.get_stores(show_inactive=True)
        if not isinstance(answer, list):
            raise self._invalid("shipstation /stores: answer is not a list")
        stores, errors, _nulls = mapping.map_records("store", answer, mapping.map_store)
        if errors and not stores:
            raise self._invalid(f"shipstation /stores: no readable store ({errors[0].reason})")
        return list(stores)

    def iter_order_pages(
        self,
        *,
        modified_since: datetime,
        modified_until: datetime | None = None,
        statuses: Sequence[str] = (),
        store_ids: Sequence[int] = (),
        page_size: int = MAX_PAGE_SIZE,
        start_page: int = 1,
    ) -> Iterator[Page[SourceOrder]]:
        """Orders modified in [since, until], ``ModifyDate`` ascending.

        ShipStation filters one ``orderStatus`` and one ``storeId`` per request. With exactly
        one of each we let ShipStation filter; with several we ask for all and filter here,
        so one query keeps one page sequence the caller can checkpoint and resume.
        ``Page.total``/``pages`` are ShipStation's counts before our filtering.
        """
        unknown = set(statuses) - set(ORDER_STATUSES)
        if unknown:
            raise ValueError(f"unknown order status(es): {', '.join(sorted(unknown))}")
        params: dict[str, Any] = {
            "modifyDateStart": mapping.format_filter_start(modified_since),
            "sortBy": "ModifyDate",
            "sortDir": "ASC",
        }
        if modified_until is not None:
            params["modifyDateEnd"] = mapping.format_filter_end(modified_until)
        wanted_statuses = frozenset(statuses)
        wanted_stores = frozenset(int(s) for s in store_ids)
        if len(wanted_statuses) == 1:
            params["orderStatus"] = next(iter(wanted_statuses))
        if len(wanted_stores) == 1:
            params["storeId"] = next(iter(wanted_stores))

        def keep(order: SourceOrder) -> bool:
            return (not wanted_statuses or order.status in wanted_statuses) and (
                not wanted_stores or order.store_id in wanted_stores
            )

        return self._pages(
            self._client.list_orders,
            params,
            kind="order",
            list_key="orders",
            mapper=mapping.map_order,
            keep=keep if (len(wanted_statuses) > 1 or len(wanted_stores) > 1) else None,
            page_size=page_size,
            start_page=start_page,
        )

    def iter_shipment_pages(
        self,
        *,
        created_since: datetime | None = None,
        created_until: datetime | None = None,
        voided_since: datetime | None = None,
        voided_until: datetime | None = None,
        store_ids: Sequence[int] = (),
        page_size: int = MAX_PAGE_SIZE,
        start_page: int = 1,
    ) -> Iterator[Page[SourceShipment]]:
        """Labels created (or, with ``voided_*``, voided) in the window, ``CreateDate``
        ascending. One store is filtered by ShipStation, several here (see orders)."""
        if created_since is None and voided_since is None:
            raise ValueError("give created_since or voided_since")
        params: dict[str, Any] = {"sortBy": "CreateDate", "sortDir": "ASC"}
        if created_since is not None:
            params["createDateStart"] = mapping.format_filter_start(created_since)
        if created_until is not None:
            params["createDateEnd"] = mapping.format_filter_end(created_until)
        if voided_since is not None:
            params["voidDateStart"] = mapping.format_filter_start(voided_since)
        if voided_until is not None:
            params["voidDateEnd"] = mapping.format_filter_end(voided_until)
        wanted_stores = frozenset(int(s) for s in store_ids)
        if len(wanted_stores) == 1:
            params["storeId"] = next(iter(wanted_stores))
        return self._pages(
            self._client.list_shipments,
            params,
            kind="shipment",
            list_key="shipments",
            mapper=mapping.map_shipment,
            keep=(lambda s: s.store_id in wanted_stores) if len(wanted_stores) > 1 else None,
            page_size=page_size,
            start_page=start_page,
        )

    def iter_fulfillment_pages(
        self,
        *,
        created_since: datetime | None = None,
        created_until: datetime | None = None,
        page_size: int = MAX_PAGE_SIZE,
        start_page: int = 1,
        order_id: str | None = None,
    ) -> Iterator[Page[SourceFulfillment]]:
        params: dict[str, Any] = {"sortBy": "CreateDate", "sortDir": "ASC"}
        if order_id is not None:
            params["orderId"] = order_id  # a documented filter of List Fulfillments
        if created_since is not None:
            params["createDateStart"] = mapping.format_filter_start(created_since)
        if created_until is not None:
            params["createDateEnd"] = mapping.format_filter_end(created_until)
        return self._pages(
            self._client.list_fulfillments,
            params,
            kind="fulfillment",
            list_key="fulfillments",
            mapper=mapping.map_fulfillment,
            keep=None,
            page_size=page_size,
            start_page=start_page,
        )

    def subscribe_webhook(
        self, *, target_url: str, event: str, friendly_name: str, store_id: int | None = None
    ) -> str:
        if event not in WEBHOOK_EVENTS:
            raise ValueError(f"unknown webhook event {event!r}")
        body: dict[str, Any] = {
            "target_url": target_url,
            "event": event,
            "store_id": store_id,
            "friendly_name": friendly_name,
        }
        answer = self._client.subscribe_webhook(body)
        if not isinstance(answer, dict) or answer.get("id") in (None, ""):
            raise self._invalid("shipstation /webhooks/subscribe: no id in the answer")
        return str(answer["id"])

    def list_webhooks(self) -> list[SourceWebhook]:
        answer = self._client.list_webhooks()
        entries = answer.get("webhooks") if isinstance(answer, dict) else answer
        if not isinstance(entries, list):
            raise self._invalid("shipstation /webhooks: answer has no list")
        hooks, _errors, _nulls = mapping.map_records("webhook", entries, mapping.map_webhook)
        return list(hooks)

    def unsubscribe_webhook(self, webhook_id: str) -> None:
        webhook_id = str(webhook_id)
        if not _WEBHOOK_ID.match(webhook_id):
            raise ValueError("webhook ids are short alphanumeric tokens")
        try:
            self._client.unsubscribe_webhook(webhook_id)
        except ProviderRejected as exc:
            if exc.status_code != 404:
                raise

    def fetch_resource(
        self, resource_url: str, *, resource_type: str
    ) -> Page[SourceOrder] | Page[SourceShipment] | Page[SourceFulfillment]:
        if not is_trusted_resource_url(
            resource_url, api_base_url=settings.SHIPSTATION_API_BASE_URL
        ):
            raise UntrustedResourceUrl(
                f"refused to fetch webhook resource at {urlsplit(resource_url).hostname!r}",
                provider=PROVIDER,
                connection_id=self._client.connection_id,
                user_message=_("The notification pointed at an address outside ShipStation."),
            )
        if resource_type in ("ORDER_NOTIFY", "ITEM_ORDER_NOTIFY"):
            kind, list_key, mapper = "order", "orders", mapping.map_order
        elif resource_type in ("SHIP_NOTIFY", "ITEM_SHIP_NOTIFY"):
            kind, list_key, mapper = "shipment", "shipments", mapping.map_shipment
        elif resource_type in ("FULFILLMENT_SHIPPED", "FULFILLMENT_REJECTED"):
            kind, list_key, mapper = "fulfillment", "fulfillments", mapping.map_fulfillment
        else:
            raise ValueError(f"unknown resource type {resource_type!r}")
        envelope = self._client.get_absolute(resource_url)
        page = 1
        if isinstance(envelope, dict):
            try:
                page = int(envelope.get("page") or 1)
            except (TypeError, ValueError):
                page = 1
        return self._page(kind, envelope, list_key=list_key, page=page, mapper=mapper)
