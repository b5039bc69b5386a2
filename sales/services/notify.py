"""Telling an organization that its ShipStation connection stopped syncing."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from connections.models import StoreConnection
from unify.core.i18n import send_mail_each_language
from unify.core.mail import subject_text
from unify.core.site import site_url
from unify.core.stored_text import gettext as _
from unify.tenancy.models import Membership, Role

logger = logging.getLogger(__name__)


def _keys_url(connection: StoreConnection, slug: str) -> str:
    """The connection's "Update keys" page, as a link that works from a mail client."""
    return site_url(
        reverse(
            "connections:update_keys", kwargs={"org_slug": slug, "connection_id": connection.pk}
        )
    )


def connection_needs_credentials(*, connection: StoreConnection, reason: str = "") -> bool:
    """Mark the connection as needing new keys (which stops its schedule: only active
    connections are synced), record it, and email the organization's owners once.

    The merchant sees it on the site from the connection's status (the connections page
    shows a banner for ``needs_credentials``). Returns False when it was already flagged.
    """
    from connections.services import connection_mark_needs_credentials

    flagged = connection_mark_needs_credentials(
        connection=connection,
        message=_(
            "ShipStation rejected the API Key and API Secret: they may have expired or been "
            "regenerated."
        ),
        metadata={"detected_by": "sync", "detail": reason[:200]},
    )
    if not flagged:
        return False
    transaction.on_commit(lambda: _email_owners(connection))
    return True


def _email_owners(connection: StoreConnection) -> None:
    owners = (
        Membership.objects.filter(organization_id=connection.organization_id, role=Role.OWNER)
        .select_related("user", "organization")
        .order_by("pk")
    )
    recipients = [m.user.email for m in owners if m.user.email]
    if not recipients:
        return
    organization = owners[0].organization
    context = {
        "organization": organization,
        "connection": connection,
        "url": _keys_url(connection, organization.slug),
    }

    def build() -> tuple[str, str]:
        subject = _("ShipStation needs new API keys for %(name)s") % {
            "name": subject_text(connection.name)
        }
        body = render_to_string("sales/email/needs_credentials.txt", context)
        return f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}", body

    try:
        # Each owner reads it in their own language.
        send_mail_each_language(recipients, build, from_email=settings.DEFAULT_FROM_EMAIL)
    except Exception:  # the flag and the banner stand even when the mail server is down
        logger.exception("could not email owners about connection %s", connection.pk)
