"""The events, as the places where they happen call them: plain calls, each with a
deterministic dedupe key so that recording the same event again does nothing."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from unify.core.stored_text import as_data
from unify.notifications.models import Kind
from unify.notifications.services import notify


def _slug(organization_id: int) -> str:
    from unify.tenancy.models import Organization

    return Organization.objects.values_list("slug", flat=True).get(pk=organization_id)


def keys_expired(connection) -> None:
    """ShipStation rejected a connection's keys (one event per flagging: the status change's
    time is part of the key, so a later incident after new keys notifies again)."""
    slug = _slug(connection.organization_id)
    notify(
        organization_id=connection.organization_id,
        kind=Kind.KEYS_EXPIRED,
        dedupe_key=f"keys_expired:{connection.pk}:{connection.updated_at.isoformat()}",
        params={"name": connection.name},
        link=reverse(
            "connections:update_keys", kwargs={"org_slug": slug, "connection_id": connection.pk}
        ),
    )


def ledger_disconnected(ledger_connection) -> None:
    slug = _slug(ledger_connection.organization_id)
    notify(
        organization_id=ledger_connection.organization_id,
        kind=Kind.LEDGER_DISCONNECTED,
        dedupe_key=(
            f"ledger_disconnected:{ledger_connection.pk}:{ledger_connection.updated_at.isoformat()}"
        ),
        params={"name": ledger_connection.get_provider_display()},
        link=reverse("accounting:home", kwargs={"org_slug": slug}),
    )


def sync_run_failed(run, connection) -> None:
    """A sync run ended failed after its retries (one event per run)."""
    slug = _slug(run.organization_id)
    notify(
        organization_id=run.organization_id,
        kind=Kind.RUN_FAILED,
        dedupe_key=f"sync_failed:{run.pk}",
        params={"name": connection.name, "run": "sync", "error": as_data(run.error[:300])},
        link=reverse(
            "sales:sync_history", kwargs={"org_slug": slug, "connection_id": connection.pk}
        ),
    )


def daily_limit_reached(ledger_connection) -> None:
    """Posting paused for the ledger's daily limit: once per connection and day."""
    from unify.tenancy.models import Organization

    organization = Organization.objects.get(pk=ledger_connection.organization_id)
    day = timezone.now().astimezone(organization.tzinfo).date()
    notify(
        organization_id=organization.pk,
        kind=Kind.DAILY_LIMIT,
        dedupe_key=f"daily_limit:{ledger_connection.pk}:{day.isoformat()}",
        params={"name": ledger_connection.get_provider_display()},
        link=reverse("accounting:home", kwargs={"org_slug": organization.slug}),
    )


def first_import_finished(run, connection) -> None:
    """The connection's first successful sync (once per connection, ever)."""
    slug = _slug(run.organization_id)
    notify(
        organization_id=run.organization_id,
        kind=Kind.FIRST_IMPORT,
        dedupe_key=f"first_import:{connection.pk}",
        params={"name": connection.name},
        link=reverse("sales:list", kwargs={"org_slug": slug}),
    )
