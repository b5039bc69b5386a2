"""Sync settings of a connection and its stores' include flags."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from connections import signals
from connections.errors import ConnectionRefused
from connections.models import ConnectionStatus, SourceStore, StoreConnection
from connections.sources.registry import source_provider
from unify.core.audit import audit_record
from unify.core.exceptions import DomainError
from unify.core.stored_text import gettext as _
from unify.tenancy.plans import SYNC_INTERVAL_CHOICES_MINUTES


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
    if not statuses or set(statuses) - set(source_provider(connection.provider).order_statuses):
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
        locked = (
            StoreConnection.objects.for_org(connection.organization_id)
            .select_for_update()
            .get(pk=connection.pk)
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
    for store in SourceStore.objects.for_org(connection.organization_id).filter(
        connection=connection
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
