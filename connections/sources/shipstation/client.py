"""A thin HTTP client for ShipStation API v1 (raw JSON in, raw JSON out).

HTTP Basic auth: API key as user name, API secret as password. The pair lives only inside the
``requests`` auth object of the session, never on an attribute of this client, never in a log
line (the base client logs method, path, status and duration only).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from django.conf import settings
from django.utils.crypto import salted_hmac
from django.views.decorators.debug import sensitive_variables

from connections.sources.shipstation.wire import read_list_page
from unify.core.http import ApiClient, RateLimiter

PROVIDER = "shipstation"
REAL_API_HOST = "ssapi.shipstation.com"
TRUSTED_DOMAIN = "shipstation.com"


def api_key_fingerprint(api_key: str) -> str:
    """A keyed SHA-256 of the API key (hex), stable for one deployment.

    Used (1) to detect "these keys are already connected in this organization" without
    decrypting every stored pair, and (2) as the rate-limiter key, since ShipStation's budget
    belongs to the key pair. Keyed with ``SECRET_KEY`` (``salted_hmac``) rather than a plain
    hash so a leaked database or Redis dump cannot be used to confirm a guessed key offline.
    Rotating ``SECRET_KEY`` changes every fingerprint: the duplicate check then misses old rows
    until their keys are updated (harmless), and the limiter starts fresh buckets.
    """
    digest = salted_hmac("unify.shipstation.api_key", api_key.strip(), algorithm="sha256")
    return digest.hexdigest()


class ShipStationClient(ApiClient):
    provider = PROVIDER

    @sensitive_variables()
    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        rate_limiter: RateLimiter | None = None,
        connection_id: int | None = None,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__(
            auth=requests.auth.HTTPBasicAuth(api_key.strip(), api_secret.strip()),
            rate_limiter=rate_limiter,
            rate_limit_key=f"{PROVIDER}:{api_key_fingerprint(api_key)}",
            connection_id=connection_id,
            session=session,
        )

    def base_url(self) -> str:
        return settings.SHIPSTATION_API_BASE_URL.rstrip("/")

    def timeouts(self) -> tuple[float, float]:
        return (
            float(settings.SHIPSTATION_TIMEOUT_CONNECT),
            float(settings.SHIPSTATION_TIMEOUT_READ),
        )

    def retry_after(self, response: requests.Response) -> float:
        # ShipStation counts a fixed window and says how many seconds remain in it.
        for header in ("X-Rate-Limit-Reset", "Retry-After"):
            value = response.headers.get(header, "")
            try:
                return max(1.0, float(value))
            except ValueError:
                continue
        return 60.0

    # -- endpoints ----------------------------------------------------------------------------

    def get_stores(self, *, show_inactive: bool = True) -> Any:
        return self.request_json(
            "GET", "/stores", params={"showInactive": "true" if show_inactive else "false"}
        )

    def list_orders(self, params: Mapping[str, Any]) -> Any:
        """The page's envelope; each order a ``RawRecord`` (see ``wire``)."""
        return self.request_json(
            "GET", "/orders", params=params, decode=lambda body: read_list_page(body, "orders")
        )

    def list_shipments(self, params: Mapping[str, Any]) -> Any:
        """The page's envelope; each label a ``RawRecord`` (see ``wire``)."""
        return self.request_json(
            "GET",
            "/shipments",
            params=params,
            decode=lambda body: read_list_page(body, "shipments"),
        )

    def list_fulfillments(self, params: Mapping[str, Any]) -> Any:
        return self.request_json("GET", "/fulfillments", params=params)

    def subscribe_webhook(self, body: Mapping[str, Any]) -> Any:
        return self.request_json("POST", "/webhooks/subscribe", json_body=dict(body))

    def list_webhooks(self) -> Any:
        return self.request_json("GET", "/webhooks")

    def unsubscribe_webhook(self, webhook_id: str) -> None:
        self.request_json("DELETE", f"/webhooks/{webhook_id}", allow_empty=True)

    def get_absolute(self, url: str) -> Any:
        """GET an absolute URL. The caller has checked it points at ShipStation."""
        return self.request_json("GET", url=url)
