"""Connecting QuickBooks Desktop: the Web Connector user, its password (shown once, stored
as a salted SHA-256: see ``passwords``), the ``.qwc`` file, disconnecting; and the reads
the Accounting tab's card shows."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from accounting.ledgers.qbd.adapter import PROVIDER
from accounting.ledgers.qbd.models import (
    SessionState,
    WebConnectorSession,
    WebConnectorUser,
)
from accounting.ledgers.qbd.passwords import hash_password
from accounting.models import (
    LedgerConnection,
    LedgerStatus,
    Posting,
    PostingSettings,
    PostingState,
)
from unify.core.audit import audit_record
from unify.core.exceptions import DomainError
from unify.core.stored_text import gettext as _
from unify.tenancy.models import Organization

# Unambiguous characters: the merchant types the password into the Web Connector.
_PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
PASSWORD_LENGTH = 24


def _guid() -> str:
    return "{" + str(uuid.uuid4()).upper() + "}"


def _password() -> str:
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def _username() -> str:
    return f"unify-{secrets.token_hex(5)}"


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the merchant sees once: never stored, never logged."""

    connection: LedgerConnection
    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r})"


def qbd_connect(*, organization: Organization, user=None, request=None) -> Credentials:
    """Connect QuickBooks Desktop: a ledger connection (the organization's disconnected
    QuickBooks Desktop connection is reused, so nothing it posted is posted again) with a
    new Web Connector user name and password. Another connected ledger must be
    disconnected first."""
    now = timezone.now()
    password = _password()
    try:
        with transaction.atomic():
            current = (
                LedgerConnection.objects.for_org(organization)
                .select_for_update()
                .exclude(status=LedgerStatus.DISABLED)
                .first()
            )
            if current is not None:
                raise DomainError(
                    "another ledger is connected",
                    user_message=_(
                        "%(ledger)s is still connected. Disconnect it before connecting "
                        "another ledger."
                    )
                    % {"ledger": str(current)},
                )
            connection = (
                LedgerConnection.objects.for_org(organization)
                .select_for_update()
                .filter(provider=PROVIDER)
                .order_by("-connected_at", "-pk")
                .first()
            )
            created = connection is None
            if created:
                connection = LedgerConnection(
                    organization=organization,
                    provider=PROVIDER,
                    company_id=f"qbd-{uuid.uuid4().hex}",
                )
            connection.status = LedgerStatus.ACTIVE
            connection.status_message = ""
            connection.connected_by = user if getattr(user, "is_authenticated", False) else None
            connection.connected_at = now
            connection.save()
            PostingSettings.objects.get_or_create(
                ledger_connection=connection, defaults={"organization": organization}
            )
            wc = WebConnectorUser.objects.filter(ledger_connection=connection).first()
            if wc is None:
                wc = WebConnectorUser(
                    organization=organization,
                    ledger_connection=connection,
                    username=_username(),
                    owner_id=_guid(),
                    file_id=_guid(),
                )
            wc.password_hash = hash_password(password)
            wc.password_set_at = now
            wc.catalog_requested = True
            wc.save()
            audit_record(
                action="ledger.connected" if created else "ledger.reconnected",
                organization=organization,
                actor=user,
                target=connection,
                metadata={"provider": PROVIDER},
                request=request,
            )
    except IntegrityError:
        raise DomainError(
            "concurrent connect",
            user_message=_("Another ledger was connected at the same moment. Reload the page."),
        ) from None
    return Credentials(connection=connection, username=wc.username, password=password)


def qbd_password_regenerate(
    *, connection: LedgerConnection, user=None, request=None
) -> Credentials:
    """A new password; the old one, and every open Web Connector session, stop working."""
    password = _password()
    with transaction.atomic():
        wc = WebConnectorUser.objects.select_for_update().get(ledger_connection=connection)
        now = timezone.now()
        wc.password_hash = hash_password(password)
        wc.password_set_at = now
        wc.save(update_fields=["password_hash", "password_set_at", "updated_at"])
        WebConnectorSession.objects.filter(web_connector=wc, state=SessionState.OPEN).update(
            state=SessionState.ABANDONED, closed_at=now, updated_at=now
        )
        audit_record(
            action="ledger.qbd_password_regenerated",
            organization_id=connection.organization_id,
            actor=user,
            target=connection,
            metadata={"provider": PROVIDER},
            request=request,
        )
    return Credentials(connection=connection, username=wc.username, password=password)


