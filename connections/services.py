"""Writes for store connections: connect, update keys, disconnect, reconnect, sync settings,
store toggles, order-file uploads. Plan rules are enforced here, not only in forms.

Nothing is saved until ShipStation has accepted the key pair (``GET /stores``); a failure of
any kind leaves the database exactly as it was.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.debug import sensitive_variables

from connections import signals
from connections.models import (
    ConnectionMode,
    ConnectionStatus,
    Provider,
    SourceStore,
    StoreConnection,
)
from connections.shared_keys import connection_keys_shared_warn
from connections.sources.base import SourceAccount, SourceAdapter
from connections.sources.registry import adapter_for
from connections.sources.shipstation.adapter import ORDER_STATUSES
from connections.sources.shipstation.client import api_key_fingerprint
from unify.core.audit import audit_record
from unify.core.exceptions import (
    DomainError,
    IntegrationError,
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
)
from unify.core.ratelimit import shipstation_rate_limiter
from unify.core.secrets import mask_hint
from unify.notifications import events as notification_events
from unify.tenancy.models import Organization
from unify.tenancy.plans import SYNC_INTERVAL_CHOICES_MINUTES

logger = logging.getLogger(__name__)

# A web request waits at most this long for a rate-limit slot before saying "try again".
VERIFY_MAX_WAIT_SECONDS = 5.0


class ConnectionRefused(DomainError):
    """A connection action was refused. ``code`` says why (tests and views branch on it);
    ``field`` names the form field the message belongs to, if any."""

    def __init__(self, code: str, user_message: str, *, field: str | None = None) -> None:
        super().__init__(f"{code}: {user_message}", user_message=user_message)
        self.code = code
        self.field = field


_KEY_CHARACTERS = re.compile(r"[A-Za-z0-9-]+")
KEY_CHARACTERS_MESSAGE = gettext_lazy(
    "API keys contain only letters, digits and dashes; check what you pasted."
)


def key_characters_valid(value: str) -> bool:
    """Only ASCII letters, digits and dashes (what ShipStation issues)."""
    return _KEY_CHARACTERS.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class ShipStationKeys:
    api_key: str
    api_secret: str

    def __repr__(self) -> str:
        return f"ShipStationKeys(api_key={mask_hint(self.api_key)!r}, api_secret='********')"

    __str__ = __repr__

    @classmethod
    @sensitive_variables()
    def cleaned(cls, api_key: str, api_secret: str) -> ShipStationKeys:
        key, secret = (api_key or "").strip(), (api_secret or "").strip()
        if not key or not secret:
            raise ConnectionRefused(
                "missing", _("Enter both the API Key and the API Secret."), field="api_key"
            )
        for name, value in (("api_key", key), ("api_secret", secret)):
            # Basic auth sends the pair as Latin-1: anything else cannot even be sent, and
            # ShipStation's keys are made of letters, digits and dashes only.
            if not key_characters_valid(value):
                raise ConnectionRefused("characters", str(KEY_CHARACTERS_MESSAGE), field=name)
        if len(key) > 200 or len(secret) > 200:
            raise ConnectionRefused(
                "malformed",
                _(
                    "That does not look like a ShipStation API key and secret. Copy them again "
                    "from Settings > Account > API Settings."
                ),
                field="api_key",
            )
        return cls(key, secret)

    def as_credentials(self) -> dict[str, str]:
        return {"api_key": self.api_key, "api_secret": self.api_secret}


# --- plan rules -----------------------------------------------------------------------------


def _counted_connections(organization: Organization):
    # Disconnected connections keep their data but hold no keys and never sync: they do not
    # use up the plan's allowance.
    return StoreConnection.all_orgs.filter(organization=organization).exclude(
        status=ConnectionStatus.DISABLED
    )


def plan_check_new_connection(*, organization: Organization, mode: str) -> None:
    """Raise unless the plan allows one more (non-disconnected) connection in ``mode``."""
    plan = organization.plan_rules
    if mode not in ConnectionMode.values:
        raise ConnectionRefused("mode", _("Choose how Unify should use ShipStation."), field="mode")
    if mode == ConnectionMode.SHIPPING_EXPENSE and not plan.shipping_expense_mode:
        raise ConnectionRefused(
            "plan_mode",
            _(
                "Shipping-expense mode is part of the Pro and Advanced plans. Your %(plan)s "
                "plan connects ShipStation as a sales channel; upgrade to use shipping-expense "
                "mode."
            )
            % {"plan": plan.name},
            field="mode",
        )
    if _counted_connections(organization).count() >= plan.max_store_connections:
        raise ConnectionRefused(
            "plan_limit",
            ngettext(
                "Your %(plan)s plan includes %(limit)s store connection and it is in use. "
                "Disconnect it or upgrade your plan to add another.",
                "Your %(plan)s plan includes %(limit)s store connections and all are in use. "
                "Disconnect one or upgrade your plan to add another.",
                plan.max_store_connections,
            )
            % {"plan": plan.name, "limit": plan.max_store_connections},
        )


# --- verification ---------------------------------------------------------------------------


def _verify_rate_limiter():
    """The shared ShipStation limiter, waiting only briefly (a person is waiting)."""
    return shipstation_rate_limiter(max_wait_seconds=VERIFY_MAX_WAIT_SECONDS)


@sensitive_variables()
def _adapter(
    keys: ShipStationKeys, *, connection_id: int | None = None, rate_limiter: Any = None
) -> SourceAdapter:
    return adapter_for(
        Provider.SHIPSTATION,
        keys.as_credentials(),
        connection_id=connection_id,
        rate_limiter=rate_limiter if rate_limiter is not None else _verify_rate_limiter(),
    )


@sensitive_variables()
def shipstation_verify(keys: ShipStationKeys, *, connection_id: int | None = None) -> SourceAccount:
    """Ask ShipStation whether the pair works; turn every failure into a plain message."""
    try:
        return _adapter(keys, connection_id=connection_id).verify()
    except ProviderAuthError:
        raise ConnectionRefused(
            "rejected",
            _(
                "ShipStation rejected this API key and secret. Copy both again from ShipStation "
                "(Settings > Account > API Settings) and check that the keys have not expired."
            ),
        ) from None
    except ProviderRateLimited as exc:
        seconds = max(1, round(exc.retry_after))
        raise ConnectionRefused(
            "rate_limited",
            _(
                "ShipStation is limiting requests for this API key right now (other apps using "
                "the same key share its limit). Nothing was saved. Try again in about "
                "%(seconds)s seconds."
            )
            % {"seconds": seconds},
        ) from None
    except ProviderRejected as exc:
        raise ConnectionRefused(
            "provider_rejected",
            _("ShipStation refused the request (%(detail)s). Nothing was saved.")
            % {"detail": exc.user_message},
        ) from None
    except IntegrationError as exc:
        logger.warning("ShipStation verification failed: %s", exc)
        raise ConnectionRefused(
            "unavailable",
            _(
                "ShipStation is not answering right now, so the keys could not be checked. "
                "Nothing was saved. Please try again in a few minutes."
            ),
        ) from None


def _duplicate_of(
    organization: Organization, fingerprint: str, *, exclude_pk: int | None = None
) -> StoreConnection | None:
    query = StoreConnection.all_orgs.filter(
        organization=organization,
        provider=Provider.SHIPSTATION,
        credentials_fingerprint=fingerprint,
    )
    if exclude_pk is not None:
        query = query.exclude(pk=exclude_pk)
    return query.first()


def _duplicate_error(existing: StoreConnection) -> ConnectionRefused:
    if existing.status == ConnectionStatus.DISABLED:
        message = _(
            "These ShipStation keys belong to “%(name)s”, which is disconnected. Open it and "
            "click Reconnect instead of adding it again."
        )
    else:
        message = _(
            "These ShipStation keys are already connected as “%(name)s”. Each ShipStation "
            "account is connected once."
        )
    return ConnectionRefused("duplicate", message % {"name": existing.name}, field="api_key")


def _check_same_account(connection: StoreConnection, account: SourceAccount) -> None:
    """New keys for an existing connection must open the same ShipStation account: its
    imported orders are keyed by that account's ids."""
    known = set(
        SourceStore.all_orgs.filter(
            organization_id=connection.organization_id, connection=connection
        ).values_list("external_id", flat=True)
    )
    if known and not known & {store.external_id for store in account.stores}:
        raise ConnectionRefused(
            "other_account",
            _(
                "These keys open a different ShipStation account (none of its stores match "
                "this connection's). Use Add Store to connect that account separately."
            ),
            field="api_key",
        )


