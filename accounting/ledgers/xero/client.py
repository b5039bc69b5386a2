"""xero-python, bound to ONE connection and safe in a multi-tenant worker.

- Every :class:`XeroSession` builds its own ``ApiClient`` with a fresh ``OAuth2Token`` on the
  copy ``Configuration()`` hands out: xero-python's ``Configuration`` is a shared default
  (later constructions ignore their arguments and copy the first), so a token assigned to it,
  or passed to it, would be seen by every tenant and thread of the process.
- The token getter reads the connection's own tokens; when xero-python finds them about to
  expire it asks :meth:`_ConnectionToken.refresh_access_token`, which goes through the
  connection's token store (refreshes serialised per connection, the rotated refresh token
  committed before it is used). A 401 refreshes once more and repeats the call once
  (xero-python never does that itself).
- urllib3's default ``Retry(3)`` (which xero-python leaves in place) would sleep
  ``Retry-After`` and resend a 429 or 503 inside the call, PUTs included: retries are off, and
  Unify's own limiter and engine decide.
- Every call has a timeout, goes through the shared limits (:mod:`.limits`), and is read
  with ``_preload_content=False``: the JSON is parsed with ``Decimal`` money by us.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import urllib3
from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.api_client.serializer import serialize, serialize_pass_through
from xero_python.exceptions import ApiException, HTTPStatusException
from xero_python.identity import IdentityApi

from accounting.ledgers.base import OAuthTokens, RequestNotSent, TokenStore
from accounting.ledgers.xero import limits
from unify.core.exceptions import (
    IntegrationError,
    ProviderAuthError,
    ProviderRateLimited,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from unify.core.stored_text import StoredText
from unify.core.stored_text import gettext as _

# xero-python picks a serializer by the exact type name: a translated text (a ``str`` that
# remembers its msgid, unify.core.stored_text) goes out as the text it holds.
serialize.register(StoredText.__name__)(serialize_pass_through)

logger = logging.getLogger("unify.xero")

PROVIDER = limits.PROVIDER
# Refresh this long before Xero's 30-minute expiry rather than after a 401.
ACCESS_TOKEN_MARGIN_SECONDS = 120


class NotSent(RequestNotSent):
    """The request was never sent: the postings' lease would run out before an answer."""


class XeroDailyLimit(ProviderRateLimited):
    """The organisation's 5,000 calls of the day are spent: posting pauses until
    ``retry_after`` has passed (the Accounting tab says so)."""

    daily = True


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any  # parsed JSON (Decimal money), or None


def timeout() -> tuple[float, float]:
    return (float(settings.XERO_TIMEOUT_CONNECT), float(settings.XERO_TIMEOUT_READ))


def new_api_client(getter: Callable[[], dict], saver: Callable[[dict], None], token) -> ApiClient:
    config = Configuration()
    # Never the shared default: each client its own token object.
    config.oauth2_token = token
    client = ApiClient(config, oauth2_token_getter=getter, oauth2_token_saver=saver)
    client.rest_client.pool_manager.connection_pool_kw["retries"] = False
    client.user_agent = "Unify (xero-python)"
    return client


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw, parse_float=Decimal)
    except ValueError:
        raise ProviderResponseInvalid(
            "xero: unreadable answer (not JSON)", provider=PROVIDER
        ) from None


def _headers(response) -> dict[str, str]:
    try:
        return dict(response.getheaders())
    except AttributeError:
        return {}


def _problem(exc: ApiException) -> tuple[str, float]:
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    problem = str(headers.get("x-rate-limit-problem") or "minute").lower()
    try:
        wait = float(headers.get("retry-after") or 60)
    except ValueError:
        wait = 60.0
    return problem, wait


# ---------------------------------------------------------------------------------------------
# OAuth: the identity service (code exchange, refresh, connections)
# ---------------------------------------------------------------------------------------------


def _oauth_failure(exc: Exception, what: str, connection_id: int | None) -> IntegrationError:
    status = getattr(exc, "status", None) or 0
    if isinstance(exc, HTTPStatusException) and 400 <= status < 500 and status != 429:
        # invalid_grant (expired, revoked or already rotated), invalid_client.
        return ProviderAuthError(
            f"xero {what}: HTTP {status}",
            provider=PROVIDER,
            connection_id=connection_id,
            status_code=status,
            user_message=_("Xero no longer accepts Unify's access. Reconnect Xero."),
        )
    return ProviderUnavailable(
        f"xero {what}: {f'HTTP {status}' if status else type(exc).__name__}",
        provider=PROVIDER,
        connection_id=connection_id,
    )


