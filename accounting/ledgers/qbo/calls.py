"""The QBO adapter's plumbing: a client with a valid token for every call (refreshed ahead
of expiry and once more after a 401), python-quickbooks' errors translated into ours."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from quickbooks import exceptions as qbe

from accounting.ledgers.base import LedgerAdapter, OAuthTokens, TokenStore
from accounting.ledgers.qbo import faults as qbo_faults
from accounting.ledgers.qbo.client import PROVIDER, QboClient, dumps
from unify.core.exceptions import (
    IntegrationError,
    ProviderAuthError,
    ProviderRejected,
    ProviderResponseInvalid,
)
from unify.core.stored_text import gettext as _

logger = logging.getLogger("unify.qbo")

T = TypeVar("T")

# Refresh a little before Intuit's expiry rather than after a 401.
ACCESS_TOKEN_MARGIN = timedelta(seconds=120)


class QboCalls(LedgerAdapter):
    """The client, its tokens and its errors (the base of the adapter's parts)."""

    provider_key = PROVIDER

    def __init__(self, *, company_id: str, tokens: TokenStore, connection_id: int) -> None:
        self.realm_id = company_id
        self.tokens = tokens
        self.connection_id = connection_id
        self._client: QboClient | None = None
        self._client_token: OAuthTokens | None = None
        self.requests_sent = 0
        # A batch grant taken for the next claim's batch (``batch.next_claim_size``).
        self.held_batch_grant: str | None = None

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
        if isinstance(exc, qbe.SevereException) or qbo_faults.fault_code(exc) == 10000:
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
            qbo_faults.plain_message(
                qbo_faults.fault_code(exc), what, detail, str(exc.message or "")
            )
            or message
        )
        return self._error(
            ProviderRejected,
            f"qbo {what}: {exc.error_code} {exc.message}",
            field_errors={"code": str(exc.error_code), "detail": detail[:500]},
            hold_reason=qbo_faults.hold_reason(
                qbo_faults.fault_code(exc), detail, str(exc.message or "")
            ),
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
