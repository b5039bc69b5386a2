"""The support console's safe actions. Each runs in the organization's scope through the
same service the merchant's own button calls, and is written to the organization's
activity log (``support.action``) with who did it."""

from __future__ import annotations

from dataclasses import dataclass
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
        SupportAction("change_plan", gettext_lazy("Change plan")),
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
