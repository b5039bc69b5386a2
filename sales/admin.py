"""Support staff's view of the import: orders, label costs, sync runs and unreadable records.

Read-mostly: the import owns these rows, so nothing here edits them. The one action is
"Sync again" on sync runs, which queues a sync of each selected run's connection (an open
run is resumed rather than duplicated) and is audited in the customer's log.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from sales.models import ImportIssue, Order, OrderLine, ShippingCost, SyncKind, SyncRun
from unify.core.admin_audit import TenantAuditedAdmin
from unify.core.audit import audit_record
from unify.core.exceptions import DomainError
from unify.tenancy.scoping import org_scope


def _pretty_json(value) -> str:
    text = json.dumps(value, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
    return format_html("<pre>{}</pre>", text)


class ReadOnlyAdmin(TenantAuditedAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ("position", "sku", "name", "quantity", "unit_price", "tax", "is_discount")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ShippingCostInline(admin.TabularInline):
    model = ShippingCost
    extra = 0
    can_delete = False
    fields = ("external_id", "carrier", "service", "cost", "insurance", "voided", "is_return")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = (
        "number", "organization", "store_name", "status", "order_date", "order_total",
        "reconciliation_difference", "label_cost_total", "posting_status",
    )  # fmt: skip
    list_filter = ("source", "status", "posting_status", "label_status", "is_cancelled")
    search_fields = ("number", "external_id", "order_key", "customer_email", "organization__slug")
    list_select_related = ("organization",)
    date_hierarchy = "order_date"
    inlines = [OrderLineInline, ShippingCostInline]
    fieldsets = (
        (None, {"fields": (
            "organization", "connection", "source", "source_store", "store_name", "external_id",
            "order_key", "number", "status", "order_date", "payment_date", "create_date",
            "modify_date", "ship_date", "customer_name", "customer_email", "currency",
        )}),
        (_("Amounts"), {"fields": (
            "lines_subtotal", "discount_total", "tax_total", "shipping_charged", "order_total",
            "amount_paid", "reconciliation_difference", "label_cost_total",
            "return_label_cost_total", "label_status", "items_count",
        )}),
        (_("Flags"), {"fields": (
            "is_cancelled", "externally_fulfilled", "changed_after_posting", "is_ignored",
            "posting_status", "last_synced_at",
        )}),
        (_("Source record"), {"classes": ("collapse",), "fields": ("raw_pretty",)}),
    )  # fmt: skip
    readonly_fields = ("raw_pretty",)

    @admin.display(description=_("source record"))
    def raw_pretty(self, obj: Order) -> str:
        return _pretty_json(obj.raw)


@admin.register(ShippingCost)
class ShippingCostAdmin(ReadOnlyAdmin):
    list_display = (
        "external_id", "organization", "order_number", "order", "carrier", "service", "cost",
        "insurance", "voided", "is_return", "create_date",
    )  # fmt: skip
    list_filter = ("voided", "is_return", "carrier")
    search_fields = ("external_id", "order_number", "order_external_id", "tracking_number")
    list_select_related = ("organization", "order")
    exclude = ("raw",)
    readonly_fields = ("raw_pretty",)

    @admin.display(description=_("source record"))
    def raw_pretty(self, obj: ShippingCost) -> str:
        return _pretty_json(obj.raw)


class ImportIssueInline(admin.TabularInline):
    model = ImportIssue
    extra = 0
    can_delete = False
    fields = ("kind", "external_ref", "reason")
    readonly_fields = fields
    max_num = 0

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = (
        "pk", "organization", "connection", "kind", "status", "phase", "pages_done",
        "pages_total", "orders_created", "orders_updated", "costs_created", "issues_count",
        "started_at", "finished_at",
    )  # fmt: skip
    list_filter = ("status", "kind", "phase")
    search_fields = ("organization__slug", "organization__name", "connection__name")
    list_select_related = ("organization", "connection")
    exclude = ("lease_token",)
    inlines = [ImportIssueInline]
    actions = ["sync_again"]

    @admin.action(description=_("Sync again (queue a sync of the selected runs' connections)"))
    def sync_again(self, request: HttpRequest, queryset) -> None:
        from sales.services.sync import sync_request

        seen: set[int] = set()
        for run in queryset.select_related("connection", "organization"):
            if run.connection_id in seen:
                continue
            seen.add(run.connection_id)
            with org_scope(run.organization_id):
                try:
                    queued = sync_request(
                        organization=run.organization,
                        connection=run.connection,
                        kind=SyncKind.MANUAL,
                        requested_by=request.user,
                    )
                except DomainError as exc:
                    self.message_user(
                        request,
                        _("%(connection)s: %(message)s")
                        % {"connection": run.connection, "message": exc.user_message},
                        messages.WARNING,
                    )
                    continue
            audit_record(
                action="support.sync_requested",
                organization=run.organization,
                actor=request.user,
                target=run.connection,
                metadata={"run": queued.pk, "from_run": run.pk},
                request=request,
            )
            self.message_user(
                request,
                _("%(connection)s: sync run #%(run)s queued")
                % {"connection": run.connection, "run": queued.pk},
            )


@admin.register(ImportIssue)
class ImportIssueAdmin(ReadOnlyAdmin):
    list_display = ("pk", "organization", "connection", "run", "kind", "external_ref", "reason")
    list_filter = ("kind",)
    search_fields = ("external_ref", "reason", "organization__slug")
    list_select_related = ("organization", "connection", "run")