def _sync_stores(connection: StoreConnection, account: SourceAccount) -> None:
    existing = {
        store.external_id: store
        for store in SourceStore.all_orgs.filter(
            organization_id=connection.organization_id, connection=connection
        )
    }
    for source in account.stores:
        store = existing.get(source.external_id)
        if store is None:
            SourceStore.all_orgs.create(
                organization_id=connection.organization_id,
                connection=connection,
                external_id=source.external_id,
                name=source.name[:200],
                marketplace_id=source.marketplace_id,
                marketplace_name=source.marketplace_name[:100],
                active=source.active,
                # Inactive stores send no new orders; leave them out unless the merchant asks.
                included=source.active,
            )
            continue
        store.name = source.name[:200]
        store.marketplace_id = source.marketplace_id
        store.marketplace_name = source.marketplace_name[:100]
        store.active = source.active
        store.save(
            update_fields=["name", "marketplace_id", "marketplace_name", "active", "updated_at"]
        )


@sensitive_variables()
def _store_keys(connection: StoreConnection, keys: ShipStationKeys, fingerprint: str) -> None:
    connection.credentials = keys.as_credentials()
    connection.credentials_hint = mask_hint(keys.api_key)
    connection.credentials_fingerprint = fingerprint
    connection.status = ConnectionStatus.ACTIVE
    connection.status_message = ""
    connection.last_verified_at = timezone.now()