@sensitive_variables()
def token_request(form: dict[str, str], *, connection_id: int | None = None) -> OAuthTokens:
    """POST to Xero's token endpoint (client authentication by HTTP Basic), through
    xero-python's HTTP client. Both grants end here."""
    client = new_api_client(dict, lambda token: None, OAuth2Token())
    secret = f"{settings.XERO_CLIENT_ID}:{settings.XERO_CLIENT_SECRET}".encode()
    what = "code exchange" if form.get("grant_type") == "authorization_code" else "token refresh"
    try:
        with limits.request_slot(None):
            response = client.call_api(
                settings.XERO_TOKEN_URL,
                "POST",
                header_params={
                    "Accept": "application/json",
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Authorization": "Basic " + base64.b64encode(secret).decode(),
                },
                post_params=list(form.items()),
                auth_settings=None,
                _preload_content=False,
                _return_http_data_only=True,
                _request_timeout=timeout(),
            )
    except (HTTPStatusException, urllib3.exceptions.HTTPError, ApiException) as exc:
        raise _oauth_failure(exc, what, connection_id) from None
    data = _parse(response.data) or {}
    try:
        access = str(data["access_token"])
        expires_in = int(data.get("expires_in") or 1800)
    except (KeyError, TypeError, ValueError):
        raise ProviderResponseInvalid(f"xero {what}: no access token", provider=PROVIDER) from None
    refresh = str(data.get("refresh_token") or form.get("refresh_token") or "")
    now = datetime.now(UTC)
    return OAuthTokens(
        access_token=access,
        refresh_token=refresh,
        access_expires_at=now + timedelta(seconds=expires_in),
        # Xero: a refresh token unused for 60 days expires.
        refresh_expires_at=now + timedelta(days=60),
    )


def revocation_url() -> str:
    """Xero's revocation endpoint, beside its token endpoint (``identity.xero.com/connect/
    revocation``, the address xero-python's ``TokenApi.revoke_token`` posts to)."""
    return settings.XERO_TOKEN_URL.rsplit("/", 1)[0] + "/revocation"


@sensitive_variables()
def revoke_refresh_token(refresh_token: str) -> None:
    """End the grant behind ``refresh_token``: Xero removes every connection the user made to
    Unify. An unknown token is not an error (RFC 7009)."""
    client = new_api_client(dict, lambda token: None, OAuth2Token())
    secret = f"{settings.XERO_CLIENT_ID}:{settings.XERO_CLIENT_SECRET}".encode()
    try:
        with limits.request_slot(None):
            client.call_api(
                revocation_url(),
                "POST",
                header_params={
                    "Accept": "application/json",
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Authorization": "Basic " + base64.b64encode(secret).decode(),
                },
                post_params=[("token", refresh_token)],
                auth_settings=None,
                _preload_content=False,
                _return_http_data_only=True,
                _request_timeout=timeout(),
            )
    except (HTTPStatusException, urllib3.exceptions.HTTPError, ApiException) as exc:
        raise _oauth_failure(exc, "token revocation", None) from None


@sensitive_variables()
def refresh_tokens(tokens: OAuthTokens, *, connection_id: int | None = None) -> OAuthTokens:
    if not tokens.refresh_token:
        raise ProviderAuthError(
            "xero: no refresh token (offline_access not granted)",
            provider=PROVIDER,
            connection_id=connection_id,
            status_code=401,
            user_message=_("Xero no longer accepts Unify's access. Reconnect Xero."),
        )
    return token_request(
        {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token},
        connection_id=connection_id,
    )


# ---------------------------------------------------------------------------------------------
# One connection's client
# ---------------------------------------------------------------------------------------------


class _ConnectionToken(OAuth2Token):
    """xero-python's token object, refreshing through the connection's token store."""

    def __init__(self, session: XeroSession) -> None:
        super().__init__(expiration_buffer=ACCESS_TOKEN_MARGIN_SECONDS)
        self._session = session

    def refresh_access_token(self, api_client) -> bool:  # noqa: D102 - xero-python's hook
        fresh = self._session.refresh()
        as_dict = self._session.token_dict(fresh)
        self.update_token(**as_dict)
        api_client.set_oauth2_token(as_dict)
        return True

    def __repr__(self) -> str:  # no token in a repr
        return "<_ConnectionToken>"


