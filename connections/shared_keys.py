"""One key pair of a source connected in two organizations.

Allowed (an agency or a merchant with two Unify organizations may connect one account twice),
but never silently: whoever holds the pair reads every order of that account, and both
organizations share the source's rate limit (``SourceProvider.shared_requests_per_minute``).
When a pair is connected (or put on a connection) while another organization has it
connected, the owners of every organization concerned are emailed and each organization's
activity log records it. No message names the other organization: that would tell one
tenant about another.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from connections.models import ConnectionStatus, StoreConnection
from connections.sources.registry import source_provider
from unify.core.audit import audit_record
from unify.core.i18n import send_mail_each_language
from unify.core.mail import subject_text
from unify.tenancy.models import Organization
from unify.tenancy.selectors import owner_emails

logger = logging.getLogger(__name__)


def _connections_with_the_same_keys(connection: StoreConnection) -> list[StoreConnection]:
    if not connection.credentials_fingerprint:
        return []
    from unify.tenancy.rls import rls_bypass

    with rls_bypass("shared-keys"):  # the same key pair in other organizations
        return _same_keys_elsewhere(connection)


def _same_keys_elsewhere(connection: StoreConnection) -> list[StoreConnection]:
    return list(
        StoreConnection.all_orgs.filter(
            provider=connection.provider,
            credentials_fingerprint=connection.credentials_fingerprint,
        )
        .exclude(organization_id=connection.organization_id)
        .exclude(status=ConnectionStatus.DISABLED)
        .select_related("organization")
        .order_by("organization_id", "pk")
    )


def connection_keys_shared_warn(
    *, connection: StoreConnection, actor: Any = None, request: Any = None
) -> list[int]:
    """Called after ``connection``'s keys were saved (inside the transaction). Records and
    emails when another organization has the same key pair connected; returns the ids of
    those organizations (empty: nothing to tell)."""
    others = _connections_with_the_same_keys(connection)
    if not others:
        return []
    metadata = {"provider": connection.provider, "key_hint": connection.credentials_hint}
    audit_record(
        action="connection.keys_shared",
        organization_id=connection.organization_id,
        actor=actor,
        target=connection,
        metadata={**metadata, "other_organizations": len({c.organization_id for c in others})},
        request=request,
    )
    for other in others:
        audit_record(
            action="connection.keys_shared",
            organization_id=other.organization_id,
            target=other,
            metadata={**metadata, "other_organizations": 1},
        )
    this_id, other_ids = connection.pk, [c.pk for c in others]
    transaction.on_commit(lambda: _email_owners(this_id, other_ids))
    return sorted({c.organization_id for c in others})


def _email_owners(connection_id: int, other_ids: list[int]) -> None:
    from unify.tenancy.rls import rls_bypass

    with rls_bypass("shared-keys"):  # this organization's connection and the others'
        _email_owners_of(connection_id, other_ids)


def _email_owners_of(connection_id: int, other_ids: list[int]) -> None:
    connection = StoreConnection.all_orgs.select_related("organization").get(pk=connection_id)
    _send(
        connection,
        _("[Unify] These %(provider)s keys are also connected in another organization"),
        _(
            "The %(provider)s API keys (%(hint)s) you connected as “%(name)s” in %(org)s are "
            "also connected in another Unify organization.\n\n"
            "Whoever holds these keys can read every order of this %(provider)s account, and "
            "both organizations share %(provider)s's limit of %(limit)s requests a minute, so "
            "imports can be slower.\n\nIf you did not expect this, generate new API keys in "
            "%(provider)s (%(where)s) and enter them with Update keys on the connection "
            "page.\n%(link)s"
        ),
    )
    for other in StoreConnection.all_orgs.select_related("organization").filter(pk__in=other_ids):
        _send(
            other,
            _("[Unify] Your %(provider)s keys were connected in another organization"),
            _(
                "The %(provider)s API keys (%(hint)s) of your connection “%(name)s” in %(org)s "
                "were just connected in another Unify organization as well.\n\n"
                "Whoever holds these keys can read every order of this %(provider)s account, "
                "and both organizations now share %(provider)s's limit of %(limit)s requests a "
                "minute.\n\nIf you did not share them, generate new API keys in %(provider)s "
                "(%(where)s) and enter them with Update keys on the connection page: the old "
                "keys then stop working everywhere.\n%(link)s"
            ),
        )


def _send(connection: StoreConnection, subject: str, body: str) -> None:
    organization: Organization = connection.organization
    recipients = owner_emails(organization_id=organization.pk)
    if not recipients:
        return
    path = reverse(
        "connections:detail",
        kwargs={"org_slug": organization.slug, "connection_id": connection.pk},
    )
    base = (getattr(settings, "UNIFY_PUBLIC_BASE_URL", "") or "").rstrip("/")
    source = source_provider(connection.provider)
    values = {
        "provider": str(source.name),
        "limit": source.shared_requests_per_minute,
        "where": source.credentials_location,  # lazy: rendered in each owner's language
        "hint": connection.credentials_hint,
        "name": subject_text(connection.name),
        "org": subject_text(organization.name),
        "link": f"{base}{path}" if base else "",
    }
    try:
        # subject and body are lazy: each owner's copy is rendered in their own language.
        send_mail_each_language(recipients, lambda: (str(subject) % values, str(body) % values))
    except Exception:  # the connection stands; the audit log has the event
        logger.exception("could not email owners about shared keys of connection %s", connection.pk)
