"""Credentials of a store connection: checked by the source (nothing is saved until it
accepted them), duplicates found by the source's identity, the account's stores kept in step.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from connections.errors import ConnectionRefused
from connections.models import ConnectionStatus, SourceStore, StoreConnection
from connections.sources.base import SourceAccount
from connections.sources.provider import SourceProvider
from unify.core.stored_text import gettext as _
from unify.tenancy.models import Organization

# A web request waits at most this long for a rate-limit slot before saying "try again".
VERIFY_MAX_WAIT_SECONDS = 5.0


@sensitive_variables()
def source_verify(
    provider: SourceProvider, credentials: Mapping[str, str], *, connection_id: int | None = None
) -> SourceAccount:
    """Ask the source whether the credentials work (a person is waiting: the rate limiter
    waits only briefly); every failure is a ``ConnectionRefused`` with a plain message."""
    return provider.verify(
        credentials, connection_id=connection_id, max_wait_seconds=VERIFY_MAX_WAIT_SECONDS
    )


def _duplicate_of(
    organization: Organization,
    provider: SourceProvider,
    fingerprint: str,
    *,
    exclude_pk: int | None = None,
) -> StoreConnection | None:
    query = StoreConnection.objects.for_org(organization).filter(
        provider=provider.key, credentials_fingerprint=fingerprint
    )
    if exclude_pk is not None:
        query = query.exclude(pk=exclude_pk)
    return query.first()


def _duplicate_error(provider: SourceProvider, existing: StoreConnection) -> ConnectionRefused:
    if existing.status == ConnectionStatus.DISABLED:
        message = _(
            "These %(provider)s keys belong to “%(name)s”, which is disconnected. Open it and "
            "click Reconnect instead of adding it again."
        )
    else:
        message = _(
            "These %(provider)s keys are already connected as “%(name)s”. Each %(provider)s "
            "account is connected once."
        )
    values = {"name": existing.name, "provider": str(provider.name)}
    return ConnectionRefused("duplicate", message % values, field=provider.secret_fields[0])


def _check_same_account(
    provider: SourceProvider, connection: StoreConnection, account: SourceAccount
) -> None:
    """New keys for an existing connection must open the same account: its imported orders
    are keyed by that account's ids."""
    known = set(
        SourceStore.objects.for_org(connection.organization_id)
        .filter(connection=connection)
        .values_list("external_id", flat=True)
    )
    if known and not known & {store.external_id for store in account.stores}:
        raise ConnectionRefused(
            "other_account",
            _(
                "These keys open a different %(provider)s account (none of its stores match "
                "this connection's). Use Add Store to connect that account separately."
            )
            % {"provider": str(provider.name)},
            field=provider.secret_fields[0],
        )


def _sync_stores(connection: StoreConnection, account: SourceAccount) -> None:
    existing = {
        store.external_id: store
        for store in SourceStore.objects.for_org(connection.organization_id).filter(
            connection=connection
        )
    }
    for source in account.stores:
        store = existing.get(source.external_id)
        if store is None:
            SourceStore.objects.create(
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
def _store_keys(
    connection: StoreConnection,
    provider: SourceProvider,
    credentials: Mapping[str, str],
    fingerprint: str,
) -> None:
    connection.credentials = dict(credentials)
    connection.credentials_hint = provider.credentials_hint(credentials)
    connection.credentials_fingerprint = fingerprint
    connection.status = ConnectionStatus.ACTIVE
    connection.status_message = ""
    connection.last_verified_at = timezone.now()