class XeroSession:
    """One Xero connection (one token set, one tenant) as xero-python clients."""

    def __init__(self, *, tenant_id: str, tokens: TokenStore, connection_id: int) -> None:
        self.tenant_id = tenant_id
        self.tokens = tokens
        self.connection_id = connection_id
        self.requests_sent = 0
        self._client = new_api_client(self._get, self._saved, _ConnectionToken(self))
        self.accounting = AccountingApi(self._client, base_url=settings.XERO_API_BASE_URL)
        self.identity = IdentityApi(self._client, base_url=settings.XERO_IDENTITY_BASE_URL)

    def __repr__(self) -> str:
        return f"<XeroSession tenant={self.tenant_id} connection={self.connection_id}>"

    # -- tokens -------------------------------------------------------------------------------

    @staticmethod
    @sensitive_variables()
    def token_dict(tokens: OAuthTokens) -> dict[str, Any]:
        """The token dict xero-python accepts (no other key: it raises TypeError)."""
        expires = tokens.access_expires_at
        return {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "scope": str(settings.XERO_SCOPES).split(),
            "expires_in": 1800,
            "token_type": "Bearer",
            "expires_at": expires.timestamp() if expires else time.time() + 1800,
        }

    def _get(self) -> dict[str, Any]:
        return self.token_dict(self.tokens.current())

    def _saved(self, token: dict[str, Any]) -> None:
        """xero-python hands back what our refresh already stored: nothing left to do."""

    def refresh(self) -> OAuthTokens:
        return self.tokens.refresh(
            stale=self.tokens.current(),
            refresher=lambda t: refresh_tokens(t, connection_id=self.connection_id),
        )

    # -- calls --------------------------------------------------------------------------------

    def _error(self, cls: type[IntegrationError], message: str, **kwargs: Any) -> IntegrationError:
        return cls(message, provider=PROVIDER, connection_id=self.connection_id, **kwargs)

    @sensitive_variables()
    def call(
        self,
        what: str,
        fn: Callable[..., Any],
        *,
        tenantless: bool = False,
        send_by: float | None = None,
    ) -> Answer:
        """Run one xero-python call (``fn(**kwargs)``) through the limits, with a timeout; a
        400 or 404 comes back as the answer (the caller reads Xero's words), anything else
        that is not a 2xx raises our error. One refresh and one repeat after a 401.
        ``send_by`` (``time.monotonic()``): when the limits kept the call waiting past it,
        it is not sent at all (``NotSent``)."""
        tenant = None if tenantless else self.tenant_id
        for attempt in (1, 2):
            started = time.monotonic()
            try:
                with limits.request_slot(tenant):
                    if send_by is not None and time.monotonic() > send_by:
                        raise self._error(
                            NotSent, f"xero {what}: not sent, the postings' lease is too short"
                        )
                    response = fn(_preload_content=False, _request_timeout=timeout())
            except limits.DailyLimitReached as exc:
                raise self._error(
                    XeroDailyLimit,
                    f"xero {what}: the organisation's daily limit is spent",
                    retry_after=exc.retry_after,
                ) from None
            except HTTPStatusException as exc:
                self.requests_sent += 1
                status = int(exc.status or 0)
                limits.observe(tenant, exc.headers or {})
                logger.debug("xero %s -> %s", what, status)
                if status == 401 and attempt == 1:
                    self.refresh()
                    continue
                if status in (400, 404):
                    body = None
                    if exc.body and exc.body.lstrip()[:1] in (b"{", b"["):
                        body = _parse(exc.body)
                    return Answer(status, dict(exc.headers or {}), body)
                raise self._failure(what, exc) from None
            except urllib3.exceptions.HTTPError as exc:
                # Refused or dropped connections, timeouts, bodies cut short: outcome unknown.
                raise self._error(
                    ProviderUnavailable, f"xero {what}: connection failed ({type(exc).__name__})"
                ) from None
            self.requests_sent += 1
            headers = _headers(response)
            limits.observe(tenant, headers)
            logger.debug(
                "xero %s -> %s in %.0f ms",
                what,
                response.status,
                (time.monotonic() - started) * 1000,
            )
            return Answer(response.status, headers, _parse(response.data))
        raise AssertionError("unreachable")

    def _failure(self, what: str, exc: HTTPStatusException) -> IntegrationError:
        status = int(exc.status or 0)
        if status == 401:
            return self._error(
                ProviderAuthError,
                f"xero {what}: HTTP 401 after a token refresh",
                status_code=401,
                user_message=_("Xero no longer accepts Unify's access. Reconnect Xero."),
            )
        if status == 403:
            return self._error(
                ProviderAuthError,
                f"xero {what}: HTTP 403 (organisation not connected)",
                status_code=403,
                user_message=_(
                    "Xero no longer lets Unify reach this organisation. Reconnect Xero and "
                    "choose it again."
                ),
            )
        if status == 429:
            problem, wait = _problem(exc)
            limits.throttled(self.tenant_id, problem, wait)
            cls = XeroDailyLimit if problem == "day" else ProviderRateLimited
            return self._error(
                cls, f"xero {what}: HTTP 429 ({problem}), waiting {wait:g} s", retry_after=wait
            )
        return self._error(ProviderUnavailable, f"xero {what}: HTTP {status}", status_code=status)
