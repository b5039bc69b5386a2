"""The support console's safe actions. Each runs in the organization's scope through the
same service the merchant's own button calls, and is written to the organization's
activity log (``support.action``) with who did it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from unify.core.audit import audit_record
from unify.core.exceptions import DomainError
from unify.tenancy.models import Organization
from unify.tenancy.plans import PlanKey
from unify.tenancy.scoping import org_scope


@dataclass(frozen=True, slots=True)
class SupportAction:
    key: str
    label: Any
    needs_connection: bool = False


ACTIONS = {
    a.key: a
    for a in (
        SupportAction("sync_now", gettext_lazy("Sync now"), needs_connection=True),
        SupportAction("retry_failed", gettext_lazy("Retry failed postings")),
        SupportAction("pause_schedule", gettext_lazy("Pause the sync schedule"), True),
        SupportAction("resume_schedule", gettext_lazy("Resume the sync schedule"), True),
        SupportAction("sync_from", gettext_lazy("Re-run a sync from a date"), True),
        SupportAction("change_plan", gettext_lazy("Change plan")),
        SupportAction("resend_invitation", gettext_lazy("Resend an invitation")),
        SupportAction("unlock_member", gettext_lazy("Unlock a locked-out member")),
    )
}


class SupportActionRefused(DomainError):
    pass


def _connection(organization: Organization, connection_id: Any):
    from connections.models import StoreConnection

    try:
        return StoreConnection.objects.get(organization=organization, pk=int(connection_id))
    except (StoreConnection.DoesNotExist, TypeError, ValueError):
        message = _("Choose a connection of this organization.")
        raise SupportActionRefused(user_message=message) from None


def support_action_run(
    *, organization: Organization, action: str, data: dict[str, Any], request: HttpRequest
) -> str:
    """Run one action; returns the message to show. Raises ``SupportActionRefused``."""
    from accounting.services import engine
    from sales.models import SyncKind
    from sales.services import sync_request

    spec = ACTIONS.get(action)
    if spec is None:
        raise SupportActionRefused(user_message=_("Unknown action."))
    metadata: dict[str, Any] = {"action": action}
    with org_scope(organization.pk):
        connection = (
            _connection(organization, data.get("connection_id"))
            if (spec.needs_connection)
            else None
        )
        if connection is not None:
            metadata["connection_id"] = connection.pk
        if action == "sync_now":
            run = sync_request(
                organization=organization,
                connection=connection,
                kind=SyncKind.MANUAL,
                requested_by=request.user,
            )
            metadata["run_id"] = run.pk
            message = _("Sync queued for %(name)s.") % {"name": connection.name}
        elif action == "retry_failed":
            batch = engine.posting_retry_failed(organization=organization, user=request.user)
            metadata["batch_id"] = batch.pk if batch is not None else None
            message = _("Failed postings queued again.") if batch else _("No failed postings.")
        elif action in ("pause_schedule", "resume_schedule"):
            connection.auto_sync_enabled = action == "resume_schedule"
            connection.save(update_fields=["auto_sync_enabled", "updated_at"])
            message = (
                _("Schedule resumed for %(name)s.")
                if connection.auto_sync_enabled
                else _("Schedule paused for %(name)s.")
            ) % {"name": connection.name}
        elif action == "sync_from":
            message = _sync_from(organization, connection, data, request, metadata)
        elif action == "resend_invitation":
            message = _resend_invitation(organization, data, metadata)
        elif action == "unlock_member":
            message = _unlock_member(organization, data, request, metadata)
        else:  # change_plan
            plan = data.get("plan", "")
            if plan not in PlanKey.values:
                raise SupportActionRefused(user_message=_("Choose a plan."))
            metadata["from"], metadata["to"] = organization.plan, plan
            organization.plan = plan
            organization.save(update_fields=["plan", "updated_at"])
            message = _("Plan changed to %(plan)s.") % {"plan": PlanKey(plan).label}
        audit_record(
            action="support.action",
            organization=organization,
            actor=request.user,
            target=connection if connection is not None else organization,
            metadata=metadata,
            request=request,
        )
    return message


def _sync_from(organization, connection, data, request, metadata) -> str:
    """Move the connection's watermarks back to midnight of the date (organization's zone)
    and queue a sync: the import reads that window again (it upserts, nothing doubles)."""
    from sales.models import OPEN_SYNC_STATUSES, SyncKind, SyncRun
    from sales.services import sync_request

    try:
        day = date.fromisoformat(str(data.get("from_date", "")))
    except ValueError:
        raise SupportActionRefused(user_message=_("Enter the date to sync from.")) from None
    if SyncRun.objects.filter(
        organization=organization, connection=connection, status__in=OPEN_SYNC_STATUSES
    ).exists():
        raise SupportActionRefused(
            user_message=_("A sync of this connection is running: try again when it ends.")
        )
    start = datetime.combine(day, time(), tzinfo=organization.tzinfo)
    for field in ("orders_watermark", "shipments_watermark"):
        current = getattr(connection, field)
        setattr(connection, field, start if current is None else min(current, start))
    connection.save(update_fields=["orders_watermark", "shipments_watermark", "updated_at"])
    run = sync_request(
        organization=organization,
        connection=connection,
        kind=SyncKind.MANUAL,
        requested_by=request.user,
    )
    metadata.update({"from_date": day.isoformat(), "run_id": run.pk})
    return _("Sync from %(day)s queued for %(name)s.") % {
        "day": day.isoformat(),
        "name": connection.name,
    }


def _resend_invitation(organization, data, metadata) -> str:
    """Send a pending invitation's email again (same link), a week more if it expired."""
    from django.core.mail import send_mail
    from django.template.loader import render_to_string
    from django.urls import reverse
    from django.utils import timezone

    from unify.core.mail import subject_text
    from unify.core.site import site_url
    from unify.tenancy.models import Invitation

    try:
        invitation = Invitation.objects.get(
            organization=organization,
            pk=int(data.get("invitation_id", "")),
            accepted_at__isnull=True,
            revoked_at__isnull=True,
        )
    except (Invitation.DoesNotExist, TypeError, ValueError):
        raise SupportActionRefused(user_message=_("Choose a pending invitation.")) from None
    if invitation.expires_at <= timezone.now():
        invitation.expires_at = timezone.now() + timedelta(days=7)
        invitation.save(update_fields=["expires_at", "updated_at"])
    accept_url = site_url(reverse("invitation_accept", kwargs={"token": invitation.token}))
    context = {"invitation": invitation, "accept_url": accept_url, "inviter": invitation.invited_by}
    send_mail(
        subject=_("You are invited to %(org)s on Unify") % {"org": subject_text(organization.name)},
        message=render_to_string("tenancy/email/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )
    metadata.update({"invitation_id": invitation.pk, "email": invitation.email})
    return _("Invitation sent again to %(email)s.") % {"email": invitation.email}


def _unlock_member(organization, data, request, metadata) -> str:
    """Forget a member's failed sign-ins (too many wrong passwords or authenticator codes
    lock them out for a while): they can sign in again at once."""
    from unify.tenancy.lockouts import login_lockout_clear
    from unify.tenancy.models import Membership

    try:
        membership = Membership.objects.select_related("user").get(
            organization=organization, pk=int(data.get("membership_id", ""))
        )
    except (Membership.DoesNotExist, TypeError, ValueError):
        raise SupportActionRefused(
            user_message=_("Choose a member of this organization.")
        ) from None
    user = membership.user
    was_locked = login_lockout_clear(request, user)
    metadata.update({"membership_id": membership.pk, "email": user.email, "was_locked": was_locked})
    if was_locked:
        return _("%(email)s can sign in again.") % {"email": user.email}
    return _("%(email)s was not locked out; nothing to unlock.") % {"email": user.email}
