"""Connect a source, put new credentials on a connection, reconnect a disconnected one.

Nothing is saved until the source has accepted the credentials; a failure of any kind leaves
the database exactly as it was. The source (``StoreConnection.provider``) is looked up in the
registry: it cleans and checks the credentials and names the account for the duplicate check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.views.decorators.debug import sensitive_variables

from connections import signals
from connections.errors import ConnectionRefused
from connections.models import ConnectionMode, ConnectionStatus, StoreConnection
from connections.services.credentials import (
    _check_same_account,
    _duplicate_error,
    _duplicate_of,
    _store_keys,
    _sync_stores,
    source_verify,
)
from connections.services.plans import plan_check_new_connection
from connections.shared_keys import connection_keys_shared_warn
from connections.sources.registry import UnknownSourceProvider, source_provider
from unify.core.audit import audit_record
from unify.core.stored_text import gettext as _
from unify.tenancy.models import Organization


def _connectable(provider: str):
    try:
        found = source_provider(provider)
    except UnknownSourceProvider:
        found = None
    if found is None or not found.connectable:
        raise ConnectionRefused("provider", _("Choose a platform to connect."), field="platform")
    return found


@sensitive_variables()
def connection_create(
    *,
    organization: Organization,
    actor: Any,
    provider: str,
    credentials: Mapping[str, str],
    name: str = "",
    mode: str = ConnectionMode.SALES_CHANNEL,
    request: Any = None,
) -> StoreConnection:
    """Connect an account of the source ``provider`` (a registry key) with ``credentials``
    (the fields of the source's connect form)."""
    source = _connectable(provider)
    cleaned = source.credentials_clean(credentials)
    plan_check_new_connection(organization=organization, mode=mode, provider=source.key)
    fingerprint = source.credentials_fingerprint(cleaned)
    existing = _duplicate_of(organization, source, fingerprint)
    if existing is not None:
        raise _duplicate_error(source, existing)
    account = source_verify(source, cleaned)
    display_name = (name or "").strip()[:120] or str(source.name)
    try:
        with transaction.atomic():
            # Re-checked under the transaction: two tabs submitting at once must not both
            # slip under the plan limit. The organization row serialises them.
            Organization.objects.select_for_update().filter(pk=organization.pk).first()
            plan_check_new_connection(organization=organization, mode=mode, provider=source.key)
            connection = StoreConnection(
                organization=organization,
                provider=source.key,
                name=display_name,
                mode=mode,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
            _store_keys(connection, source, cleaned, fingerprint)
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
        existing = _duplicate_of(organization, source, fingerprint)
        if existing is not None:
            raise _duplicate_error(source, existing) from None
        raise
    return connection


@sensitive_variables()
def _replace_keys(
    *,
    connection: StoreConnection,
    actor: Any,
    credentials: Mapping[str, str],
    action: str,
    request: Any,
    extra_checks: Callable[[StoreConnection], None] | None = None,
) -> StoreConnection:
    source = source_provider(connection.provider)
    cleaned = source.credentials_clean(credentials)
    fingerprint = source.credentials_fingerprint(cleaned)
    organization = connection.organization
    existing = _duplicate_of(organization, source, fingerprint, exclude_pk=connection.pk)
    if existing is not None:
        raise _duplicate_error(source, existing)
    account = source_verify(source, cleaned, connection_id=connection.pk)
    _check_same_account(source, connection, account)
    previous_hint = connection.credentials_hint
    try:
        with transaction.atomic():
            locked = (
                StoreConnection.objects.for_org(connection.organization_id)
                .select_for_update()
                .get(pk=connection.pk)
            )
            if extra_checks is not None:
                extra_checks(locked)
            _store_keys(locked, source, cleaned, fingerprint)
            locked.disconnected_at = None
            locked.save()
            _sync_stores(locked, account)
            audit_record(
                action=action,
                organization=organization,
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
        existing = _duplicate_of(organization, source, fingerprint, exclude_pk=connection.pk)
        if existing is not None:
            raise _duplicate_error(source, existing) from None
        raise
    connection.refresh_from_db()
    return connection


@sensitive_variables()
def connection_update_credentials(
    *,
    connection: StoreConnection,
    actor: Any,
    credentials: Mapping[str, str],
    request: Any = None,
) -> StoreConnection:
    """New credentials for a connected (or "needs new keys") connection, verified before
    saving."""
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
        credentials=credentials,
        action="connection.credentials_updated",
        request=request,
        extra_checks=still_connected,
    )


@sensitive_variables()
def connection_reconnect(
    *,
    connection: StoreConnection,
    actor: Any,
    credentials: Mapping[str, str],
    request: Any = None,
) -> StoreConnection:
    """Connect a disconnected connection again (new credentials needed: disconnect deleted
    them). Its earlier imports are kept; the plan must have room for it in its mode."""
    if connection.status != ConnectionStatus.DISABLED:
        raise ConnectionRefused("not_disconnected", _("This connection is already connected."))
    organization = connection.organization
    plan_check_new_connection(
        organization=organization, mode=connection.mode, provider=connection.provider
    )

    def plan_still_allows(locked: StoreConnection) -> None:
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        if locked.status != ConnectionStatus.DISABLED:
            raise ConnectionRefused("not_disconnected", _("This connection is already connected."))
        plan_check_new_connection(
            organization=organization, mode=locked.mode, provider=locked.provider
        )

    return _replace_keys(
        connection=connection,
        actor=actor,
        credentials=credentials,
        action="connection.reconnected",
        request=request,
        extra_checks=plan_still_allows,
    )