def qbd_catalog_request(*, connection: LedgerConnection) -> None:
    """Ask for the accounts and items again at the next Web Connector run."""
    WebConnectorUser.objects.filter(ledger_connection=connection).update(
        catalog_requested=True, updated_at=timezone.now()
    )


def service_url(request=None) -> str:
    """Where the Web Connector calls: the site's configured public address, else (a
    developer's machine) the address this request came to."""
    path = reverse("qbwc")  # /qbwc/ (the provider's "root" URL patterns)
    base = settings.UNIFY_PUBLIC_BASE_URL.rstrip("/")
    if base:
        return f"{base}{path}"
    if request is not None:
        return request.build_absolute_uri(path)
    return f"http://localhost:8000{path}"


def url_allowed(url: str) -> bool:
    """The Web Connector accepts https, and plain http only on this machine."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme == "https" or parts.hostname in ("localhost", "127.0.0.1")


def qwc_file(*, connection: LedgerConnection, request=None) -> str:
    """The ``.qwc`` file the merchant adds to the Web Connector. It carries the user name,
    never the password (typed into the Web Connector)."""
    wc = WebConnectorUser.objects.for_org(connection.organization_id).get(
        ledger_connection=connection
    )
    url = service_url(request)
    support = url.rsplit(reverse("qbwc"), 1)[0] + "/"
    organization = Organization.objects.get(pk=connection.organization_id)
    fields = [
        ("AppName", f"Unify ({organization.name})"[:60]),
        ("AppID", ""),
        ("AppURL", url),
        ("AppDescription", _("Posts orders and label costs from Unify into QuickBooks Desktop.")),
        ("AppSupport", support),
        ("UserName", wc.username),
        ("OwnerID", wc.owner_id),
        ("FileID", wc.file_id),
        ("QBType", "QBFS"),
    ]
    body = "".join(f"  <{k}>{escape(v)}</{k}>\n" for k, v in fields)
    minutes = int(settings.QBD_RUN_EVERY_MINUTES)
    return (
        '<?xml version="1.0"?>\n<QBWCXML>\n'
        + body
        + f"  <Scheduler>\n    <RunEveryNMinutes>{minutes}</RunEveryNMinutes>\n  </Scheduler>\n"
        + "  <IsReadOnly>false</IsReadOnly>\n</QBWCXML>\n"
    )


# ---------------------------------------------------------------------------------------------
# Reads for the card
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QbdStatus:
    connection: LedgerConnection
    web_connector: WebConnectorUser | None
    last_contact_at: datetime | None
    queued: int
    failed: int
    last_error: str
    last_error_at: datetime | None
    sessions: list
    recent_errors: list


def qbd_status(*, connection: LedgerConnection) -> QbdStatus:
    org_id = connection.organization_id
    wc = WebConnectorUser.objects.for_org(org_id).filter(ledger_connection=connection).first()
    postings = Posting.objects.for_org(org_id).filter(ledger_connection=connection)
    counts = postings.aggregate(
        queued=Count(
            "pk",
            filter=Q(
                status__in=(PostingState.PENDING, PostingState.IN_FLIGHT, PostingState.QUEUED)
            ),
        ),
        failed=Count("pk", filter=Q(status=PostingState.FAILED)),
    )
    sessions = (
        list(
            WebConnectorSession.objects.for_org(org_id)
            .filter(web_connector=wc)
            .order_by("-created_at")[:5]
        )
        if wc
        else []
    )
    recent_errors = list(
        postings.filter(status=PostingState.FAILED)
        .order_by("-updated_at")
        .values("pk", "document_number", "error")[:5]
    )
    return QbdStatus(
        connection=connection,
        web_connector=wc,
        last_contact_at=wc.last_contact_at if wc else None,
        queued=counts["queued"],
        failed=counts["failed"],
        last_error=wc.last_error if wc else "",
        last_error_at=wc.last_error_at if wc else None,
        sessions=sessions,
        recent_errors=recent_errors,
    )
