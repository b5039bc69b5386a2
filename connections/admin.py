"""Support staff's view of store connections: everything but the credentials, which appear
only as the masked hint. Keys cannot be read or edited here (merchants update them on the
connection page, where they are verified first)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from connections.models import OrderFileUpload, SourceStore, StoreConnection
from unify.core.admin_audit import TenantAuditedAdmin
from unify.core.audit import audit_record


class SourceStoreInline(admin.TabularInline):
    model = SourceStore
    extra = 0
    fields = ("external_id", "name", "marketplace_name", "active", "included")
    readonly_fields = ("external_id", "name", "marketplace_name", "active")
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StoreConnection)
class StoreConnectionAdmin(TenantAuditedAdmin):
    list_display = (
        "name",
        "organization",
        "provider",
        "mode",
        "status",
        "credentials_hint",
        "last_sync_at",
        "next_sync_at",
    )
    list_filter = ("provider", "mode", "status")
    search_fields = ("name", "organization__name", "organization__slug")
    list_select_related = ("organization",)
    # "credentials" (ciphertext column) and "credentials_fingerprint" are deliberately absent.
    fields = (
        "organization",
        "name",
        "provider",
        "mode",
        "status",
        "status_message",
        "credentials_hint",
        "created_by",
        "last_verified_at",
        "disconnected_at",
        "currency",
        "import_start_date",
        "order_statuses",
        "sync_interval_minutes",
        "auto_sync_enabled",
        "pull_label_costs",
        "last_sync_at",
        "next_sync_at",
        "orders_watermark",
        "shipments_watermark",
        "webhook_ids",
        "created_at",
        "updated_at",
    )
    readonly_fields = (
        "organization",
        "provider",
        "mode",
        "status",
        "credentials_hint",
        "created_by",
        "last_verified_at",
        "disconnected_at",
        "last_sync_at",
        "orders_watermark",
        "shipments_watermark",
        "webhook_ids",
        "created_at",
        "updated_at",
    )
    inlines = [SourceStoreInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A connection exists only after its source accepted its keys (the Add Store flow).
        return False

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change and form.changed_data:
            audit_record(
                action="connection.settings_changed",
                organization_id=obj.organization_id,
                actor=request.user,
                target=obj,
                metadata={"changed": list(form.changed_data), "by": "support"},
                request=request,
            )


@admin.register(SourceStore)
class SourceStoreAdmin(TenantAuditedAdmin):
    list_display = ("name", "marketplace_name", "connection", "organization", "active", "included")
    list_filter = ("active", "included")
    search_fields = ("name", "organization__name", "connection__name")
    list_select_related = ("connection", "organization")
    readonly_fields = (
        "organization",
        "connection",
        "external_id",
        "name",
        "marketplace_id",
        "marketplace_name",
        "active",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(OrderFileUpload)
class OrderFileUploadAdmin(TenantAuditedAdmin):
    list_display = (
        "file_name",
        "organization",
        "status",
        "rows_total",
        "rows_rejected",
        "orders_created",
        "created_at",
    )
    list_filter = ("status", "file_format")
    search_fields = ("file_name", "organization__name")
    list_select_related = ("organization",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
