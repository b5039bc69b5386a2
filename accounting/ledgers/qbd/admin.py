"""Support's read-only view of Web Connector users, sessions and their exchanges (no
password hash, no ticket hash)."""

from __future__ import annotations

from django.contrib import admin

from accounting.ledgers.qbd.models import (
    QbdDocument,
    WebConnectorExchange,
    WebConnectorSession,
    WebConnectorUser,
)
from unify.core.admin_audit import TenantAuditedAdmin


class ReadOnly(TenantAuditedAdmin):
    """Read-only, and like every tenant admin: each view written to the organization's
    activity log."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebConnectorUser)
class WebConnectorUserAdmin(ReadOnly):
    list_display = ("username", "organization", "last_contact_at", "company_file", "last_error_at")
    search_fields = ("username", "organization__name", "organization__slug")
    fields = (
        "organization",
        "ledger_connection",
        "username",
        "owner_id",
        "file_id",
        "password_set_at",
        "last_contact_at",
        "company_file",
        "qbxml_version",
        "last_error",
        "last_error_at",
        "catalog_requested",
    )


class ExchangeInline(admin.TabularInline):
    model = WebConnectorExchange
    fields = ("created_at", "method", "result", "hresult", "message", "duration_ms")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(WebConnectorSession)
class WebConnectorSessionAdmin(ReadOnly):
    list_display = ("pk", "organization", "state", "created_at", "exchanges", "posted", "failed")
    list_filter = ("state",)
    fields = (
        "organization",
        "web_connector",
        "state",
        "created_at",
        "last_activity_at",
        "closed_at",
        "exchanges",
        "total",
        "posted",
        "failed",
        "last_error",
    )
    inlines = [ExchangeInline]


@admin.register(WebConnectorExchange)
class WebConnectorExchangeAdmin(ReadOnly):
    list_display = ("pk", "session", "method", "result", "created_at")
    fields = ("session", "method", "request_xml", "response_xml", "hresult", "message", "result")


@admin.register(QbdDocument)
class QbdDocumentAdmin(ReadOnly):
    list_display = ("posting", "organization", "step", "txn_id", "sent_at")
    list_filter = ("step",)
