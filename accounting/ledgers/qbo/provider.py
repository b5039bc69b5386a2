"""QuickBooks Online as a ledger provider: the OAuth 2 flow (intuit-oauth) and the adapter.

Intuit rotates the refresh token on every refresh and the old one stops working: the
service serialises refreshes per connection and stores the new token before anything else
happens (see ``accounting.services.ledger_tokens.ConnectionTokenStore``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError

from accounting.ledgers.base import (
    ConnectResult,
    DocumentKind,
    LedgerAdapter,
    LedgerProvider,
    OAuthTokens,
    TokenStore,
)
from accounting.ledgers.qbo.account_types import ACCOUNT_RULES
from accounting.ledgers.qbo.adapter import QboAdapter
from accounting.ledgers.qbo.client import PROVIDER, QboAuthClient
from unify.core.exceptions import ProviderAuthError, ProviderUnavailable
from unify.core.stored_text import gettext as _


@sensitive_variables()
def _tokens_from(client: QboAuthClient) -> OAuthTokens:
    now = datetime.now(UTC)
    access_in = int(client.expires_in or 3600)
    refresh_in = client.x_refresh_token_expires_in
    return OAuthTokens(
        access_token=client.access_token,
        refresh_token=client.refresh_token,
        access_expires_at=now + timedelta(seconds=access_in),
        refresh_expires_at=now + timedelta(seconds=int(refresh_in)) if refresh_in else None,
    )


def _oauth_error(exc: AuthClientError, what: str, connection_id: int | None = None):
    status = exc.status_code
    if status >= 500 or status == 429:
        return ProviderUnavailable(
            f"qbo {what}: HTTP {status}", provider=PROVIDER, connection_id=connection_id
        )
    # 400 invalid_grant (expired, revoked or already-rotated refresh token), 401 bad client.
    return ProviderAuthError(
        f"qbo {what}: HTTP {status}",
        provider=PROVIDER,
        connection_id=connection_id,
        status_code=status,
        user_message=_("QuickBooks no longer accepts Unify's access. Reconnect QuickBooks."),
    )


@sensitive_variables()
def refresh_tokens(tokens: OAuthTokens, *, connection_id: int | None = None) -> OAuthTokens:
    client = QboAuthClient()
    try:
        client.refresh(refresh_token=tokens.refresh_token)
    except AuthClientError as exc:
        raise _oauth_error(exc, "token refresh", connection_id) from None
    except OSError as exc:
        raise ProviderUnavailable(
            f"qbo token refresh: {type(exc).__name__}",
            provider=PROVIDER,
            connection_id=connection_id,
        ) from None
    return _tokens_from(client)


class QboProvider(LedgerProvider):
    key = PROVIDER
    name = "QuickBooks Online"
    # Its sandbox stand-in for make run (see run_embedded).
    stand_in = "sandbox.qbo.make_run"
    connect_kind = "oauth"
    asynchronous = False
    supports_update = True
    doc_number_max_length = 21
    name_max_length = 100  # DisplayName, Name
    payment_reference_max_length = 21  # PaymentRefNum
    sale_kinds = (DocumentKind.SALES_RECEIPT, DocumentKind.INVOICE_PAYMENT)
    shipping_by_item = True
    account_rules = ACCOUNT_RULES
    # Intuit's guidelines name the button.
    connect_label = gettext_lazy("Connect to QuickBooks")

    def redirect_uri(self, built: str) -> str:
        return settings.QBO_REDIRECT_URI or built

    def callback_company_id(self, params: Mapping[str, str]) -> str:
        return params.get("realmId", "")

    def read_timeout_seconds(self) -> float:
        return float(settings.QBO_TIMEOUT_READ)

    @property
    def batch_size(self) -> int:
        """Documents per request: the engine claims and sends them together (``/batch``)."""
        from accounting.ledgers.qbo.batch import batch_size

        return batch_size()

    def documents_per_minute(self) -> tuple[float, float]:
        """Documents Intuit's limits let through a minute (and the minute's length in
        seconds, scaled in benchmarks): 40 batches of ``batch_size`` plus, beside them, the
        rest of the 500 requests a minute one document each."""
        from accounting.ledgers.qbo.batch import lanes_per_minute

        return lanes_per_minute()

    def authorization_url(self, *, state: str, redirect_uri: str) -> str:
        client = QboAuthClient(redirect_uri=redirect_uri)
        return client.get_authorization_url([Scopes.ACCOUNTING], state_token=state)

    @sensitive_variables()
    def complete_authorization(
        self, *, code: str, company_id: str, redirect_uri: str
    ) -> ConnectResult:
        client = QboAuthClient(redirect_uri=redirect_uri)
        try:
            client.get_bearer_token(code, realm_id=company_id)
        except AuthClientError as exc:
            raise _oauth_error(exc, "code exchange") from None
        except OSError as exc:
            raise ProviderUnavailable(
                f"qbo code exchange: {type(exc).__name__}", provider=PROVIDER
            ) from None
        tokens = _tokens_from(client)
        company = self.adapter(
            company_id=company_id, tokens=_FixedTokens(tokens), connection_id=0
        ).verify()
        return ConnectResult(company_id=company_id, company_name=company.name, tokens=tokens)

    def adapter(self, *, company_id: str, tokens: TokenStore, connection_id: int) -> LedgerAdapter:
        return QboAdapter(company_id=company_id, tokens=tokens, connection_id=connection_id)

    @sensitive_variables()
    def revoke(self, *, tokens: OAuthTokens) -> None:
        client = QboAuthClient()
        try:
            client.revoke(token=tokens.refresh_token or tokens.access_token)
        except AuthClientError as exc:
            if exc.status_code >= 500:
                raise _oauth_error(exc, "revoke") from None
            # 400: already revoked or expired, which is what we wanted.
        except OSError as exc:
            raise ProviderUnavailable(
                f"qbo revoke: {type(exc).__name__}", provider=PROVIDER
            ) from None


class _FixedTokens:
    """Tokens that were just issued: nothing to refresh while the connection is made."""

    def __init__(self, tokens: OAuthTokens) -> None:
        self.tokens = tokens

    def current(self) -> OAuthTokens:
        return self.tokens

    def refresh(self, *, stale: OAuthTokens, refresher) -> OAuthTokens:
        raise ProviderAuthError("qbo: fresh tokens refused", provider=PROVIDER, status_code=401)
