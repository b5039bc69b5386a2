"""A ledger connection's tokens: read, stored and refreshed under the connection's row lock,
and the adapter that uses them."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounting.ledgers.base import LedgerAdapter, OAuthTokens
from accounting.ledgers.registry import get_provider
from accounting.models import LedgerConnection, LedgerStatus
from unify.core.exceptions import ProviderAuthError
from unify.tenancy.scoping import org_scope

# ---------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------


@sensitive_variables()
def _tokens_of(connection: LedgerConnection) -> OAuthTokens:
    if connection.tokens is None:
        raise ProviderAuthError(
            "ledger connection has no tokens",
            provider=connection.provider,
            connection_id=connection.pk,
        )
    data = connection.tokens.reveal()
    return OAuthTokens(
        access_token=data.get("access_token", ""),
        refresh_token=data.get("refresh_token", ""),
        access_expires_at=connection.access_token_expires_at,
        refresh_expires_at=connection.refresh_token_expires_at,
    )


@sensitive_variables()
def _store_tokens(connection: LedgerConnection, tokens: OAuthTokens) -> None:
    connection.tokens = {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
    }
    connection.access_token_expires_at = tokens.access_expires_at
    connection.refresh_token_expires_at = tokens.refresh_expires_at


class ConnectionTokenStore:
    """A connection's tokens for an adapter (see ``accounting.ledgers.base.TokenStore``).

    Refreshes take the connection's row lock: a second worker that wanted to refresh the
    same tokens waits, then finds newer tokens in the row and uses them instead of spending
    the (already rotated) refresh token. The new tokens are committed before the lock is
    released, so a crash right after cannot lose them.
    """

    def __init__(self, connection: LedgerConnection) -> None:
        self.connection_id = connection.pk
        self.organization_id = connection.organization_id
        self._tokens: OAuthTokens | None = _tokens_of(connection) if connection.tokens else None

    def current(self) -> OAuthTokens:
        if self._tokens is None:
            # In the connection's own scope: any thread may hold the adapter (row-level
            # security shows a thread without a scope no rows).
            with org_scope(self.organization_id):
                row = LedgerConnection.objects.get(pk=self.connection_id)
            self._tokens = _tokens_of(row)
        return self._tokens

    @sensitive_variables()
    def refresh(
        self, *, stale: OAuthTokens, refresher: Callable[[OAuthTokens], OAuthTokens]
    ) -> OAuthTokens:
        # The row lock and the write in the connection's own scope, whichever thread refreshes.
        with org_scope(self.organization_id), transaction.atomic():
            row = LedgerConnection.objects.select_for_update().get(pk=self.connection_id)
            if row.status == LedgerStatus.DISABLED:
                raise ProviderAuthError(
                    "ledger connection is disconnected",
                    provider=row.provider,
                    connection_id=row.pk,
                )
            stored = _tokens_of(row)
            if (stored.access_token, stored.refresh_token) != (
                stale.access_token,
                stale.refresh_token,
            ):
                # Someone refreshed while we waited for the lock: theirs is the newest.
                self._tokens = stored
                return stored
            fresh = refresher(stored)
            _store_tokens(row, fresh)
            row.tokens_refreshed_at = timezone.now()
            row.save(
                update_fields=[
                    "tokens",
                    "access_token_expires_at",
                    "refresh_token_expires_at",
                    "tokens_refreshed_at",
                    "updated_at",
                ]
            )
        self._tokens = fresh
        return fresh


def ledger_adapter(connection: LedgerConnection) -> LedgerAdapter:
    provider = get_provider(connection.provider)
    return provider.adapter(
        company_id=connection.company_id,
        tokens=ConnectionTokenStore(connection),
        connection_id=connection.pk,
    )