# --- connect --------------------------------------------------------------------------------


@sensitive_variables()
def connection_create_shipstation(
    *,
    organization: Organization,
    actor: Any,
    api_key: str,
    api_secret: str,
    name: str = "",
    mode: str = ConnectionMode.SALES_CHANNEL,
    request: Any = None,
) -> StoreConnection:
    keys = ShipStationKeys.cleaned(api_key, api_secret)
    plan_check_new_connection(organization=organization, mode=mode)
    fingerprint = api_key_fingerprint(keys.api_key)
    existing = _duplicate_of(organization, fingerprint)
    if existing is not None:
        raise _duplicate_error(existing)
    account = shipstation_verify(keys)
    display_name = (name or "").strip()[:120] or _("ShipStation")
    try:
        with transaction.atomic():
            # Re-checked under the transaction: two tabs submitting at once must not both
            # slip under the plan limit. The organization row serialises them.
            Organization.objects.select_for_update().filter(pk=organization.pk).first()
            plan_check_new_connection(organization=organization, mode=mode)
            connection = StoreConnection(
                organization=organization,
                provider=Provider.SHIPSTATION,
                name=display_name,
                mode=mode,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
            _store_keys(connection, keys, fingerprint)
            connection.save()
            _sync_stores(connection, account)
            audit_record(
                action="connection.created",
                organization=organization,
                actor=actor,
                target=connection,
                metadata={
                    "provider": connection.provider,
                    "mode": connection.mode,
                    "name": connection.name,
                    "key_hint": connection.credentials_hint,
                    "stores": len(account.stores),
                },
                request=request,
            )
            signals.connection_connected.send(StoreConnection, connection=connection, actor=actor)
            connection_keys_shared_warn(connection=connection, actor=actor, request=request)
    except IntegrityError:
        existing = _duplicate_of(organization, fingerprint)
        if existing is not None:
            raise _duplicate_error(existing) from None
        raise
    return connection


# --- keys -----------------------------------------------------------------------------------


@sensitive_variables()
def _replace_keys(
    *,
    connection: StoreConnection,
    actor: Any,
    api_key: str,
    api_secret: str,
    action: str,
    request: Any,
    extra_checks=None,
) -> StoreConnection:
    keys = ShipStationKeys.cleaned(api_key, api_secret)
    fingerprint = api_key_fingerprint(keys.api_key)
    existing = _duplicate_of(connection.organization, fingerprint, exclude_pk=connection.pk)
    if existing is not None:
        raise _duplicate_error(existing)
    account = shipstation_verify(keys, connection_id=connection.pk)
    _check_same_account(connection, account)
    previous_hint = connection.credentials_hint
    try:
        with transaction.atomic():
            locked = StoreConnection.all_orgs.select_for_update().get(
                pk=connection.pk, organization_id=connection.organization_id
            )
            if extra_checks is not None:
                extra_checks(locked)
            _store_keys(locked, keys, fingerprint)
            locked.disconnected_at = None
            locked.save()
            _sync_stores(locked, account)
            audit_record(
                action=action,
                organization=connection.organization,
                actor=actor,
                target=locked,
                metadata={"previous_key_hint": previous_hint, "key_hint": locked.credentials_hint},
                request=request,
            )
            signals.connection_credentials_updated.send(
                StoreConnection, connection=locked, actor=actor
            )
            connection_keys_shared_warn(connection=locked, actor=actor, request=request)
    except IntegrityError:
        existing = _duplicate_of(connection.organization, fingerprint, exclude_pk=connection.pk)
        if existing is not None:
            raise _duplicate_error(existing) from None
        raise
    connection.refresh_from_db()
    return connection


@sensitive_variables()
def connection_update_credentials(
    *,
    connection: StoreConnection,
    actor: Any,
    api_key: str,
    api_secret: str,
    request: Any = None,
) -> StoreConnection:
    """New keys for a connected (or "needs new keys") connection, verified before saving."""
    if connection.status == ConnectionStatus.DISABLED:
        raise ConnectionRefused(
            "disconnected", _("This connection is disconnected. Use Reconnect to connect it again.")
        )

    def still_connected(locked: StoreConnection) -> None:
        if locked.status == ConnectionStatus.DISABLED:
            raise ConnectionRefused(
                "disconnected",
                _("This connection was disconnected meanwhile. Use Reconnect instead."),
            )

    return _replace_keys(
        connection=connection,
        actor=actor,
        api_key=api_key,
        api_secret=api_secret,
        action="connection.credentials_updated",
        request=request,
        extra_checks=still_connected,
    )


@sensitive_variables()
def connection_reconnect(
    *,
    connection: StoreConnection,
    actor: Any,
    api_key: str,
    api_secret: str,
    request: Any = None,
) -> StoreConnection:
    """Connect a disconnected connection again (new keys needed: disconnect deleted them).
    Its earlier imports are kept; the plan must have room for it in its mode."""
    if connection.status != ConnectionStatus.DISABLED:
        raise ConnectionRefused("not_disconnected", _("This connection is already connected."))
    organization = connection.organization
    plan_check_new_connection(organization=organization, mode=connection.mode)

    def plan_still_allows(locked: StoreConnection) -> None:
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        if locked.status != ConnectionStatus.DISABLED:
            raise ConnectionRefused("not_disconnected", _("This connection is already connected."))
        plan_check_new_connection(organization=organization, mode=locked.mode)

    return _replace_keys(
        connection=connection,
        actor=actor,
        api_key=api_key,
        api_secret=api_secret,
        action="connection.reconnected",
        request=request,
        extra_checks=plan_still_allows,
    )


def connection_mark_needs_credentials(
    *, connection: StoreConnection, message: str = "", metadata: dict | None = None
) -> bool:
    """ShipStation rejected the stored keys (expired or revoked): stop syncing (only active
    connections are scheduled) and record it. Returns False when the connection was not active
    (already flagged or disconnected), so callers tell the owners only once."""
    # The banner around it says that syncing is paused and links to "Enter new keys".
    message = message or _(
        "ShipStation no longer accepts this connection's API Key and API Secret: they may "
        "have expired or been regenerated."
    )
    updated = StoreConnection.all_orgs.filter(
        pk=connection.pk, organization_id=connection.organization_id, status=ConnectionStatus.ACTIVE
    ).update(
        status=ConnectionStatus.NEEDS_CREDENTIALS,
        status_message=message,
        next_sync_at=None,
        updated_at=timezone.now(),
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
    # While the keys are still readable: remove our webhook subscriptions in ShipStation and
    # let the import stop. ShipStation being down must not keep the merchant connected.
    try:
        _unsubscribe_webhooks(connection)
        signals.connection_disconnecting.send(StoreConnection, connection=connection, actor=actor)
    except IntegrationError as exc:
        logger.warning("connection %s: cleanup at disconnect failed: %s", connection.pk, exc)
    with transaction.atomic():
        locked = StoreConnection.all_orgs.select_for_update().get(
            pk=connection.pk, organization_id=connection.organization_id
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
    adapter = adapter_for(
        connection.provider,
        connection.credentials.reveal(),
        connection_id=connection.pk,
        rate_limiter=_verify_rate_limiter(),
    )
    for webhook_id in list(connection.webhook_ids):
        try:
            adapter.unsubscribe_webhook(str(webhook_id))
        except ProviderAuthError:
            return  # keys no longer work: ShipStation stops delivering to them anyway
        except ValueError:
            continue


# --- settings -------------------------------------------------------------------------------


def connection_update_settings(
    *,
    connection: StoreConnection,
    actor: Any,
    import_start_date: date,
    order_statuses: Sequence[str],
    sync_interval_minutes: int,
    auto_sync_enabled: bool,
    pull_label_costs: bool,
    name: str | None = None,
    included_store_ids: Iterable[int] | None = None,
    request: Any = None,
) -> list[str]:
    """Save sync settings; returns the names of the fields that changed."""
    organization = connection.organization
    statuses = list(dict.fromkeys(order_statuses))
    if not statuses or set(statuses) - set(ORDER_STATUSES):
        raise ConnectionRefused(
            "statuses", _("Choose at least one order status to import."), field="order_statuses"
        )
    today = timezone.now().astimezone(organization.tzinfo).date()
    if import_start_date > today:
        raise ConnectionRefused(
            "start_date", _("The start date cannot be in the future."), field="import_start_date"
        )
    if import_start_date < today - timedelta(days=5 * 366):
        raise ConnectionRefused(
            "start_date",
            _("Unify imports at most the last five years."),
            field="import_start_date",
        )
    if sync_interval_minutes not in SYNC_INTERVAL_CHOICES_MINUTES:
        raise ConnectionRefused(
            "interval", _("Choose one of the offered intervals."), field="sync_interval_minutes"
        )
    plan = organization.plan_rules
    if not plan.allows_sync_interval(sync_interval_minutes):
        raise ConnectionRefused(
            "plan_interval",
            _(
                "Your %(plan)s plan syncs at most every %(minutes)s minutes. Choose a longer "
                "interval or upgrade."
            )
            % {"plan": plan.name, "minutes": plan.min_sync_interval_minutes},
            field="sync_interval_minutes",
        )
    new_values: dict[str, Any] = {
        "import_start_date": import_start_date,
        "order_statuses": statuses,
        "sync_interval_minutes": sync_interval_minutes,
        "auto_sync_enabled": auto_sync_enabled,
        "pull_label_costs": pull_label_costs,
    }
    if name is not None:
        cleaned = name.strip()[:120]
        if not cleaned:
            raise ConnectionRefused("name", _("Give the connection a name."), field="name")
        new_values["name"] = cleaned
    with transaction.atomic():
        locked = StoreConnection.all_orgs.select_for_update().get(
            pk=connection.pk, organization_id=connection.organization_id
        )
        changed = [key for key, value in new_values.items() if getattr(locked, key) != value]
        before = {key: _jsonable(getattr(locked, key)) for key in changed}
        for key in changed:
            setattr(locked, key, new_values[key])
        if {"sync_interval_minutes", "auto_sync_enabled"} & set(changed):
            locked.next_sync_at = _next_sync_at(locked)
        store_changes: dict[str, bool] = {}
        if included_store_ids is not None:
            store_changes = _set_included(locked, set(included_store_ids))
            if store_changes:
                changed.append("stores")
        if changed:
            locked.save()
            audit_record(
                action="connection.settings_changed",
                organization=organization,
                actor=actor,
                target=locked,
                metadata={
                    "changed": changed,
                    "before": before,
                    "after": {k: _jsonable(new_values[k]) for k in changed if k in new_values},
                    "stores": store_changes,
                },
                request=request,
            )
            signals.connection_settings_changed.send(
                StoreConnection, connection=locked, actor=actor, changed=changed
            )
    connection.refresh_from_db()
    return changed


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


def _next_sync_at(connection: StoreConnection):
    if not connection.auto_sync_enabled or connection.status != ConnectionStatus.ACTIVE:
        return None
    base = connection.last_sync_at or timezone.now()
    interval = max(
        connection.sync_interval_minutes,
        connection.organization.plan_rules.min_sync_interval_minutes,
    )
    return max(base + timedelta(minutes=interval), timezone.now())


def _set_included(connection: StoreConnection, included_ids: set[int]) -> dict[str, bool]:
    """Set the include flag of every store of the connection; ids of other connections'
    stores are ignored. Returns {store name: new flag} for the stores that changed."""
    changes: dict[str, bool] = {}
    for store in SourceStore.all_orgs.filter(
        organization_id=connection.organization_id, connection=connection
    ):
        wanted = store.pk in included_ids
        if store.included != wanted:
            store.included = wanted
            store.save(update_fields=["included", "updated_at"])
            changes[store.name] = wanted
    return changes


def source_store_set_included(
    *,
    connection: StoreConnection,
    store: SourceStore,
    included: bool,
    actor: Any,
    request: Any = None,
) -> SourceStore:
    if store.connection_id != connection.pk or store.organization_id != connection.organization_id:
        raise DomainError("store of another connection")
    if store.included == included:
        return store
    with transaction.atomic():
        store.included = included
        store.save(update_fields=["included", "updated_at"])
        audit_record(
            action="connection.store_toggled",
            organization=connection.organization,
            actor=actor,
            target=store,
            metadata={"store": store.name, "included": included, "connection": connection.pk},
            request=request,
        )
        signals.connection_settings_changed.send(
            StoreConnection, connection=connection, actor=actor, changed=["stores"]
        )
    return store
