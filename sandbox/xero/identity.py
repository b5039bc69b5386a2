"""Xero's identity service as an app sees it: clients, the consent page's codes, tokens and
the connections a user has granted an app.

- A user authorises an app for one or more organisations (the consent page lists them). The
  app gets ONE token set for that user; ``GET /connections`` lists the organisations it
  reaches (``{id, authEventId, tenantId, tenantType, tenantName, createdDateUtc,
  updatedDateUtc}``), and every API call names one with the ``xero-tenant-id`` header.
  Connections belong to the user and the app: authorising again adds organisations;
  ``DELETE /connections/{id}`` removes one; revoking the refresh token removes them all.
- Codes are single use (a replayed code also ends what it produced) and bound to the
  ``redirect_uri`` of the authorize request.
- Access tokens live ``access_token_ttl`` (1800 s). A refresh token is returned only with
  the ``offline_access`` scope; it ROTATES on every refresh: the one used stops working
  ``refresh_grace_seconds`` later (0 by default) and anything older answers
  ``invalid_grant``. Refresh tokens unused for ``refresh_token_ttl`` (60 days) expire.
- Token answers: ``{"id_token", "access_token", "expires_in": 1800, "token_type":
  "Bearer", "refresh_token", "scope"}``; errors ``{"error": "invalid_grant" |
  "invalid_client" | "invalid_request" | "unsupported_grant_type"}`` with 400.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DEMO_CLIENT_ID = "DEMOUNIFYXEROSANDBOXCLIENT000000"
DEMO_CLIENT_SECRET = "demo-xero-client-secret-000000000000000000000000"
DEMO_USER_EMAIL = "owner@demo-company.example"

ACCESS_TOKEN_TTL = 1800
REFRESH_TOKEN_TTL = 60 * 24 * 3600
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
    redirect_uris: tuple[str, ...] = ()  # empty: any redirect URI

    def allows(self, redirect_uri: str) -> bool:
        return not self.redirect_uris or redirect_uri in self.redirect_uris


@dataclass(slots=True)
class Connection:
    id: str
    auth_event_id: str
    tenant_id: str
    tenant_name: str
    created: str
    updated: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "authEventId": self.auth_event_id,
            "tenantId": self.tenant_id,
            "tenantType": "ORGANISATION",
            "tenantName": self.tenant_name,
            "createdDateUtc": self.created,
            "updatedDateUtc": self.updated,
        }


@dataclass(slots=True)
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    tenant_ids: tuple[str, ...]
    expires_at: float
    user: str = DEMO_USER_EMAIL
    used: bool = False
    grant_id: int | None = None


@dataclass(slots=True)
class Grant:
    """The token chain of one authorisation (one user, one app)."""

    id: int
    client_id: str
    user: str
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
    expires_at: float


def _utc_text(moment: float | None = None) -> str:
    return datetime.fromtimestamp(moment or time.time(), tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0")


@dataclass
class IdentityServer:
    access_token_ttl: int = ACCESS_TOKEN_TTL
    refresh_token_ttl: int = REFRESH_TOKEN_TTL
    code_ttl: int = CODE_TTL
    refresh_grace_seconds: float = 0.0
    auto_approve: bool = False
    auto_approve_tenants: tuple[str, ...] = ()
    auto_approve_user: str = DEMO_USER_EMAIL
    clients: dict[str, Client] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    grants: dict[int, Grant] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    # (user, client id) -> tenant id -> connection
    connections: dict[tuple[str, str], dict[str, Connection]] = field(default_factory=dict)
    _by_refresh: dict[str, int] = field(default_factory=dict)
    _next_grant: int = 1
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    # -- clients ----------------------------------------------------------------------------

    def register_client(
        self, client_id: str, client_secret: str, redirect_uris: tuple[str, ...] = ()
    ) -> None:
        with self.lock:
            self.clients[client_id] = Client(client_id, client_secret, tuple(redirect_uris))

    def authenticate_client(self, client_id: str | None, client_secret: str | None) -> Client:
        client = self.clients.get(client_id or "")
        if client is None or not secrets.compare_digest(
            client.client_secret.encode(), (client_secret or "").encode()
        ):
            raise OAuthError("invalid_client")
        return client

    # -- consent ----------------------------------------------------------------------------

    def issue_code(
        self,
        client_id: str,
        redirect_uri: str,
        scope: str,
        tenant_ids: tuple[str, ...],
        user: str = DEMO_USER_EMAIL,
    ) -> str:
        with self.lock:
            code = secrets.token_urlsafe(32)
            self.codes[code] = AuthCode(
                code,
                client_id,
                redirect_uri,
                scope,
                tenant_ids,
                time.time() + self.code_ttl,
                user=user,
            )
            return code

    # -- token endpoint ---------------------------------------------------------------------

    def exchange_code(
        self, client: Client, code: str | None, redirect_uri: str | None, names: dict[str, str]
    ) -> dict[str, Any]:
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
                if record is not None and record.used and record.grant_id in self.grants:
                    self._end_grant(self.grants[record.grant_id])  # RFC 6749 10.5
                raise OAuthError("invalid_grant")
            record.used = True
            grant = self._new_grant(client.client_id, record.user, record.scope)
            record.grant_id = grant.id
            self._connect(grant, record.tenant_ids, names)
            return self._token_answer(grant)

    def refresh(self, client: Client, refresh_token: str | None) -> dict[str, Any]:
        if not refresh_token:
            raise OAuthError("invalid_request", description="refresh_token is required")
        now = time.time()
        with self.lock:
            grant_id = self._by_refresh.get(refresh_token)
            grant = self.grants.get(grant_id) if grant_id is not None else None
            if grant is None or grant.client_id != client.client_id or grant.revoked:
                raise OAuthError("invalid_grant")
            current = refresh_token == grant.refresh_token
            in_grace = (
                refresh_token == grant.previous_refresh_token and now < grant.previous_valid_until
            )
            if not (current or in_grace) or grant.refresh_expires_at < now:
                raise OAuthError("invalid_grant")
            if current:
                grant.previous_refresh_token = grant.refresh_token
                grant.previous_valid_until = now + self.refresh_grace_seconds
            grant.refresh_token = self._new_refresh_token(grant)
            grant.refresh_expires_at = now + self.refresh_token_ttl
            grant.refresh_count += 1
            for token in [t for t, a in self.access_tokens.items() if a.grant_id == grant.id]:
                del self.access_tokens[token]
            return self._token_answer(grant)

    def revoke(self, client: Client, token: str | None) -> None:
        """``/connect/revocation``: ends the grant and removes the user's connections."""
        if not token:
            raise OAuthError("invalid_request", description="token is required")
        with self.lock:
            grant_id = self._by_refresh.get(token)
            grant = self.grants.get(grant_id) if grant_id is not None else None
            if grant is None or grant.client_id != client.client_id:
                return  # RFC 7009: an unknown token is not an error
            self._end_grant(grant)
            self.connections.pop((grant.user, grant.client_id), None)

    # -- API access -------------------------------------------------------------------------

    def check_access_token(self, token: str | None) -> tuple[Grant | None, str]:
        """(the grant, "") or (None, the 401's Detail)."""
        if not token:
            return None, "AuthenticationUnsuccessful"
        with self.lock:
            access = self.access_tokens.get(token)
            if access is None:
                return None, "AuthenticationUnsuccessful"
            grant = self.grants.get(access.grant_id)
            if grant is None or grant.revoked:
                return None, "AuthenticationUnsuccessful"
            if access.expires_at <= time.time():
                when = datetime.fromtimestamp(access.expires_at, tz=UTC)
                return None, f"TokenExpired: token expired at {when:%m/%d/%Y %H:%M:%S}"
            return grant, ""

    def connections_of(self, grant: Grant) -> list[Connection]:
        with self.lock:
            return list(self.connections.get((grant.user, grant.client_id), {}).values())

    def reaches(self, grant: Grant, tenant_id: str) -> bool:
        with self.lock:
            return tenant_id in self.connections.get((grant.user, grant.client_id), {})

    def delete_connection(self, grant: Grant, connection_id: str) -> bool:
        with self.lock:
            mine = self.connections.get((grant.user, grant.client_id), {})
            for tenant_id, connection in list(mine.items()):
                if connection.id == connection_id:
                    del mine[tenant_id]
                    return True
            return False

    # -- control ----------------------------------------------------------------------------

    def issue_tokens(
        self,
        client_id: str,
        tenant_ids: tuple[str, ...],
        names: dict[str, str],
        scope: str,
        user: str = DEMO_USER_EMAIL,
    ) -> dict[str, Any]:
        with self.lock:
            if client_id not in self.clients:
                raise KeyError(f"unknown client {client_id}")
            grant = self._new_grant(client_id, user, scope)
            self._connect(grant, tenant_ids, names)
            return self._token_answer(grant)

    def expire_access_tokens(self) -> int:
        with self.lock:
            now = time.time()
            for access in self.access_tokens.values():
                access.expires_at = min(access.expires_at, now - 1)
            return len(self.access_tokens)

    def expire_refresh_tokens(self) -> int:
        with self.lock:
            for grant in self.grants.values():
                grant.refresh_expires_at = 0.0
                grant.previous_valid_until = 0.0
            return len(self.grants)

    def revoke_all(self) -> int:
        with self.lock:
            live = [g for g in self.grants.values() if not g.revoked]
            for grant in live:
                self._end_grant(grant)
            self.connections.clear()
            return len(live)

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
                        "user": g.user,
                        "scope": g.scope,
                        "revoked": g.revoked,
                        "refresh_count": g.refresh_count,
                    }
                    for g in self.grants.values()
                ],
                "connections": [
                    {"user": user, "client_id": client, **c.to_json()}
                    for (user, client), by_tenant in self.connections.items()
                    for c in by_tenant.values()
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
            "auto_approve_tenants": list(self.auto_approve_tenants),
            "auto_approve_user": self.auto_approve_user,
        }

    def reset(self) -> None:
        with self.lock:
            self.codes.clear()
            self.grants.clear()
            self.access_tokens.clear()
            self.connections.clear()
            self._by_refresh.clear()
            self.access_token_ttl = ACCESS_TOKEN_TTL
            self.refresh_token_ttl = REFRESH_TOKEN_TTL
            self.code_ttl = CODE_TTL
            self.refresh_grace_seconds = 0.0
            self.auto_approve = False
            self.auto_approve_tenants = ()
            self.auto_approve_user = DEMO_USER_EMAIL

    # -- internals --------------------------------------------------------------------------

    def _new_grant(self, client_id: str, user: str, scope: str) -> Grant:
        grant = Grant(
            id=self._next_grant,
            client_id=client_id,
            user=user,
            scope=scope,
            refresh_token="",
            refresh_expires_at=time.time() + self.refresh_token_ttl,
        )
        self._next_grant += 1
        self.grants[grant.id] = grant
        grant.refresh_token = self._new_refresh_token(grant)
        return grant

    def _connect(self, grant: Grant, tenant_ids: tuple[str, ...], names: dict[str, str]) -> None:
        mine = self.connections.setdefault((grant.user, grant.client_id), {})
        event = str(uuid.uuid4())
        now = _utc_text()
        for tenant_id in tenant_ids:
            if tenant_id in mine:
                mine[tenant_id].updated = now
                mine[tenant_id].auth_event_id = event
            else:
                mine[tenant_id] = Connection(
                    str(uuid.uuid4()), event, tenant_id, names.get(tenant_id, ""), now, now
                )

    def _new_refresh_token(self, grant: Grant) -> str:
        token = secrets.token_hex(32)
        self._by_refresh[token] = grant.id
        return token

    def _token_answer(self, grant: Grant) -> dict[str, Any]:
        now = time.time()
        # Xero's access tokens are JWTs of about 1,200 characters.
        token = (
            "eyJhbGciOiJSUzI1NiIsImtpZCI6IjFDQUY4RTY2NzcyRDZEQzAyOEQ2NzI2RkQwMjYxNTgxNTcwRUZDMTkiLCJ0eXAiOiJKV1QifQ."
            + secrets.token_urlsafe(900)
        )
        self.access_tokens[token] = AccessToken(token, grant.id, now + self.access_token_ttl)
        answer: dict[str, Any] = {
            "id_token": "eyJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(200),
            "access_token": token,
            "expires_in": self.access_token_ttl,
            "token_type": "Bearer",
            "scope": grant.scope,
        }
        if "offline_access" in grant.scope.split():
            answer["refresh_token"] = grant.refresh_token
        return answer

    def _end_grant(self, grant: Grant) -> None:
        grant.revoked = True
        for token in [t for t, a in self.access_tokens.items() if a.grant_id == grant.id]:
            del self.access_tokens[token]
