"""Support access is always audited: every admin page that shows an organization's data and
every change staff make through the admin are written to that organization's activity log.

``TenantAuditedAdmin`` is the base of every ModelAdmin of tenant data (a test checks that no
registered tenant model's admin lacks it):

- a list page records ``support.viewed`` once per organization whose rows it shows (with
  how many), a detail, history or delete-confirmation page once for its object's
  organization;
- a save records ``support.changed`` / ``support.added`` (the fields), a delete
  ``support.deleted``, also for rows changed through inlines;
- a membership added, changed or removed by staff (inline or its own page) is recorded as
  ``membership.changed_by_support`` and emailed to the organization's owners: support adding
  itself as an owner must never go unnoticed.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from unify.core.audit import audit_record
from unify.core.i18n import send_mail_each_language
from unify.core.mail import subject_text

logger = logging.getLogger(__name__)


def organization_id_of(obj: Any) -> int | None:
    from unify.tenancy.models import Organization

    if isinstance(obj, Organization):
        return obj.pk
    return getattr(obj, "organization_id", None)


def _page(model_admin: admin.ModelAdmin, view: str) -> str:
    return f"admin:{model_admin.opts.app_label}_{model_admin.opts.model_name}_{view}"


class TenantAuditedAdmin(admin.ModelAdmin):
    # -- views -------------------------------------------------------------------------------

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        if request.method == "GET" and response.status_code == 200:
            changelist = (getattr(response, "context_data", None) or {}).get("cl")
            if changelist is not None:
                shown = Counter(organization_id_of(obj) for obj in changelist.result_list)
                for organization_id, rows in sorted(shown.items(), key=lambda i: i[0] or 0):
                    if organization_id is not None:
                        audit_record(
                            action="support.viewed",
                            organization_id=organization_id,
                            actor=request.user,
                            target=self.opts.label_lower,
                            metadata={"page": _page(self, "changelist"), "rows": rows},
                            request=request,
                        )
        return response

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        self._audit_object_page(request, object_id, response, "change")
        return response

    def history_view(self, request: HttpRequest, object_id: str, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        self._audit_object_page(request, object_id, response, "history")
        return response

    def delete_view(self, request: HttpRequest, object_id: str, extra_context=None):
        response = super().delete_view(request, object_id, extra_context)
        self._audit_object_page(request, object_id, response, "delete")
        return response

    def _audit_object_page(
        self, request: HttpRequest, object_id: str, response: HttpResponse, view: str
    ) -> None:
        if request.method != "GET" or response.status_code != 200:
            return
        obj = self.get_object(request, object_id)
        if obj is None or organization_id_of(obj) is None:
            return
        audit_record(
            action="support.viewed",
            organization_id=organization_id_of(obj),
            actor=request.user,
            target=obj,
            metadata={"page": _page(self, view)},
            request=request,
        )

    # -- changes -----------------------------------------------------------------------------

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        _audit_change(request, obj, "support.changed" if change else "support.added", form)
        _notify_if_membership(request, obj, "changed" if change else "added")

    def delete_model(self, request: HttpRequest, obj) -> None:
        _audit_change(request, obj, "support.deleted", None)
        _notify_if_membership(request, obj, "removed")
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for obj in queryset:
            _audit_change(request, obj, "support.deleted", None)
            _notify_if_membership(request, obj, "removed")
        super().delete_queryset(request, queryset)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        deleted = [f.instance for f in formset.deleted_forms if f.instance.pk is not None]
        changed = [
            (f.instance, f)
            for f in formset.forms
            if f.has_changed() and f not in formset.deleted_forms
        ]
        for obj in deleted:
            _audit_change(request, obj, "support.deleted", None)
            _notify_if_membership(request, obj, "removed")
        was_new = {id(obj): obj.pk is None for obj, _f in changed}
        super().save_formset(request, form, formset, change)
        for obj, inline_form in changed:
            action = "support.added" if was_new[id(obj)] else "support.changed"
            _audit_change(request, obj, action, inline_form)
            _notify_if_membership(request, obj, "added" if was_new[id(obj)] else "changed")


def _audit_change(request: HttpRequest, obj, action: str, form) -> None:
    organization_id = organization_id_of(obj)
    if organization_id is None:
        return
    metadata: dict[str, Any] = {"model": obj._meta.label_lower, "by": "support"}
    if form is not None:
        metadata["fields"] = sorted(form.changed_data)
    audit_record(
        action=action,
        organization_id=organization_id,
        actor=request.user,
        target=obj,
        metadata=metadata,
        request=request,
    )


def _notify_if_membership(request: HttpRequest, obj, change: str) -> None:
    from unify.tenancy.models import Membership, Role

    if not isinstance(obj, Membership):
        return
    user = obj.user
    audit_record(
        action="membership.changed_by_support",
        organization_id=obj.organization_id,
        actor=request.user,
        target=obj if change != "removed" else f"tenancy.membership:{obj.pk}",
        metadata={"change": change, "email": user.email, "role": obj.role},
        request=request,
    )
    staff = (request.user.pk, request.user.email or request.user.get_username())
    # The role label stays lazy: each owner reads it in their own language.
    details = {"change": change, "email": user.email, "role": Role(obj.role).label}
    organization_id = obj.organization_id
    transaction.on_commit(lambda: _email_owners(organization_id, staff, details))


def _email_owners(organization_id: int, staff: tuple[int, str], details: dict[str, str]) -> None:
    """The owners, except the staff member who made the change (if they are one now)."""
    from unify.tenancy.models import Organization
    from unify.tenancy.selectors import owner_emails

    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return
    recipients = owner_emails(organization_id=organization_id, exclude_user_id=staff[0])
    if not recipients:
        return
    context = {**details, "staff": staff[1], "org": subject_text(organization.name)}

    def build() -> tuple[str, str]:
        what = {
            "added": _("Unify support (%(staff)s) added %(email)s to %(org)s as %(role)s."),
            "changed": _(
                "Unify support (%(staff)s) changed the membership of %(email)s in %(org)s; "
                "the role is now %(role)s."
            ),
            "removed": _("Unify support (%(staff)s) removed %(email)s from %(org)s."),
        }[details["change"]] % context
        # Two paragraphs, each a whole sentence of its own.
        body = "\n\n".join([what, _(
            "It is recorded in your organization's activity log. If you did not ask support "
            "for this, reply to this email or contact support."
        )])  # fmt: skip
        subject = _("[Unify] Support changed a membership of %(org)s") % {"org": context["org"]}
        return subject, body

    try:
        # Each owner reads it in their own language.
        send_mail_each_language(recipients, build)
    except Exception:  # the change stands; the activity log has it
        logger.exception("could not email owners of organization %s", organization_id)
