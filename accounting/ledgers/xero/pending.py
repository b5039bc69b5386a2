"""A Xero login that reached several organisations, while its user picks one.

The tokens wait in the cache (Redis; a file cache on the embedded default), encrypted with
``UNIFY_ENCRYPTION_KEYS``, for 15 minutes under a random key; the session holds only that key,
the organization and the user. Picking consumes the entry (one use only).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.views.decorators.debug import sensitive_variables

from accounting.ledgers.base import OAuthTokens
from unify.core import crypto
from unify.core.exceptions import DecryptionError

SESSION_KEY = "xero_pending_organisations"
TTL_SECONDS = 15 * 60


@dataclass(frozen=True, slots=True)
class Tenant:
    tenant_id: str
    name: str
    connection_id: str = ""


@dataclass(frozen=True, slots=True)
class PendingChoice:
    organization_id: int
    user_id: int
    tokens: OAuthTokens
    tenants: tuple[Tenant, ...]

    def __repr__(self) -> str:
        return f"PendingChoice(organization_id={self.organization_id}, tenants={len(self.tenants)})"


def _cache_key(nonce: str) -> str:
    return f"xero:pending-choice:{nonce}"


@sensitive_variables()
def pending_store(*, session: Any, choice: PendingChoice) -> None:
    nonce = secrets.token_urlsafe(24)
    data = {
        "access_token": choice.tokens.access_token,
        "refresh_token": choice.tokens.refresh_token,
        "access_expires_at": choice.tokens.access_expires_at.isoformat()
        if choice.tokens.access_expires_at
        else None,
        "tenants": [[t.tenant_id, t.name, t.connection_id] for t in choice.tenants],
    }
    cache.set(_cache_key(nonce), crypto.encrypt(json.dumps(data)), timeout=TTL_SECONDS)
    previous = session.get(SESSION_KEY)
    if previous:
        cache.delete(_cache_key(previous.get("nonce", "")))
    session[SESSION_KEY] = {
        "nonce": nonce,
        "organization_id": choice.organization_id,
        "user_id": choice.user_id,
    }


@sensitive_variables()
def pending_read(*, session: Any, organization_id: int, user_id: int, consume: bool):
    """The choice waiting for this organization and user, or None (none, expired, another
    organization's, another user's)."""
    meta = session.get(SESSION_KEY)
    if not meta or meta.get("organization_id") != organization_id or meta.get("user_id") != user_id:
        return None
    key = _cache_key(str(meta.get("nonce", "")))
    stored = cache.get(key)
    if consume:
        cache.delete(key)
        session.pop(SESSION_KEY, None)
    if not stored:
        return None
    try:
        data = json.loads(crypto.decrypt(stored))
    except (DecryptionError, ValueError):
        return None
    expires = data.get("access_expires_at")
    return PendingChoice(
        organization_id=organization_id,
        user_id=user_id,
        tokens=OAuthTokens(
            access_token=data["access_token"],
            refresh_token=data["refresh_token"],
            access_expires_at=datetime.fromisoformat(expires) if expires else None,
        ),
        tenants=tuple(Tenant(*row) for row in data["tenants"]),
    )
