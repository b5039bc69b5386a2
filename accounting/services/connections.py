"""Connecting, checking and disconnecting ledgers; their catalogs. Their tokens and the adapter
that uses them are in ``accounting.services.ledger_tokens`` (re-exported here)."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounting.ledgers.base import (
    ConnectResult,
    LedgerCatalog,
)
from accounting.ledgers.registry import get_provider
from accounting.models import (
    LedgerConnection,
    LedgerStatus,
    Posting,
    PostingEvent,
    PostingSettings,
    PostingState,
    SaleDocumentType,
)
from accounting.services import summaries
from accounting.services.ledger_tokens import (  # noqa: F401 - re-exported
    ConnectionTokenStore,
    _store_tokens,
    _tokens_of,
    ledger_adapter,
)
from accounting.services.mappings import forget_changed_mappings
from unify.core.audit import audit_record
from unify.core.exceptions import DomainError, IntegrationError, ProviderAuthError
from unify.core.stored_text import gettext as _
from unify.notifications import events as notification_events
from unify.tenancy.models import Organization

logger = logging.getLogger(__name__)

OAUTH_SESSION_KEY = "ledger_oauth"
OAUTH_STATE_TTL_SECONDS = 15 * 60


# ---------------------------------------------------------------------------------------------
# Connecting
# ---------------------------------------------------------------------------------------------


@sensitive_variables()
def ledger_oauth_start(
    *, organization: Organization, provider_key: str, session: Any, redirect_uri: str
) -> str:
    """The provider's authorize URL. The ``state`` sent along is kept in the user's session
    with the organization: the callback accepts only that state, once."""
    provider = get_provider(provider_key)
    if provider.connect_kind != "oauth":
        raise DomainError(f"{provider_key} does not connect through OAuth")
    state = secrets.token_urlsafe(32)
    session[OAUTH_SESSION_KEY] = {
        "state": state,
        "organization_id": organization.pk,
        "provider": provider_key,
        "redirect_uri": redirect_uri,
        "started": time.time(),
    }
    return provider.authorization_url(state=state, redirect_uri=redirect_uri)


@sensitive_variables()
def ledger_oauth_pending(*, session: Any, state: str) -> dict[str, Any]:
    """The pending connection flow that ``state`` belongs to, consumed (one use only).
    A forged, replayed or stale state raises ``DomainError``."""
    pending = session.pop(OAUTH_SESSION_KEY, None)
    if (
        not pending
        or not state
        or not secrets.compare_digest(str(pending.get("state", "")), str(state))
    ):
        raise DomainError(
            "oauth state mismatch",
            user_message=_(
                "This connection attempt could not be verified (it may have expired or been "
                "started elsewhere). Please click Connect again."
            ),
        )
    if time.time() - float(pending.get("started", 0)) > OAUTH_STATE_TTL_SECONDS:
        raise DomainError(
            "oauth state expired",
            user_message=_("The connection attempt took too long. Please click Connect again."),
        )
    return pending


@dataclass(frozen=True, slots=True)
class LedgerConnected:
    connection: LedgerConnection
    reconnected: bool  # a company this organization had connected before
    postings_resumed: int  # postings that waited for the ledger, sent again at once


@sensitive_variables()
def ledger_connect(
    *,
    organization: Organization,
    provider_key: str,
    code: str,
    company_id: str,
    redirect_uri: str,
    user=None,
    request=None,
) -> LedgerConnected:
    """Exchange the authorization code and store the connection (tokens encrypted).

    Reconnecting a company this organization connected before reuses its row, so what was
    posted to it stays posted, and the postings that waited for it are sent at once (see
    :func:`ledger_postings_resume`). Another ledger that is still connected must be
    disconnected first: one active ledger per organization.
    """
    provider = get_provider(provider_key)
    if not company_id:
        raise DomainError(
            "no company id in callback",
            user_message=_("%(ledger)s did not say which company was connected. Try again.")
            % {"ledger": provider.name},
        )
    result: ConnectResult = provider.complete_authorization(
        code=code, company_id=company_id, redirect_uri=redirect_uri
    )
    return ledger_connect_result(
        organization=organization,
        provider_key=provider_key,
        result=result,
        user=user,
        request=request,
    )


@sensitive_variables()
def ledger_connect_result(
    *,
    organization: Organization,
    provider_key: str,
    result: ConnectResult,
    user=None,
    request=None,
) -> LedgerConnected:
    """Store a connection whose tokens the provider's own flow already obtained (Xero: after
    its organisation was chosen); see :func:`ledger_connect` for the rules."""
    provider = get_provider(provider_key)
    now = timezone.now()
    try:
        with transaction.atomic():
            others = (
                LedgerConnection.objects.for_org(organization)
                .select_for_update()
                .exclude(status=LedgerStatus.DISABLED)
                .exclude(provider=provider_key, company_id=result.company_id)
            )
            other = others.first()
            if other is not None:
                raise DomainError(
                    "another ledger is connected",
                    user_message=_(
                        "%(ledger)s is still connected. Disconnect it before connecting "
                        "another ledger."
                    )
                    % {"ledger": str(other)},
                )
            connection, created = LedgerConnection.objects.select_for_update().get_or_create(
                organization=organization,
                provider=provider_key,
                company_id=result.company_id,
                defaults={"company_name": result.company_name},
            )
            _store_tokens(connection, result.tokens)
            connection.company_name = result.company_name or connection.company_name
            connection.status = LedgerStatus.ACTIVE
            connection.status_message = ""
            connection.connected_by = user if getattr(user, "is_authenticated", False) else None
            connection.connected_at = now
            connection.last_verified_at = now
            connection.tokens_refreshed_at = now
            connection.save()
            PostingSettings.objects.get_or_create(
                ledger_connection=connection, defaults={"organization": organization}
            )
            resumed = 0 if created else ledger_postings_resume(connection=connection, user=user)
            audit_record(
                action="ledger.connected" if created else "ledger.reconnected",
                organization=organization,
                actor=user,
                target=connection,
                metadata={
                    "provider": provider_key,
                    "company": result.company_name,
                    "postings_resumed": resumed,
                },
                request=request,
            )
    except IntegrityError:
        raise DomainError(
            "concurrent connect",
            user_message=_("Another ledger was connected at the same moment. Reload the page."),
        ) from None
    try:
        catalog = ledger_catalog_refresh(connection=connection)
    except IntegrationError:
        # The catalog can be fetched later from the settings page; the connection stands.
        logger.warning("catalog fetch after connecting ledger %s failed", connection.pk)
    else:
        posting_settings_suggest(
            connection=connection, catalog=catalog, suggested=provider.suggested_settings(catalog)
        )
    return LedgerConnected(connection=connection, reconnected=not created, postings_resumed=resumed)


def ledger_postings_resume(*, connection: LedgerConnection, user=None) -> int:
    """The ledger works again (reconnected): every posting waiting for it (for the
    reconnection, or for a retry later on) is due now, and drains start when the caller's
    transaction commits, not when the periodic sweep next comes by. Returns how many."""
    from accounting.tasks import queue_drains

    now = timezone.now()
    pending = Posting.objects.for_org(connection.organization_id).filter(
        ledger_connection=connection,
        status=PostingState.PENDING,
    )
    waiting = list(pending.filter(next_attempt_at__gt=now).values_list("pk", "attempts"))
    if waiting:
        pending.filter(pk__in=[pk for pk, _attempts in waiting]).update(
            next_attempt_at=None, updated_at=now
        )
        message = _("Sent again at once: %(ledger)s was reconnected.") % {
            "ledger": connection.get_provider_display()
        }
        PostingEvent.objects.bulk_create(
            PostingEvent(
                organization_id=connection.organization_id,
                posting_id=pk,
                from_status=PostingState.PENDING,
                to_status=PostingState.PENDING,
                attempt=attempts,
                message=message,
                actor=user if getattr(user, "is_authenticated", False) else None,
            )
            for pk, attempts in waiting
        )
    count = pending.count()
    if count:
        organization_id, connection_id = connection.organization_id, connection.pk
        transaction.on_commit(lambda: queue_drains(organization_id, connection_id))
    return count


# Account choices a bookkeeper would most likely make, by the ledger's account type and
# sub-type (as the ledgers' catalogs name them) or name; first match wins.
_SUGGESTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "product_income_account_id": (("detail", "SalesOfProductIncome"), ("kind", "Income")),
    "shipping_income_account_id": (("name", "shipping income"), ("name", "shipping")),
    "discount_account_id": (("detail", "DiscountsRefundsGiven"), ("name", "discount")),
    "tax_liability_account_id": (("detail", "SalesTaxPayable"), ("name", "sales tax")),
    "deposit_account_id": (("detail", "UndepositedFunds"), ("name", "undeposited")),
    "shipping_expense_account_id": (("detail", "ShippingFreightDelivery"), ("name", "postage")),
    "label_payment_account_id": (("detail", "Checking"), ("kind", "Bank")),
    "reconciliation_account_id": (("name", "reconciliation"), ("name", "uncategorized")),
}


def posting_settings_suggest(
    *,
    connection: LedgerConnection,
    catalog: LedgerCatalog,
    suggested: dict[str, str] | None = None,
) -> int:
    """Fill the empty account mappings with the likeliest accounts of the catalog (the
    merchant reviews them on the settings page before anything is posted): the ledger's own
    ``suggested`` values first, then the rules below. Returns how many were filled."""
    settings_obj = (
        PostingSettings.objects.for_org(connection.organization_id)
        .filter(ledger_connection=connection)
        .first()
    )
    if settings_obj is None:
        return 0
    filled = []
    allowed_types = {str(k) for k in get_provider(connection.provider).sale_kinds}
    allowed_types.add(SaleDocumentType.DAILY_SUMMARY)
    for field_name, value in (suggested or {}).items():
        current = getattr(settings_obj, field_name)
        # The ledger's document type replaces only one it cannot take (Xero: no receipts).
        replace = current not in allowed_types if field_name == "document_type" else not current
        if value and current != value and replace:
            setattr(settings_obj, field_name, value)
            filled.append(field_name)
    for field_name, rules in _SUGGESTIONS.items():
        if getattr(settings_obj, field_name):
            continue
        for how, wanted in rules:
            match = next(
                (
                    a
                    for a in catalog.accounts
                    if a.active
                    and (
                        (how == "detail" and a.detail == wanted)
                        or (how == "kind" and a.kind == wanted)
                        or (how == "name" and wanted in a.name.casefold())
                    )
                ),
                None,
            )
            if match is not None:
                setattr(settings_obj, field_name, match.id)
                filled.append(field_name)
                break
    if filled:
        settings_obj.save(update_fields=[*filled, "updated_at"])
    return len(filled)


@sensitive_variables()
def ledger_disconnect(*, connection: LedgerConnection, user=None, request=None) -> None:
    """Give up the ledger's grant and forget the tokens. Postings stay (history), and
    nothing is posted to this connection any more."""
    provider = get_provider(connection.provider)
    tokens = _tokens_of(connection) if connection.tokens else None
    revoked = False
    if tokens is not None:
        try:
            provider.disconnect(company_id=connection.company_id, tokens=tokens)
            revoked = True
        except IntegrationError:
            logger.warning("revoking ledger %s failed; tokens are forgotten anyway", connection.pk)
    with transaction.atomic():
        row = (
            LedgerConnection.objects.for_org(connection.organization_id)
            .select_for_update()
            .get(pk=connection.pk)
        )
        row.tokens = None
        row.access_token_expires_at = None
        row.refresh_token_expires_at = None
        row.status = LedgerStatus.DISABLED
        row.status_message = ""
        row.save()
        audit_record(
            action="ledger.disconnected",
            organization_id=row.organization_id,
            actor=user,
            target=row,
            metadata={"provider": row.provider, "revoked": revoked},
            request=request,
        )
    connection.refresh_from_db()


def ledger_mark_needs_reauth(*, connection_id: int, reason: str = "") -> bool:
    """The ledger refused our tokens: stop posting, tell the members (once per incident).
    Returns True when this call changed the status."""
    with transaction.atomic():
        row = LedgerConnection.objects.select_for_update().get(pk=connection_id)
        if row.status != LedgerStatus.ACTIVE:
            return False
        row.status = LedgerStatus.NEEDS_REAUTH
        row.status_message = reason or _(
            "%(ledger)s no longer accepts Unify's access. Reconnect it on the Accounting tab; "
            "postings wait until then."
        ) % {"ledger": row.get_provider_display()}
        row.save(update_fields=["status", "status_message", "updated_at"])
        audit_record(
            action="ledger.needs_reauth",
            organization_id=row.organization_id,
            target=row,
            metadata={"provider": row.provider},
        )
        # The members hear of it once, in-app and by email as each chose.
        notification_events.ledger_disconnected(row)
    return True


def ledger_test_connection(*, connection: LedgerConnection, user=None) -> str:
    """A live call to the ledger. Returns the company name; a refused token marks the
    connection as needing to be reconnected."""
    if connection.status == LedgerStatus.DISABLED:
        raise DomainError("disconnected", user_message=_("This ledger is disconnected."))
    adapter = ledger_adapter(connection)
    try:
        company = adapter.verify()
    except ProviderAuthError:
        ledger_mark_needs_reauth(connection_id=connection.pk)
        raise
    now = timezone.now()
    LedgerConnection.objects.for_org(connection.organization_id).filter(pk=connection.pk).update(
        company_name=company.name or connection.company_name, last_verified_at=now, updated_at=now
    )
    connection.refresh_from_db()
    return connection.company_name


def ledger_catalog_refresh(*, connection: LedgerConnection) -> LedgerCatalog:
    try:
        catalog = ledger_adapter(connection).fetch_catalog()
    except ProviderAuthError:
        ledger_mark_needs_reauth(connection_id=connection.pk)
        raise
    now = timezone.now()
    LedgerConnection.objects.for_org(connection.organization_id).filter(pk=connection.pk).update(
        catalog=catalog.to_json(), catalog_fetched_at=now, updated_at=now
    )
    connection.catalog = catalog.to_json()
    connection.catalog_fetched_at = now
    return catalog


def posting_settings_update(
    *, posting_settings: PostingSettings, values: dict[str, Any], user=None, request=None
) -> PostingSettings:
    """Save the posting settings form's cleaned values (ledger ids already checked against
    the catalog by the form). Compared with the stored row, not the form's instance (a
    ModelForm writes into its instance while validating)."""
    with transaction.atomic():
        row = (
            PostingSettings.objects.for_org(posting_settings.organization_id)
            .select_for_update()
            .get(pk=posting_settings.pk)
        )
        changed = []
        for name, value in values.items():
            if value is None and name != "start_date":
                value = ""
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed.append(name)
        if changed:
            row.save()
            # Items Unify made for an account that is no longer mapped: not used again.
            forget_changed_mappings(row.ledger_connection_id, changed)
            # Summaries held for their currency follow the new settings.
            summaries.currency_holds_follow_settings(row, changed, user=user)
            audit_record(
                action="posting_settings.updated",
                organization_id=row.organization_id,
                actor=user,
                target=row,
                metadata={"fields": sorted(changed)},
                request=request,
            )
    return row
