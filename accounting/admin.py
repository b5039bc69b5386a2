"""Support staff's view of ledgers and postings. Tokens never appear (the encrypted column is
not editable, so no admin form shows it); postings can be read, and failed ones queued
again, which is audited."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy, ngettext

from accounting.models import LedgerConnection, Posting, PostingBatch, PostingSettings
from unify.core.admin_audit import TenantAuditedAdmin
from unify.core.audit import audit_record


@admin.register(LedgerConnection)
class LedgerConnectionAdmin(TenantAuditedAdmin):
    list_display = (
        "organization",
        "provider",
        "company_name",
        "company_id",
        "status",
        "access_token_expires_at",
        "last_verified_at",
    )
    list_filter = ("provider", "status")
    search_fields = ("organization__name", "organization__slug", "company_name", "company_id")
    list_select_related = ("organization",)
    # "tokens" is deliberately absent; "catalog" is large and only for the settings form.
    fields = (
        "organization",
        "provider",
        "status",
        "status_message",
        "company_id",
        "company_name",
        "access_token_expires_at",
        "refresh_token_expires_at",
        "tokens_refreshed_at",
        "connected_by",
        "connected_at",
        "last_verified_at",
        "catalog_fetched_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(PostingSettings)
class PostingSettingsAdmin(TenantAuditedAdmin):
    list_display = ("organization", "ledger_connection", "document_type", "trigger")
    list_select_related = ("organization", "ledger_connection")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PostingBatch)
class PostingBatchAdmin(TenantAuditedAdmin):
    list_display = ("created_at", "organization", "origin", "total", "not_eligible")
    list_select_related = ("organization",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Posting)
class PostingAdmin(TenantAuditedAdmin):
    list_display = (
        "document_number",
        "organization",
        "kind",
        "status",
        "attempts",
        "external_id",
        "needs_review",
        "updated_at",
    )
    list_filter = ("status", "kind", "needs_review")
    search_fields = ("document_number", "external_id", "source_reference", "organization__slug")
    list_select_related = ("organization",)
    readonly_fields = [f.name for f in Posting._meta.fields]
    actions = ["retry_failed"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=gettext_lazy("Queue the selected failed postings again"))
    def retry_failed(self, request, queryset) -> None:
        from accounting.services.engine import posting_retry_failed
        from unify.tenancy.models import Organization
        from unify.tenancy.scoping import org_scope

        failed = queryset.filter(status="failed")
        count = 0
        for organization_id in set(failed.values_list("organization_id", flat=True)):
            organization = Organization.objects.get(pk=organization_id)
            ids = list(failed.filter(organization_id=organization_id).values_list("pk", flat=True))
            with org_scope(organization_id):
                batch = posting_retry_failed(organization=organization, posting_ids=ids)
            count += batch.total if batch else 0
            audit_record(
                action="support.posting_retry",
                organization=organization,
                actor=request.user,
                metadata={"postings": ids},
                request=request,
            )
        messages.info(
            request,
            ngettext("%(n)s posting queued again.", "%(n)s postings queued again.", count)
            % {"n": count},
        )
