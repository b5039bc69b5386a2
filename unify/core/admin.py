from django.contrib import admin

from unify.core.admin_audit import TenantAuditedAdmin
from unify.core.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(TenantAuditedAdmin):
    list_display = ("at", "organization", "actor", "action", "target", "ip")
    list_filter = ("action",)
    search_fields = ("action", "target", "organization__name", "actor__email")
    list_select_related = ("organization", "actor")
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
