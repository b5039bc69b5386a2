"""Support staff's view of organizations (``/admin/``, staff only, signed in through allauth)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from unify.core.admin_audit import TenantAuditedAdmin
from unify.core.audit import audit_record
from unify.tenancy.models import Invitation, Membership, Organization


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)
    readonly_fields = ("created_at",)


@admin.register(Organization)
class OrganizationAdmin(TenantAuditedAdmin):
    list_display = ("name", "slug", "plan", "timezone", "created_at")
    list_filter = ("plan",)
    list_editable = ("plan",)
    search_fields = ("name", "slug", "memberships__user__email")
    readonly_fields = ("created_at", "updated_at")
    fields = ("name", "slug", "plan", "timezone", "created_at", "updated_at")
    inlines = [MembershipInline]

    def save_model(self, request: HttpRequest, obj: Organization, form, change: bool) -> None:
        if change and "plan" in form.changed_data:
            audit_record(
                action="organization.plan_changed",
                organization=obj,
                actor=request.user,
                target=obj,
                metadata={"from": form.initial.get("plan"), "to": obj.plan, "by": "support"},
                request=request,
            )
        super().save_model(request, obj, form, change)


@admin.register(Membership)
class MembershipAdmin(TenantAuditedAdmin):
    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "organization__name", "organization__slug")
    list_select_related = ("user", "organization")
    autocomplete_fields = ("user", "organization")


@admin.register(Invitation)
class InvitationAdmin(TenantAuditedAdmin):
    # The token is the invitation's password: never shown, never searchable.
    list_display = ("email", "organization", "role", "expires_at", "accepted_at", "revoked_at")
    list_filter = ("role",)
    search_fields = ("email", "organization__name")
    list_select_related = ("organization",)
    autocomplete_fields = ("organization",)
    fields = (
        "organization",
        "email",
        "role",
        "expires_at",
        "invited_by",
        "accepted_at",
        "accepted_by",
        "revoked_at",
    )
    readonly_fields = ("accepted_at", "accepted_by", "invited_by")
