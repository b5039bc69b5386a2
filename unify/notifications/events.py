"""The events, as the places where they happen call them: plain calls, each with a
deterministic dedupe key so that recording the same event again does nothing."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from unify.core.stored_text import as_data
from unify.notifications.models import Kind, NotificationEvent
from unify.notifications.services import notify


def _slug(organization_id: int) -> str:
    from unify.tenancy.models import Organization

    return Organization.objects.values_list("slug", flat=True).get(pk=organization_id)


def keys_expired(connection) -> None:
    """A connection's source rejected its keys (one event per flagging: the status change's
    time is part of the key, so a later incident after new keys notifies again)."""
    slug = _slug(connection.organization_id)
    notify(
        organization_id=connection.organization_id,
        kind=Kind.KEYS_EXPIRED,
        dedupe_key=f"keys_expired:{connection.pk}:{connection.updated_at.isoformat()}",
        params={"name": connection.name, "provider": connection.provider},
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


def posting_failed(posting, ledger_connection=None) -> None:
    """A posting ended failed (after its retries, or refused outright): one event per posting
    run (its batch; a posting without one counts in its connection's run of the day), so
    the members hear once however many of the run's documents fail, and a later "Retry
    failed" that fails again is a new run."""
    from accounting.models import LedgerConnection, PostingState
    from unify.tenancy.models import Organization

    if posting.batch_id:
        dedupe_key = f"posting_failed:{posting.batch_id}"
    else:
        tz = Organization.objects.get(pk=posting.organization_id).tzinfo
        day = timezone.now().astimezone(tz).date().isoformat()
        dedupe_key = f"posting_failed:{posting.ledger_connection_id}:{day}"
    org_id = posting.organization_id
    if NotificationEvent.objects.for_org(org_id).filter(dedupe_key=dedupe_key).exists():
        return  # the run's members were told (a cheap look before the insert that decides)
    ledger = ledger_connection or LedgerConnection.objects.for_org(org_id).get(
        pk=posting.ledger_connection_id
    )
    slug = _slug(posting.organization_id)
    link = reverse("accounting:postings", kwargs={"org_slug": slug})
    notify(
        organization_id=posting.organization_id,
        kind=Kind.RUN_FAILED,
        dedupe_key=dedupe_key,
        params={
            "name": ledger.get_provider_display(),
            "run": "posting",
            "error": as_data(posting.error[:300]),
        },
        link=f"{link}?{urlencode({'status': PostingState.FAILED})}",
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
