"""A connection's life after Connect: the source stops accepting its credentials, or the
merchant disconnects it (credentials deleted, imported data kept)."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from connections import signals
from connections.models import ConnectionStatus, StoreConnection
from connections.services.credentials import VERIFY_MAX_WAIT_SECONDS
from connections.sources.registry import source_provider
from unify.core.audit import audit_record
from unify.core.exceptions import IntegrationError, ProviderAuthError
from unify.notifications import events as notification_events

logger = logging.getLogger(__name__)


def connection_mark_needs_credentials(
    *, connection: StoreConnection, message: str = "", metadata: dict | None = None
) -> bool:
    """The source rejected the stored credentials (expired or revoked): stop syncing (only
    active connections are scheduled) and record it. Returns False when the connection was not
    active (already flagged or disconnected), so callers tell the owners only once."""
    # The banner around it says that syncing is paused and links to "Enter new keys".
    message = message or source_provider(connection.provider).needs_credentials_message()
    updated = (
        StoreConnection.objects.for_org(connection.organization_id)
        .filter(pk=connection.pk, status=ConnectionStatus.ACTIVE)
        .update(
            status=ConnectionStatus.NEEDS_CREDENTIALS,
            status_message=message,
            next_sync_at=None,
            updated_at=timezone.now(),
        )
    )
    if updated:
        audit_record(
            action="connection.needs_credentials",
            organization_id=connection.organization_id,
            target=connection,
            metadata={"key_hint": connection.credentials_hint, **(metadata or {})},
        )
    connection.refresh_from_db()
    if updated:
        notification_events.keys_expired(connection)
    return bool(updated)


@sensitive_variables()
def connection_disconnect(
    *, connection: StoreConnection, actor: Any, request: Any = None
) -> StoreConnection:
    """Delete the credentials and stop syncing; imported orders and costs stay."""
    if connection.status == ConnectionStatus.DISABLED:
        return connection
    # While the keys are still readable: remove our webhook subscriptions at the source and
    # let the import stop. The source being down must not keep the merchant connected.
    try:
        _unsubscribe_webhooks(connection)
        signals.connection_disconnecting.send(StoreConnection, connection=connection, actor=actor)
    except IntegrationError as exc:
        logger.warning("connection %s: cleanup at disconnect failed: %s", connection.pk, exc)
    with transaction.atomic():
        locked = (
            StoreConnection.objects.for_org(connection.organization_id)
            .select_for_update()
            .get(pk=connection.pk)
        )
        hint = locked.credentials_hint
        locked.credentials = None
        locked.status = ConnectionStatus.DISABLED
        locked.status_message = ""
        locked.disconnected_at = timezone.now()
        locked.next_sync_at = None
        locked.webhook_ids = []
        # Old webhook URLs stop working: their token is in the path.
        locked.webhook_token = secrets.token_urlsafe(24)
        locked.save()
        audit_record(
            action="connection.disconnected",
            organization=connection.organization,
            actor=actor,
            target=locked,
            metadata={"key_hint": hint},
            request=request,
        )
    connection.refresh_from_db()
    return connection


@sensitive_variables()
def _unsubscribe_webhooks(connection: StoreConnection) -> None:
    if not connection.webhook_ids or connection.credentials is None:
        return
    source = source_provider(connection.provider)
    adapter = source.adapter(
        connection.credentials.reveal(),
        connection_id=connection.pk,
        rate_limiter=source.rate_limiter(max_wait_seconds=VERIFY_MAX_WAIT_SECONDS),
    )
    for webhook_id in list(connection.webhook_ids):
        try:
            adapter.unsubscribe_webhook(str(webhook_id))
        except ProviderAuthError:
            return  # credentials no longer work: the source stops delivering to them anyway
        except ValueError:
            continue
