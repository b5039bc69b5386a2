from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from django.db import models

from unify.core.models import AuditEvent

if TYPE_CHECKING:
    from django.http import HttpRequest

    from unify.tenancy.models import Organization


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address as allauth's rate limits see it (honours TRUSTED_PROXY_COUNT)."""
    if request is None:
        return None
    from allauth.account.adapter import get_adapter

    try:
        ip = get_adapter(request).get_client_ip(request)
    except Exception:  # noqa: BLE001 - an odd or missing header must not lose the audit event
        ip = request.META.get("REMOTE_ADDR")
    try:
        return str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        return None


def audit_record(
    *,
    action: str,
    organization: Organization | None = None,
    organization_id: int | None = None,
    actor: Any = None,
    target: models.Model | str = "",
    metadata: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Record one audit event. ``metadata`` must never contain secrets."""
    if isinstance(target, models.Model):
        target = f"{target._meta.label_lower}:{target.pk}"
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        organization_id=organization.pk if organization is not None else organization_id,
        actor=actor,
        action=action,
        target=str(target)[:200],
        metadata=metadata or {},
        ip=client_ip(request),
    )


def audit_events_for(*, organization: Organization, limit: int = 100) -> models.QuerySet:
    return AuditEvent.objects.filter(organization=organization).select_related("actor")[:limit]
