"""ShipStation webhooks as a trigger for an incremental sync.

v1 webhooks are unsigned and carry only ``{"resource_url", "resource_type"}``. Unify never
fetches ``resource_url``: a webhook only makes its connection due for a sync, which reads
ShipStation at the configured API base URL like any other sync. The secret per-connection
token in the callback path says which connection; a ``resource_url`` outside ShipStation's
configured API origin (or over another scheme) marks the notification as forged and it
triggers nothing. Polling stays the safety net for missed or forged-away notifications.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from connections.models import ConnectionStatus, StoreConnection
from sales.models import OPEN_SYNC_STATUSES, SyncKind, SyncRun
from unify.core.exceptions import DomainError, IntegrationError
from unify.tenancy.scoping import org_scope

logger = logging.getLogger(__name__)

EVENTS = ("ORDER_NOTIFY", "SHIP_NOTIFY")
MAX_BODY_BYTES = 4096


def webhook_target_url(connection: StoreConnection) -> str | None:
    base = (getattr(settings, "UNIFY_PUBLIC_BASE_URL", "") or "").rstrip("/")
    if not base:
        return None
    return base + reverse("sales_webhooks:shipstation", kwargs={"token": connection.webhook_token})


def webhooks_subscribe(*, connection: StoreConnection, adapter=None) -> list[str]:
    """Subscribe ORDER_NOTIFY and SHIP_NOTIFY to the connection's secret URL (only when
    ``UNIFY_PUBLIC_BASE_URL`` is set). Idempotent: existing subscriptions to our URL are kept."""
    target = webhook_target_url(connection)
    if target is None:
        return []
    if adapter is None:
        from sales.services.sync import default_adapter_factory

        adapter = default_adapter_factory(connection)
    existing = {(hook.event, hook.target_url): hook.external_id for hook in adapter.list_webhooks()}
    ids: list[str] = []
    for event in EVENTS:
        hook_id = existing.get((event, target))
        if hook_id is None:
            hook_id = adapter.subscribe_webhook(
                target_url=target, event=event, friendly_name=f"Unify: {connection.name}"[:100]
            )
        ids.append(str(hook_id))
    StoreConnection.objects.filter(pk=connection.pk).update(webhook_ids=ids)
    connection.webhook_ids = ids
    return ids


def webhooks_unsubscribe(*, connection: StoreConnection, adapter=None) -> None:
    """Remove our subscriptions (call before the credentials are wiped on disconnect).
    Best effort: a failure is logged, the ids are forgotten either way."""
    ids = [str(i) for i in (connection.webhook_ids or [])]
    if ids and connection.credentials is not None:
        try:
            if adapter is None:
                from sales.services.sync import default_adapter_factory

                adapter = default_adapter_factory(connection)
            for hook_id in ids:
                adapter.unsubscribe_webhook(hook_id)
        except (IntegrationError, ValueError) as exc:
            logger.warning("connection %s: could not remove webhooks: %s", connection.pk, exc)
    StoreConnection.objects.filter(pk=connection.pk).update(webhook_ids=[])
    connection.webhook_ids = []


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    status: int  # HTTP status for ShipStation
    run_id: int | None = None
    reason: str = ""


def webhook_receive(*, token: str, body: bytes) -> WebhookOutcome:
    """Handle one POST to ``/webhooks/shipstation/<token>/``."""
    from connections.sources.shipstation.adapter import is_trusted_resource_url

    connection = (
        StoreConnection.all_orgs.filter(webhook_token=token).select_related("organization").first()
        if token
        else None
    )
    if connection is None:
        return WebhookOutcome(404, reason="unknown token")
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return WebhookOutcome(400, reason="body is not JSON")
    if not isinstance(payload, dict):
        return WebhookOutcome(400, reason="body is not an object")
    resource_url = payload.get("resource_url")
    resource_type = payload.get("resource_type")
    if not isinstance(resource_url, str) or not isinstance(resource_type, str):
        return WebhookOutcome(400, reason="resource_url or resource_type missing")
    if not is_trusted_resource_url(resource_url, api_base_url=settings.SHIPSTATION_API_BASE_URL):
        logger.warning(
            "connection %s: webhook with a resource_url outside ShipStation ignored",
            connection.pk,
        )
        return WebhookOutcome(400, reason="resource_url is not ShipStation's")
    if connection.status != ConnectionStatus.ACTIVE:
        return WebhookOutcome(200, reason="connection not active")
    with org_scope(connection.organization_id), transaction.atomic():
        now = timezone.now()
        # Due now: if a run is in progress its window may end before this change, so the
        # fan-out starts another one after it.
        StoreConnection.objects.filter(pk=connection.pk).update(next_sync_at=now)
        if SyncRun.objects.filter(
            connection_id=connection.pk, status__in=OPEN_SYNC_STATUSES
        ).exists():
            return WebhookOutcome(202, reason="a sync is already running")
        from sales.services.sync import sync_request

        try:
            run = sync_request(
                organization=connection.organization, connection=connection, kind=SyncKind.WEBHOOK
            )
        except DomainError as exc:
            return WebhookOutcome(200, reason=str(exc))
    return WebhookOutcome(202, run_id=run.pk)
