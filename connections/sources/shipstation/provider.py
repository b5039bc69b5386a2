"""ShipStation as an order source: its credentials (an API Key and an API Secret), how they are
checked (``GET /stores``), the key pair as the account's identity, its shared rate limiter,
its webhooks (``{"resource_url", "resource_type"}``, unsigned) and the re-fetch of one order."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables

from connections.errors import ConnectionRefused
from connections.sources.base import SourceAccount, SourceAdapter, SourceOrder, SourceShipment
from connections.sources.provider import (
    RequestWrapper,
    SourceProvider,
    WebhookReading,
    request_directly,
)
from connections.sources.shipstation import mapping
from connections.sources.shipstation.adapter import (
    ORDER_STATUSES,
    ShipStationAdapter,
    is_trusted_resource_url,
)
from connections.sources.shipstation.client import PROVIDER, api_key_fingerprint
from connections.sources.shipstation.forms import (
    KEY_CHARACTERS_MESSAGE,
    ShipStationConnectForm,
    ShipStationKeysForm,
    key_characters_valid,
)
from connections.sources.shipstation.limits import shipstation_rate_limiter
from connections.sources.shipstation.unreadable import ShipStationUnreadableRecords
from unify.core.exceptions import (
    IntegrationError,
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
)
from unify.core.money import to_cents
from unify.core.stored_text import gettext as _

logger = logging.getLogger(__name__)


class ShipStationProvider(SourceProvider):
    key = PROVIDER
    name = "ShipStation"
    adapter_class = ShipStationAdapter
    order_statuses = ORDER_STATUSES
    connect_template = "connections/add_shipstation.html"
    keys_help_template = "connections/_keys_help_shipstation.html"
    secret_fields = ("api_key", "api_secret")
    credentials_location = gettext_lazy("Settings > Account > API Settings")
    credentials_lifetime_note = gettext_lazy("ShipStation keys can expire after 3, 6 or 12 months.")
    shared_requests_per_minute = 40
    # What Unify subscribes: new or changed orders, and labels bought.
    webhook_events = ("ORDER_NOTIFY", "SHIP_NOTIFY")
    stand_in = "sandbox.shipstation.make_run"
    # A page of /orders can answer HTTP 500 every time because of one record.
    unreadable_records = ShipStationUnreadableRecords()

    # -- credentials ---------------------------------------------------------------------------

    def connect_form_class(self) -> type[ShipStationConnectForm]:
        return ShipStationConnectForm

    def keys_form_class(self) -> type[ShipStationKeysForm]:
        return ShipStationKeysForm

    @sensitive_variables()
    def credentials_clean(self, credentials: Mapping[str, str]) -> dict[str, str]:
        key = (credentials.get("api_key") or "").strip()
        secret = (credentials.get("api_secret") or "").strip()
        if not key or not secret:
            raise ConnectionRefused(
                "missing", _("Enter both the API Key and the API Secret."), field="api_key"
            )
        for name, value in (("api_key", key), ("api_secret", secret)):
            # Basic auth sends the pair as Latin-1: anything else cannot even be sent, and
            # ShipStation's keys are made of letters, digits and dashes only.
            if not key_characters_valid(value):
                raise ConnectionRefused("characters", str(KEY_CHARACTERS_MESSAGE), field=name)
        if len(key) > 200 or len(secret) > 200:
            raise ConnectionRefused(
                "malformed",
                _(
                    "That does not look like a ShipStation API key and secret. Copy them again "
                    "from Settings > Account > API Settings."
                ),
                field="api_key",
            )
        return {"api_key": key, "api_secret": secret}

    @sensitive_variables()
    def credentials_fingerprint(self, credentials: Mapping[str, str]) -> str:
        return api_key_fingerprint(self.credentials_identity(credentials))

    # -- API --------------------------------------------------------------------------------

    def rate_limiter(self, **kwargs: Any):
        return shipstation_rate_limiter(**kwargs)

    @sensitive_variables()
    def verify(
        self,
        credentials: Mapping[str, str],
        *,
        connection_id: int | None = None,
        max_wait_seconds: float | None = None,
    ) -> SourceAccount:
        limiter = (
            self.rate_limiter()
            if max_wait_seconds is None
            else self.rate_limiter(max_wait_seconds=max_wait_seconds)
        )
        try:
            return self.adapter(
                credentials, connection_id=connection_id, rate_limiter=limiter
            ).verify()
        except ProviderAuthError:
            raise ConnectionRefused(
                "rejected",
                _(
                    "ShipStation rejected this API key and secret. Copy both again from "
                    "ShipStation (Settings > Account > API Settings) and check that the keys "
                    "have not expired."
                ),
            ) from None
        except ProviderRateLimited as exc:
            seconds = max(1, round(exc.retry_after))
            raise ConnectionRefused(
                "rate_limited",
                _(
                    "ShipStation is limiting requests for this API key right now (other apps "
                    "using the same key share its limit). Nothing was saved. Try again in "
                    "about %(seconds)s seconds."
                )
                % {"seconds": seconds},
            ) from None
        except ProviderRejected as exc:
            raise ConnectionRefused(
                "provider_rejected",
                _("ShipStation refused the request (%(detail)s). Nothing was saved.")
                % {"detail": exc.user_message},
            ) from None
        except IntegrationError as exc:
            logger.warning("ShipStation verification failed: %s", exc)
            raise ConnectionRefused(
                "unavailable",
                _(
                    "ShipStation is not answering right now, so the keys could not be checked. "
                    "Nothing was saved. Please try again in a few minutes."
                ),
            ) from None

    def needs_credentials_message(self) -> str:
        return _(
            "ShipStation no longer accepts this connection's API Key and API Secret: they may "
            "have expired or been regenerated."
        )

    # -- webhooks -----------------------------------------------------------------------------

    def webhook_read(self, payload: Any) -> WebhookReading:
        """v1 webhooks are unsigned and carry only ``{"resource_url", "resource_type"}``.
        Unify never fetches ``resource_url``; one outside ShipStation's configured API origin
        (or over another scheme) marks the notification as forged."""
        if not isinstance(payload, dict):
            return WebhookReading(False, "body is not an object")
        resource_url = payload.get("resource_url")
        resource_type = payload.get("resource_type")
        if not isinstance(resource_url, str) or not isinstance(resource_type, str):
            return WebhookReading(False, "resource_url or resource_type missing")
        if not is_trusted_resource_url(
            resource_url, api_base_url=settings.SHIPSTATION_API_BASE_URL
        ):
            return WebhookReading(False, "resource_url is not ShipStation's")
        return WebhookReading(True)

    # -- one order ----------------------------------------------------------------------------

    @staticmethod
    def _url(path: str, params: Mapping[str, Any]) -> str:
        base = settings.SHIPSTATION_API_BASE_URL.rstrip("/")
        return f"{base}{path}?{urlencode(params)}"

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
        """Looked up by number (ShipStation's documented list filter) and picked by its
        ``orderId``."""
        params: dict[str, Any] = {"orderNumber": number, "pageSize": 500}
        if store_external_id is not None:
            params["storeId"] = store_external_id
        attempts = [params]
        if order_date is not None:
            # Narrowed to the order's day first: an order number is a prefix match in
            # ShipStation.
            attempts.insert(
                0,
                {
                    **params,
                    "orderDateStart": mapping.format_filter_start(order_date - timedelta(days=1)),
                    "orderDateEnd": mapping.format_filter_end(order_date + timedelta(days=1)),
                },
            )
        for query in attempts:
            page = call(
                lambda q=query: adapter.fetch_resource(
                    self._url("/orders", q), resource_type="ORDER_NOTIFY"
                )
            )
            for item in page.items:
                if str(item.external_id) == external_id:
                    return item
        return None

    def order_labels_refetch(
        self, adapter: SourceAdapter, *, external_id: str, call: RequestWrapper = request_directly
    ) -> list[SourceShipment]:
        page = call(
            lambda: adapter.fetch_resource(
                self._url(
                    "/shipments",
                    {"orderId": external_id, "includeShipmentItems": "false", "pageSize": 500},
                ),
                resource_type="SHIP_NOTIFY",
            )
        )
        return [s for s in page.items if str(s.order_id or "") == external_id]

    # -- order amounts -------------------------------------------------------------------------

    def order_unitemised_discount(self, raw: Mapping[str, Any]) -> Decimal | None:
        """ShipStation v1 has no order-level discount field: an order discount the store did
        not send as a line shows only as ``orderTotal - amountPaid`` of the order's record
        (what production ShipStation-to-QuickBooks integrations read as its discount)."""
        total, paid = raw.get("orderTotal"), raw.get("amountPaid")
        if total is None or paid is None:
            return None
        try:
            return to_cents(Decimal(str(total))) - to_cents(Decimal(str(paid)))
        except ArithmeticError:
            return None
