"""A source's webhooks as a trigger for an incremental sync.

One route for every source, ``/webhooks/<provider>/<token>/``: the secret per-connection token
in the path says which connection, and the source's provider judges the body
(``SourceProvider.webhook_read``; each source's rules live in its own package). Unify never
fetches what a webhook points at: a webhook only makes its connection due for a sync, which
reads the source like any other sync. A body the provider refuses (forged, malformed)
triggers nothing. Polling stays the safety net for missed or forged-away notifications.

A flood of notifications costs at most two syncs per debounce window
(``SALES_WEBHOOK_DEBOUNCE_SECONDS``): the first one starts a sync at once when none is open;
every later one until the window ends, or while a sync is open, is covered by one follow-up
sync queued for the end of the window (at most one per connection). Each token may post
``SALES_WEBHOOK_RATE_LIMIT_PER_MINUTE`` times a minute; beyond that the answer is 429.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse

from connections.models import ConnectionStatus, StoreConnection
from connections.sources.registry import UnknownSourceProvider, source_provider
from sales.models import OPEN_SYNC_STATUSES, SyncKind, SyncRun
from unify.core.exceptions import DomainError, IntegrationError
from unify.core.ratelimit import Budget, default_backend
from unify.tenancy.scoping import org_scope

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 4096
# A follow-up that finds a sync still open waits another window, this many times at most
# (then polling takes over).
FOLLOWUP_MAX_WAITS = 30


def webhook_target_url(connection: StoreConnection) -> str | None:
    base = (getattr(settings, "UNIFY_PUBLIC_BASE_URL", "") or "").rstrip("/")
    if not base:
        return None
    return base + reverse(
        "sales_webhooks:receive",
        kwargs={"provider": connection.provider, "token": connection.webhook_token},
    )


def webhooks_subscribe(*, connection: StoreConnection, adapter=None) -> list[str]:
    """Subscribe the source's events (``SourceProvider.webhook_events``) to the connection's
    secret URL (only when ``UNIFY_PUBLIC_BASE_URL`` is set). Idempotent: existing
    subscriptions to our URL are kept."""
    target = webhook_target_url(connection)
    events = source_provider(connection.provider).webhook_events
    if target is None or not events:
        return []
    if adapter is None:
        from sales.services.sync import default_adapter_factory

        adapter = default_adapter_factory(connection)
    existing = {(hook.event, hook.target_url): hook.external_id for hook in adapter.list_webhooks()}
    ids: list[str] = []
    for event in events:
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
    status: int  # HTTP status for the source
    run_id: int | None = None
    reason: str = ""
    retry_after: int = 0  # seconds, with a 429


def _debounce_seconds() -> float:
    return max(0.0, float(getattr(settings, "SALES_WEBHOOK_DEBOUNCE_SECONDS", 60.0)))


def _token_digest(token: str) -> str:
    # Keys in Redis name the token by digest: whoever reads the cache must not learn it.
    return hashlib.sha256(token.encode()).hexdigest()[:24]


def _rate_limit_wait(provider: str, token: str) -> float:
    """0 when this token may post now, else the seconds until it may (per-token budget)."""
    limit = int(getattr(settings, "SALES_WEBHOOK_RATE_LIMIT_PER_MINUTE", 60))
    if limit <= 0:
        return 0.0
    return default_backend().try_acquire(
        f"webhook:{provider}:{_token_digest(token)}", Budget(limit, 60.0)
    )


def _coalesce_keys(connection: StoreConnection) -> tuple[str, str]:
    base = (
        f"sales:webhook:{connection.organization_id}:{connection.pk}:"
        f"{_token_digest(connection.webhook_token)}"
    )
    return f"{base}:window", f"{base}:followup"


def webhook_receive(*, provider: str, token: str, body: bytes) -> WebhookOutcome:
    """Handle one POST to ``/webhooks/<provider>/<token>/``."""
    try:
        source = source_provider(provider)
    except UnknownSourceProvider:
        source = None
    if source is None or not source.webhook_events:
        return WebhookOutcome(404, reason="unknown token")
    wait = _rate_limit_wait(source.key, token) if token else 0.0
    if wait > 0:
        return WebhookOutcome(429, reason="too many notifications", retry_after=int(wait) + 1)
    connection = None
    if token:
        from unify.tenancy.rls import rls_bypass

        with rls_bypass("webhook-token"):  # the token names the organization
            connection = (
                StoreConnection.all_orgs.filter(provider=source.key, webhook_token=token)
                .select_related("organization")
                .first()
            )
    if connection is None:
        return WebhookOutcome(404, reason="unknown token")
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return WebhookOutcome(400, reason="body is not JSON")
    reading = source.webhook_read(payload)
    if not reading.accepted:
        logger.warning(
            "connection %s: webhook refused by %s: %s", connection.pk, source.key, reading.reason
        )
        return WebhookOutcome(400, reason=reading.reason)
    if connection.status != ConnectionStatus.ACTIVE:
        return WebhookOutcome(200, reason="connection not active")
    return webhook_sync_coalesce(connection=connection)


def webhook_sync_coalesce(*, connection: StoreConnection) -> WebhookOutcome:
    """Start a sync now, or make sure one follow-up sync is queued for the end of the
    debounce window (see the module's docstring)."""
    window_key, followup_key = _coalesce_keys(connection)
    debounce = _debounce_seconds()
    with org_scope(connection.organization_id):
        running = SyncRun.objects.filter(
            connection_id=connection.pk, status__in=OPEN_SYNC_STATUSES
        ).exists()
        if not running and (debounce == 0 or cache.add(window_key, time.time(), debounce)):
            from sales.services.sync import sync_request

            try:
                run = sync_request(
                    organization=connection.organization,
                    connection=connection,
                    kind=SyncKind.WEBHOOK,
                )
            except DomainError as exc:
                return WebhookOutcome(200, reason=str(exc))
            return WebhookOutcome(202, run_id=run.pk)
    # A sync is open (it may have read its window before this change) or one started less
    # than a window ago: one follow-up at the window's end covers every notification until
    # then. The key outlives the countdown a little, so a lost message is not waited for long.
    if not cache.add(followup_key, 1, debounce + 60):
        return WebhookOutcome(202, reason="a sync is already queued")
    started = cache.get(window_key)
    elapsed = time.time() - float(started) if started else 0.0
    _queue_followup(connection, countdown=max(1.0, debounce - elapsed), waits=0)
    return WebhookOutcome(202, reason="a sync is queued")


def _queue_followup(connection: StoreConnection, *, countdown: float, waits: int) -> None:
    from sales.tasks import _queue, webhook_followup_task

    kwargs = {
        "organization_id": connection.organization_id,
        "connection_id": connection.pk,
        "waits": waits,
    }
    transaction.on_commit(
        lambda: webhook_followup_task.apply_async(
            kwargs=kwargs, countdown=countdown, queue=_queue()
        )
    )


def webhook_followup(*, organization_id: int, connection_id: int, waits: int) -> int | None:
    """The follow-up sync of a burst of notifications (called inside the org scope). Returns
    the id of the run it started, or None (connection gone or inactive, or a sync still
    open: then it waits another window)."""
    connection = (
        StoreConnection.objects.filter(pk=connection_id, organization_id=organization_id)
        .select_related("organization")
        .first()
    )
    if connection is None or connection.status != ConnectionStatus.ACTIVE:
        return None
    window_key, followup_key = _coalesce_keys(connection)
    debounce = _debounce_seconds()
    if SyncRun.objects.filter(connection_id=connection.pk, status__in=OPEN_SYNC_STATUSES).exists():
        if waits < FOLLOWUP_MAX_WAITS:
            cache.set(followup_key, 1, debounce + 60)
            _queue_followup(connection, countdown=max(1.0, debounce), waits=waits + 1)
        else:
            cache.delete(followup_key)
        return None
    # This run opens a new window; notifications from now on queue the next follow-up.
    if debounce:
        cache.set(window_key, time.time(), debounce)
    cache.delete(followup_key)
    from sales.services.sync import sync_request

    try:
        run = sync_request(
            organization=connection.organization, connection=connection, kind=SyncKind.WEBHOOK
        )
    except DomainError:
        return None
    return run.pk
