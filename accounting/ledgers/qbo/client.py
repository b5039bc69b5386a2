"""python-quickbooks and intuit-oauth, adjusted for a multi-tenant worker fleet.

- :class:`QboClient` is a ``QuickBooks`` subclass whose API base URL comes from settings (so
  the same code talks to Intuit or to the local stand-in), that sends every request with a
  timeout through the shared per-realm rate limiter (500 a minute) and concurrency
  semaphore (10 at once), and that reads the HTTP status before the library parses the
  body: Intuit's 429 is XML, which the library would report as "Error reading json".
- :class:`QboAuthClient` is intuit-oauth's ``AuthClient`` with timeouts and a discovery
  document fetched once per process instead of in every constructor.

Neither ever logs a header, a body or a token.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import requests
import urllib3
from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from intuitlib.client import AuthClient
from intuitlib.utils import get_discovery_doc
from quickbooks.client import QuickBooks

from accounting.ledgers.base import RequestNotSent
from accounting.ledgers.qbo import faults as qbo_faults
from accounting.ledgers.qbo import limits as lane_limits
from unify.core.exceptions import (
    ProviderAuthError,
    ProviderRateLimited,
    ProviderUnavailable,
)
from unify.core.ratelimit import Budget, ConcurrencySemaphore, SlidingWindowLimiter

logger = logging.getLogger("unify.qbo")

PROVIDER = "qbo"


# ---------------------------------------------------------------------------------------------
# JSON with exact numbers
# ---------------------------------------------------------------------------------------------

# json can only write Decimals as strings or floats; QBO wants numbers, and money must never
# pass through a float. Decimals travel as marked strings and lose their quotes afterwards.
_MARK = "\x00#"
_MARKED = re.compile(r'"\\u0000#(-?[0-9]+(?:\.[0-9]+)?)"')


def _decimal_default(value: object) -> object:
    if isinstance(value, Decimal):
        return f"{_MARK}{format(value, 'f')}"
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> str:
    return _MARKED.sub(r"\1", json.dumps(value, default=_decimal_default, separators=(",", ":")))


# ---------------------------------------------------------------------------------------------
# Shared limits per realm
# ---------------------------------------------------------------------------------------------


def qbo_budget() -> Budget:
    window = float(settings.QBO_RATE_LIMIT_WINDOW_SECONDS)
    return Budget(
        limit=int(settings.QBO_RATE_LIMIT_PER_MINUTE),
        window_seconds=window,
        margin_seconds=min(1.0, window / 20),
    )


_limits_lock = threading.Lock()
_limiter: SlidingWindowLimiter | None = None
_semaphores: dict[int, ConcurrencySemaphore] = {}


def qbo_rate_limiter() -> SlidingWindowLimiter:
    global _limiter
    with _limits_lock:
        if _limiter is None:
            _limiter = SlidingWindowLimiter(qbo_budget, provider=PROVIDER)
        return _limiter


def qbo_semaphore() -> ConcurrencySemaphore:
    capacity = int(settings.QBO_MAX_CONCURRENT)
    with _limits_lock:
        semaphore = _semaphores.get(capacity)
        if semaphore is None:
            semaphore = ConcurrencySemaphore(
                capacity=capacity,
                # A slot outlives the longest request; a killed worker's slot frees itself.
                lease_seconds=float(settings.QBO_TIMEOUT_READ) + 30,
                provider=PROVIDER,
                max_wait_seconds=float(settings.QBO_TIMEOUT_READ),
            )
            _semaphores[capacity] = semaphore
        return semaphore


def limit_key(realm_id: str) -> str:
    return f"{PROVIDER}:{realm_id}"


# ---------------------------------------------------------------------------------------------
# API client
# ---------------------------------------------------------------------------------------------

_pool_lock = threading.Lock()
_pool: urllib3.PoolManager | None = None


def _http() -> urllib3.PoolManager:
    """One connection pool per process. urllib3 directly rather than a ``requests``
    session: python-quickbooks only reads ``status_code`` and ``text`` of the answer, and
    this is the hot path of every posting (``requests`` costs about a millisecond of CPU per
    call for cookies, hooks and adapters we do not use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = urllib3.PoolManager(num_pools=16, maxsize=16, block=False)
        return _pool


@dataclass(frozen=True, slots=True)
class _Answer:
    """What python-quickbooks reads of a response."""

    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class QboClient(QuickBooks):
    """One realm, one access token. Build a new one after a refresh."""

    def __new__(cls, *, realm_id: str, access_token: str, connection_id: int | None = None):
        # QuickBooks.__new__ starts an OAuth session when given an auth client; we pass none
        # (the bearer header is set per request in process_request).
        instance = super().__new__(
            cls, company_id=realm_id, minorversion=int(settings.QBO_MINOR_VERSION)
        )
        instance.use_decimal = True
        # python-quickbooks refuses to send without a session object; ours is the pool.
        instance.session = _http()
        instance._access_token = access_token
        instance.connection_id = connection_id
        instance.requests_sent = 0
        return instance

    def __init__(self, **kwargs: Any) -> None:  # everything happens in __new__
        pass

    def __repr__(self) -> str:
        return f"<QboClient realm={self.company_id} connection={self.connection_id}>"

    @property
    def api_url(self) -> str:
        return settings.QBO_API_BASE_URL.rstrip("/")

    def _error(self, cls, message: str, **kwargs):
        return cls(message, provider=PROVIDER, connection_id=self.connection_id, **kwargs)

    @sensitive_variables()
    def process_request(self, request_type, url, headers="", params="", data=""):
        headers = dict(headers or {})
        headers["Authorization"] = f"Bearer {self._access_token}"
        if isinstance(data, str):
            data = data.encode("utf-8")
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        key = limit_key(str(self.company_id))
        limiter = qbo_rate_limiter()
        path = url.split("?", 1)[0].rsplit("/company/", 1)[-1]
        realm = str(self.company_id)
        is_batch = path.endswith("/batch")
        batch_grant = lane_limits.acquire_batch(realm) if is_batch else None
        started = time.monotonic()
        try:
            # The concurrency slot and the rate grant in one step; the grant is followed at
            # once by the request, so Intuit counts it in the same window we did.
            with qbo_semaphore().hold_with_grant(key, limiter) as token:
                lane_limits.grants_at_departure(realm, limiter, key, token, batch_grant)
                if lane_limits.too_late_to_send():
                    # The waits for the limits took so long that the postings' leases could
                    # run out before the answer is recorded: not sent.
                    raise RequestNotSent(
                        f"qbo {request_type} {path}: not sent, the postings' lease is too short",
                        provider=PROVIDER,
                        connection_id=self.connection_id,
                    )
                raw = _http().request(
                    request_type,
                    url,
                    body=data or None,
                    headers=headers,
                    timeout=urllib3.Timeout(
                        connect=float(settings.QBO_TIMEOUT_CONNECT),
                        read=float(settings.QBO_TIMEOUT_READ),
                    ),
                    retries=False,
                    redirect=False,
                )
        except urllib3.exceptions.TimeoutError as exc:
            raise self._error(
                ProviderUnavailable, f"qbo {request_type} {path}: timed out ({type(exc).__name__})"
            ) from None
        except urllib3.exceptions.HTTPError as exc:
            # Refused or dropped connections, bodies cut short: the outcome is unknown.
            raise self._error(
                ProviderUnavailable,
                f"qbo {request_type} {path}: connection failed ({type(exc).__name__})",
            ) from None
        response = _Answer(raw.status, raw.data)
        self.requests_sent += 1
        status = response.status_code
        logger.debug(
            "qbo %s %s -> %s in %.0f ms",
            request_type,
            path,
            status,
            (time.monotonic() - started) * 1000,
        )
        if qbo_faults.is_throttled(status, raw.data):
            # 429, or a 403 carrying the ThrottleExceeded fault: wait, never "reconnect".
            wait = float(settings.QBO_THROTTLE_WAIT_SECONDS)
            if is_batch:
                # The batch lane waits and shrinks (other apps use the realm's 120 a
                # minute); single requests go on.
                lane_limits.batch_limiter().throttled(lane_limits.batch_key(realm), wait)
            else:
                # Every worker stops for this realm, not only the one that was told.
                limiter.block(key, wait)
            raise self._error(
                ProviderRateLimited,
                f"qbo {request_type} {path}: HTTP {status} (throttled), waiting {wait:g} s",
                retry_after=wait,
                status_code=status,
            )
        if status == 403:
            raise self._error(
                ProviderAuthError,
                f"qbo {request_type} {path}: HTTP 403 (no access to this company)",
                status_code=403,
            )
        if status >= 500:
            raise self._error(
                ProviderUnavailable, f"qbo {request_type} {path}: HTTP {status}", status_code=status
            )
        return response


# ---------------------------------------------------------------------------------------------
# OAuth client
# ---------------------------------------------------------------------------------------------

_discovery_lock = threading.Lock()
_discovery: dict[str, tuple[float, dict[str, Any]]] = {}
_DISCOVERY_TTL = 3600.0


class QboAuthClient(AuthClient):
    """``AuthClient`` with timeouts and a cached discovery document."""

    @sensitive_variables()
    def __init__(self, *, redirect_uri: str = "", **tokens: Any) -> None:
        requests.Session.__init__(self)
        self.trust_env = False
        self.client_id = settings.QBO_CLIENT_ID
        self.client_secret = settings.QBO_CLIENT_SECRET
        self.redirect_uri = redirect_uri or settings.QBO_REDIRECT_URI
        self.environment = settings.QBO_DISCOVERY_URL
        self.state_token = None
        doc = self._discovery_document()
        self.auth_endpoint = doc["authorization_endpoint"]
        self.token_endpoint = doc["token_endpoint"]
        self.revoke_endpoint = doc["revocation_endpoint"]
        self.issuer_uri = doc["issuer"]
        self.jwks_uri = doc["jwks_uri"]
        self.user_info_url = doc["userinfo_endpoint"]
        self.realm_id = tokens.get("realm_id")
        self.access_token = tokens.get("access_token")
        self.refresh_token = tokens.get("refresh_token")
        self.expires_in = None
        self.x_refresh_token_expires_in = None
        self.id_token = None

    def __repr__(self) -> str:
        return "<QboAuthClient>"

    def _discovery_document(self) -> dict[str, Any]:
        url = self.environment
        now = time.monotonic()
        with _discovery_lock:
            cached = _discovery.get(url)
            if cached and now - cached[0] < _DISCOVERY_TTL:
                return cached[1]
        try:
            doc = get_discovery_doc(url, session=self)
        except requests.RequestException as exc:
            raise ProviderUnavailable(
                f"qbo discovery document: {type(exc).__name__}", provider=PROVIDER
            ) from None
        except Exception as exc:  # noqa: BLE001 - AuthClientError or a body that is not JSON
            raise ProviderUnavailable(
                f"qbo discovery document unreadable ({type(exc).__name__})", provider=PROVIDER
            ) from None
        with _discovery_lock:
            _discovery[url] = (now, doc)
        return doc

    @sensitive_variables()
    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        # intuit-oauth sends every call without a timeout; a hung token endpoint must not
        # hang a worker (or a web request) forever.
        kwargs.setdefault("timeout", (settings.QBO_TIMEOUT_CONNECT, settings.QBO_TIMEOUT_READ))
        return super().request(method, url, *args, **kwargs)
