"""Intuit's OAuth 2.0 server, as seen by an app: clients, codes, grants and tokens.

- Authorization codes are single use and live ``code_ttl`` seconds (Intuit: a few minutes);
  they are bound to the client and the ``redirect_uri`` of the authorize request.
- An access token lives ``access_token_ttl`` seconds (3600) and opens one realm.
- A refresh token ROTATES on every refresh: the answer carries a new one, and the one just
  used stops working ``refresh_grace_seconds`` later (default 0: at once). Only the newest
  refresh token of a grant and, during the grace, its predecessor are accepted; anything
  older answers ``invalid_grant``. Refreshing also replaces the access token.
- Revoking either token of a grant ends the whole grant (access and refresh).
- Token answers: ``{"token_type": "bearer", "access_token", "refresh_token",
  "expires_in": 3600, "x_refresh_token_expires_in": 8726400}``; errors are
  ``{"error": "invalid_grant" | "invalid_client" | "invalid_request" |
  "unsupported_grant_type"}`` with 400 (401 for a bad client).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

DEMO_CLIENT_ID = "ABdemoUnifySandboxClientId0000000000000000000000"
DEMO_CLIENT_SECRET = "demo-qbo-client-secret-0000000000000000"
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"

ACCESS_TOKEN_TTL = 3600
REFRESH_TOKEN_TTL = 8_726_400  # about 101 days, what Intuit reports
CODE_TTL = 300


class OAuthError(Exception):
    def __init__(self, error: str, status: int = 400, description: str | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.description = description

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.error}
        if self.description:
            out["error_description"] = self.description
        return out


@dataclass(slots=True)
class Client:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...] = ()  # empty: any redirect URI is accepted

    def allows(self, redirect_uri: str) -> bool:
        return not self.redirect_uris or redirect_uri in self.redirect_uris


@dataclass(slots=True)
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    realm_id: str
    scope: str
    expires_at: float
    used: bool = False


@dataclass(slots=True)
class Grant:
    """One authorization of a client for a realm, carried forward by refresh tokens."""

    id: int
    client_id: str
    realm_id: str
    scope: str
    refresh_token: str
    refresh_expires_at: float
    previous_refresh_token: str | None = None
    previous_valid_until: float = 0.0
    revoked: bool = False
    refresh_count: int = 0


@dataclass(slots=True)
class AccessToken:
    token: str
    grant_id: int
    realm_id: str
    expires_at: float


@dataclass
class OAuthServer:
    access_token_ttl: int = ACCESS_TOKEN_TTL
    refresh_token_ttl: int = REFRESH_TOKEN_TTL
    code_ttl: int = CODE_TTL
    refresh_grace_seconds: float = 0.0
    auto_approve: bool = False
    auto_approve_realm: str | None = None
    clients: dict[str, Client] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    grants: dict[int, Grant] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    _by_refresh: dict[str, int] = field(default_factory=dict)
    _next_grant: int = 1
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    # -- clients --------------------------------------------------------------------------------

    def register_client(
        self, client_id: str, client_secret: str, redirect_uris: tuple[str, ...] = ()
    ) -> Client:
        with self.lock:
            client = Client(client_id, client_secret, tuple(redirect_uris))
            self.clients[client_id] = client
            return client

    def authenticate_client(self, client_id: str | None, client_secret: str | None) -> Client:
        client = self.clients.get(client_id or "")
        if client is None or not secrets.compare_digest(
            client.client_secret.encode(), (client_secret or "").encode()
        ):
            raise OAuthError("invalid_client", 401)
        return client

    # -- authorize ------------------------------------------------------------------------------

    def issue_code(self, client_id: str, redirect_uri: str, realm_id: str, scope: str) -> str:
        with self.lock:
            code = "AB" + secrets.token_urlsafe(36)
            self.codes[code] = AuthCode(
                code, client_id, redirect_uri, realm_id, scope, time.time() + self.code_ttl
            )
            return code

    # -- token endpoint -------------------------------------------------------------------------

    def exchange_code(self, client: Client, code: str | None, redirect_uri: str | None) -> dict:
        if not code:
            raise OAuthError("invalid_request", description="code is required")
        with self.lock:
            record = self.codes.get(code)
            if (
                record is None
                or record.used
                or record.client_id != client.client_id
                or record.expires_at < time.time()
                or record.redirect_uri != (redirect_uri or "")
            ):
                if record is not None and record.used:
                    # RFC 6749 10.5: a replayed code revokes what it produced.
                    self._revoke_grants_from_code(code)
                raise OAuthError("invalid_grant")
            record.used = True
            grant = self._new_grant(client.client_id, record.realm_id, record.scope)
            self._code_grants[code] = grant.id
            return self._token_answer(grant)

    def refresh(self, client: Client, refresh_token: str | None) -> dict:
        if not refresh_token:
            raise OAuthError("invalid_request", description="refresh_token is required")
        now = time.time()
        with self.lock:
            grant = self._grant_for_refresh(refresh_token)
            if grant is None or grant.client_id != client.client_id or grant.revoked:
                raise OAuthError("invalid_grant")
            current = refresh_token == grant.refresh_token
            in_grace = (
                refresh_token == grant.previous_refresh_token and now < grant.previous_valid_until
            )
            if not (current or in_grace) or grant.refresh_expires_at < now:
                raise OAuthError("invalid_grant")
            new = self._new_refresh_token(grant)
            if current:
                grant.previous_refresh_token = grant.refresh_token
                grant.previous_valid_until = now + self.refresh_grace_seconds
            # A refresh with the previous token (inside the grace) keeps that token's window,
            # and the token it replaces is gone: whoever stored it has lost the grant.
            grant.refresh_token = new
            grant.refresh_expires_at = now + self.refresh_token_ttl
            grant.refresh_count += 1
            # A refresh replaces the grant's access tokens, as Intuit's do not outlive it.
            for token in [t for t, a in self.access_tokens.items() if a.grant_id == grant.id]:
                del self.access_tokens[token]
            return self._token_answer(grant)

    def revoke(self, client: Client, token: str | None) -> None:
        if not token:
            raise OAuthError("invalid_request", description="token is required")
        with self.lock:
            grant = self._grant_for_refresh(token)
            if grant is None and token in self.access_tokens:
                grant = self.grants.get(self.access_tokens[token].grant_id)
            # RFC 7009: an unknown token is not an error.
            if grant is None or grant.client_id != client.client_id:
                return
            self._end_grant(grant)

    # -- bearer check ---------------------------------------------------------------------------

    def check_access_token(self, token: str | None) -> tuple[AccessToken | None, str | None]:
        """(the token, None) or (None, why it is refused)."""
        if not token:
            return None, None
        if len(token) < 20 or len(token) > 4096:
            return None, "Malformed bearer token: too short or too long"
        with self.lock:
            access = self.access_tokens.get(token)
            if access is None:
                return None, "Token invalid or revoked"
            grant = self.grants.get(access.grant_id)
            if grant is None or grant.revoked:
                return None, "Token revoked"
            if access.expires_at <= time.time():
                return None, "Token expired: " + token[:8] + "..."
            return access, None

    # -- control --------------------------------------------------------------------------------

    def issue_tokens(self, client_id: str, realm_id: str, scope: str = ACCOUNTING_SCOPE) -> dict:
        """Tokens for a realm without the browser dance (tests and the demo)."""
        with self.lock:
            if client_id not in self.clients:
                raise KeyError(f"unknown client {client_id}")
            grant = self._new_grant(client_id, realm_id, scope)
            return self._token_answer(grant)

    def expire_access_tokens(self, realm_id: str | None = None) -> int:
        with self.lock:
            count = 0
            for access in self.access_tokens.values():
                if realm_id is None or access.realm_id == realm_id:
                    access.expires_at = 0.0
                    count += 1
            return count

    def expire_refresh_tokens(self, realm_id: str | None = None) -> int:
        with self.lock:
            count = 0
            for grant in self.grants.values():
                if realm_id is None or grant.realm_id == realm_id:
                    grant.refresh_expires_at = 0.0
                    grant.previous_valid_until = 0.0
                    count += 1
            return count

    def revoke_all(self, realm_id: str | None = None) -> int:
        with self.lock:
            grants = [
                g
                for g in self.grants.values()
                if not g.revoked and (realm_id is None or g.realm_id == realm_id)
            ]
            for grant in grants:
                self._end_grant(grant)
            return len(grants)

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {
                "clients": [
                    {"client_id": c.client_id, "redirect_uris": list(c.redirect_uris)}
                    for c in self.clients.values()
                ],
                "grants": [
                    {
                        "id": g.id,
                        "client_id": g.client_id,
                        "realm_id": g.realm_id,
                        "scope": g.scope,
                        "revoked": g.revoked,
                        "refresh_count": g.refresh_count,
                        "refresh_expires_at": g.refresh_expires_at,
                        "active_access_tokens": sum(
                            1
                            for a in self.access_tokens.values()
                            if a.grant_id == g.id and a.expires_at > time.time()
                        ),
                    }
                    for g in self.grants.values()
                ],
                "settings": self.settings(),
            }

    def settings(self) -> dict[str, Any]:
        return {
            "access_token_ttl": self.access_token_ttl,
            "refresh_token_ttl": self.refresh_token_ttl,
            "code_ttl": self.code_ttl,
            "refresh_grace_seconds": self.refresh_grace_seconds,
            "auto_approve": self.auto_approve,
            "auto_approve_realm": self.auto_approve_realm,
        }

    def reset(self) -> None:
        with self.lock:
            self.codes.clear()
            self.grants.clear()
            self.access_tokens.clear()
            self._by_refresh.clear()
            self._code_grants.clear()
            self.access_token_ttl = ACCESS_TOKEN_TTL
            self.refresh_token_ttl = REFRESH_TOKEN_TTL
            self.code_ttl = CODE_TTL
            self.refresh_grace_seconds = 0.0
            self.auto_approve = False
            self.auto_approve_realm = None

    # -- internals ------------------------------------------------------------------------------

    def __post_init__(self) -> None:
        self._code_grants: dict[str, int] = {}

    def _new_grant(self, client_id: str, realm_id: str, scope: str) -> Grant:
        grant = Grant(
            id=self._next_grant,
            client_id=client_id,
            realm_id=realm_id,
            scope=scope,
            refresh_token="",
            refresh_expires_at=time.time() + self.refresh_token_ttl,
        )
        self._next_grant += 1
        self.grants[grant.id] = grant
        grant.refresh_token = self._new_refresh_token(grant)
        return grant

    def _new_refresh_token(self, grant: Grant) -> str:
        # Intuit's refresh tokens look like "AB11" + 46 characters.
        token = "AB11" + secrets.token_urlsafe(36)[:46]
        self._by_refresh[token] = grant.id
        return token

    def _grant_for_refresh(self, token: str) -> Grant | None:
        grant_id = self._by_refresh.get(token)
        return self.grants.get(grant_id) if grant_id is not None else None

    def _token_answer(self, grant: Grant) -> dict[str, Any]:
        now = time.time()
        # Intuit's access tokens are long JWE strings; length matters to column sizes.
        token = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0.." + secrets.token_urlsafe(600)
        self.access_tokens[token] = AccessToken(
            token, grant.id, grant.realm_id, now + self.access_token_ttl
        )
        return {
            "token_type": "bearer",
            "access_token": token,
            "refresh_token": grant.refresh_token,
            "expires_in": self.access_token_ttl,
            "x_refresh_token_expires_in": max(0, int(grant.refresh_expires_at - now)),
        }

    def _end_grant(self, grant: Grant) -> None:
        grant.revoked = True
        for token in [t for t, a in self.access_tokens.items() if a.grant_id == grant.id]:
            del self.access_tokens[token]

    def _revoke_grants_from_code(self, code: str) -> None:
        grant_id = self._code_grants.get(code)
        if grant_id is not None and grant_id in self.grants:
            self._end_grant(self.grants[grant_id])
