"""What the import does when a connection changes (receivers of ``connections.signals``,
connected in ``sales/apps.py``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from connections.models import ConnectionStatus, StoreConnection
from sales.models import OPEN_SYNC_STATUSES, SyncKind, SyncRun, SyncStatus
from sales.services.sync import sync_request
from unify.core.exceptions import DomainError
from unify.core.stored_text import gettext as _
from unify.tenancy.scoping import org_scope

logger = logging.getLogger(__name__)

# Settings that change which orders belong in Unify: the next sync re-reads the whole window
# from the start date (unchanged orders cost nothing) instead of only what changed since.
RESCAN_SETTINGS = frozenset({"import_start_date", "order_statuses", "stores"})


def _queue_webhook_subscription(connection: StoreConnection) -> None:
    from sales.tasks import _queue, webhooks_subscribe_task

    kwargs = {"organization_id": connection.organization_id, "connection_id": connection.pk}
    transaction.on_commit(
        lambda: webhooks_subscribe_task.apply_async(kwargs=kwargs, queue=_queue())
    )


def _start(connection: StoreConnection, actor: Any, kind: str) -> None:
    if connection.status != ConnectionStatus.ACTIVE:
        return
    try:
        with org_scope(connection.organization_id):
            sync_request(
                organization=connection.organization,
                connection=connection,
                kind=kind,
                requested_by=actor,
            )
    except DomainError as exc:
        logger.info("connection %s: no sync started: %s", connection.pk, exc)


def connection_on_connected(
    sender: Any = None, *, connection: StoreConnection, actor: Any = None, **_signal: Any
) -> None:
    """Right after Connect Store (inside its transaction): the first import is queued and
    starts once the connection is committed; webhooks are subscribed when configured."""
    _start(connection, actor, SyncKind.INITIAL)
    _queue_webhook_subscription(connection)


def connection_on_credentials_updated(
    sender: Any = None, *, connection: StoreConnection, actor: Any = None, **_signal: Any
) -> None:
    """New keys: continue importing from where the last good sync stopped."""
    _start(connection, actor, SyncKind.MANUAL)
    _queue_webhook_subscription(connection)


def connection_on_disconnecting(
    sender: Any = None, *, connection: StoreConnection, actor: Any = None, **_signal: Any
) -> None:
    """Stop the connection's open run (its worker notices at its next page and stops)."""
    SyncRun.objects.for_org(connection.organization_id).filter(
        connection_id=connection.pk,
        status__in=OPEN_SYNC_STATUSES,
    ).update(
        status=SyncStatus.FAILED,
        finished_at=timezone.now(),
        error=_("Stopped: the connection was disconnected."),
        lease_token="",
        lease_until=None,
    )


def connection_on_settings_changed(
    sender: Any = None,
    *,
    connection: StoreConnection,
    actor: Any = None,
    changed: Iterable[str] = (),
    **_signal: Any,
) -> None:
    if not RESCAN_SETTINGS & set(changed):
        return
    StoreConnection.objects.for_org(connection.organization_id).filter(pk=connection.pk).update(
        orders_watermark=None, shipments_watermark=None, next_sync_at=timezone.now()
    )
    connection.orders_watermark = connection.shipments_watermark = None
    _start(connection, actor, SyncKind.MANUAL)
