"""Xero as a ledger provider: its OAuth flow (built by us; xero-python has no helper for the
authorization code), the organisation picker, the adapter, and its limits.

One Xero login may reach several organisations ("tenants"); after the code exchange
``GET /connections`` lists them and the user picks one when there are several (see
``views.py``). Tokens belong to the Xero user and the app, not to one organisation: Unify
stores one token set per ledger connection, and disconnecting deletes that organisation's
connection (``DELETE /connections/{id}``) rather than revoking the token, which would end
every organisation the same Xero user connected.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from accounting.ledgers.base import (
    CatalogEntry,
    ConnectResult,
    DocumentKind,
    LedgerAdapter,
    LedgerCatalog,
    LedgerProvider,
    OAuthTokens,
    TokenStore,
)
from accounting.ledgers.xero import limits
from accounting.ledgers.xero.account_types import ACCOUNT_RULES
from accounting.ledgers.xero.adapter import XeroAdapter
from accounting.ledgers.xero.client import (
    PROVIDER,
    XeroSession,
    refresh_tokens,
    revoke_refresh_token,
    token_request,
)
from accounting.ledgers.xero.pending import Tenant
from unify.core.exceptions import DomainError, ProviderAuthError


class FixedTokens:
    """Tokens held in memory (a connection being made or taken apart): refreshed when
    needed, never stored."""

    def __init__(self, tokens: OAuthTokens) -> None:
        self.tokens = tokens

    def current(self) -> OAuthTokens:
        return self.tokens

    @sensitive_variables()
    def refresh(self, *, stale: OAuthTokens, refresher) -> OAuthTokens:
        if stale is not self.tokens:
            return self.tokens
        self.tokens = refresher(stale)
        return self.tokens


def _first(entries: tuple[CatalogEntry, ...], test) -> str:
    return next((e.id for e in entries if e.active and test(e)), "")


class XeroProvider(LedgerProvider):
    key = PROVIDER
    name = "Xero"
    # Its sandbox stand-in for make run (see run_embedded).
    stand_in = "sandbox.xero.make_run"
    connect_kind = "oauth"
    asynchronous = False
    # Posted documents follow their source: an edited sale updates its invoice (our payment
    # deleted and applied again, as Xero edits no paid invoice), withdrawn sales and voided
    # labels are voided or deleted (ledgers/xero/changes.py).
    supports_update = True
    # Xero takes 255 characters; our document number column holds 40.
    doc_number_max_length = 40
    # Xero takes 255 for both; these are the lengths its documents were built with so far.
    name_max_length = 100
    payment_reference_max_length = 21
    sale_kinds = (DocumentKind.INVOICE_PAYMENT,)
    account_rules = ACCOUNT_RULES

    @property
    def batch_size(self) -> int:  # type: ignore[override]
        return max(1, int(settings.XERO_BATCH_SIZE))

    # -- connecting ---------------------------------------------------------------------------

    def redirect_uri(self, built: str) -> str:
        return settings.XERO_REDIRECT_URI or built

    def read_timeout_seconds(self) -> float:
        return float(settings.XERO_TIMEOUT_READ)

    def authorization_url(self, *, state: str, redirect_uri: str) -> str:
        query = {
            "response_type": "code",
            "client_id": settings.XERO_CLIENT_ID,
            "redirect_uri": redirect_uri,
            "scope": settings.XERO_SCOPES,
            "state": state,
        }
        return f"{settings.XERO_AUTHORIZE_URL}?{urlencode(query)}"

    @sensitive_variables()
    def exchange_code(self, *, code: str, redirect_uri: str) -> OAuthTokens:
        return token_request(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        )

    @sensitive_variables()
    def tenants(self, tokens: OAuthTokens) -> list[Tenant]:
        """The organisations these tokens reach (``GET /connections``)."""
        session = XeroSession(tenant_id="", tokens=FixedTokens(tokens), connection_id=0)
        answer = session.call(
            "GET connections",
            lambda **kw: session.identity.get_connections(**kw),
            tenantless=True,
        )
        rows = answer.body if isinstance(answer.body, list) else []
        return [
            Tenant(
                tenant_id=str(row.get("tenantId", "")),
                name=str(row.get("tenantName") or ""),
                connection_id=str(row.get("id", "")),
            )
            for row in rows
            if isinstance(row, dict) and row.get("tenantType", "ORGANISATION") == "ORGANISATION"
        ]

    @sensitive_variables()
    def connect_result(self, *, tokens: OAuthTokens, tenant_id: str) -> ConnectResult:
        """Prove the tokens open this organisation and name it."""
        company = self.adapter(
            company_id=tenant_id, tokens=FixedTokens(tokens), connection_id=0
        ).verify()
        return ConnectResult(company_id=tenant_id, company_name=company.name, tokens=tokens)

    @sensitive_variables()
    def complete_authorization(
        self, *, code: str, company_id: str, redirect_uri: str
    ) -> ConnectResult:
        tokens = self.exchange_code(code=code, redirect_uri=redirect_uri)
        if company_id not in {t.tenant_id for t in self.tenants(tokens)}:
            raise DomainError("xero: organisation not connected")
        return self.connect_result(tokens=tokens, tenant_id=company_id)

    def adapter(self, *, company_id: str, tokens: TokenStore, connection_id: int) -> LedgerAdapter:
        return XeroAdapter(company_id=company_id, tokens=tokens, connection_id=connection_id)

    @sensitive_variables()
    def revoke(self, *, tokens: OAuthTokens) -> None:
        """Revoking ends every organisation the Xero user connected to Unify; disconnecting
        one ledger uses :meth:`disconnect` instead."""
        if tokens.refresh_token:
            revoke_refresh_token(tokens.refresh_token)

    @sensitive_variables()
    def disconnect(self, *, company_id: str, tokens: OAuthTokens) -> None:
        store = FixedTokens(tokens)
        expires = tokens.access_expires_at
        if expires is not None and expires <= datetime.now(expires.tzinfo):
            try:
                store.tokens = refresh_tokens(tokens)
            except ProviderAuthError:
                return  # the grant is gone already: nothing of ours left in Xero
        session = XeroSession(tenant_id="", tokens=store, connection_id=0)
        for tenant in self.tenants(store.tokens):
            if tenant.tenant_id == company_id and tenant.connection_id:
                session.call(
                    "DELETE connection",
                    lambda cid=tenant.connection_id, **kw: session.identity.delete_connection(
                        cid, **kw
                    ),
                    tenantless=True,
                )

    # -- limits and settings ------------------------------------------------------------------

    def rate_limit_key(self, company_id: str) -> str:
        return limits.minute_key(company_id)

    def posting_paused_until(self, company_id: str) -> datetime | None:
        return limits.daily_pause(company_id)

    def suggested_settings(self, catalog: LedgerCatalog) -> dict[str, str]:
        accounts = catalog.accounts

        def named(kind: str, *words: str):
            return lambda e: e.kind == kind and any(w in e.name.casefold() for w in words)

        return {
            "document_type": DocumentKind.INVOICE_PAYMENT.value,
            "product_income_account_id": _first(accounts, lambda e: e.kind == "REVENUE"),
            "shipping_income_account_id": _first(accounts, named("REVENUE", "shipping")),
            "discount_account_id": _first(accounts, named("REVENUE", "discount")),
            "tax_liability_account_id": _first(accounts, named("CURRLIAB", "sales tax")),
            # A clearing account that takes payments, else the first bank account.
            "deposit_account_id": _first(accounts, lambda e: e.detail == "payments")
            or _first(accounts, lambda e: e.kind == "BANK"),
            "shipping_expense_account_id": _first(
                accounts, named("EXPENSE", "freight", "postage", "shipping")
            ),
            "label_payment_account_id": _first(accounts, lambda e: e.kind == "BANK"),
            "reconciliation_account_id": _first(
                accounts, lambda e: "reconciliation" in e.name.casefold()
            ),
        }

    def url_patterns(self, scope: str) -> list:
        from django.urls import path

        from accounting.ledgers.xero import views

        if scope == "callback":
            return [path("callback/", views.callback, name="xero_oauth_callback")]
        if scope == "tenant":
            return [
                path("organisation/", views.choose_organisation, name="xero_organisation"),
            ]
        return []
