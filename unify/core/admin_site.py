"""Staff roles in Django's admin: a superuser has the full admin; a support person (staff,
not superuser) works from the support console (``/support/``) and has the admin read-only,
without the models that hold people's accounts or secrets.

Every ModelAdmin registered on the site (ours, Django's and allauth's) gets
:class:`StaffRoleAdmin` in front of it, so the rule holds for models registered later too
(a test walks the registry). For a support person:

- no add, change or delete, and no bulk actions, on any model (read-only);
- the sensitive models are refused outright (403, and absent from the index): users and
  groups (staff are users: nobody but a superuser changes another staff member), email
  addresses and authenticators (taking over an account), and the connections that hold
  credentials (source keys, ledger tokens, Web Connector passwords).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest

# model labels (app_label.ModelName) a support person may not open at all
SENSITIVE_FOR_SUPPORT = frozenset(
    {
        "auth.User",
        "auth.Group",
        "account.EmailAddress",
        "mfa.Authenticator",
        "connections.StoreConnection",
        "accounting.LedgerConnection",
        "qbd.WebConnectorUser",
    }
)


def is_superuser(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_superuser)


def is_support_person(request: HttpRequest) -> bool:
    """Staff who are not superusers: the support console's role."""
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff and not user.is_superuser)


class StaffRoleAdmin(admin.ModelAdmin):
    """Superusers: whatever the ModelAdmin allows. Support people: read-only, and nothing
    of the sensitive models."""

    def _support_may_view(self) -> bool:
        return self.opts.label not in SENSITIVE_FOR_SUPPORT

    def has_module_permission(self, request: HttpRequest) -> bool:
        if is_superuser(request):
            return super().has_module_permission(request)
        return is_support_person(request) and self._support_may_view()

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        if is_superuser(request):
            return super().has_view_permission(request, obj)
        return is_support_person(request) and self._support_may_view()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_superuser(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_superuser(request) and super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest):
        if not is_superuser(request):
            return {}
        return super().get_actions(request)


class UnifyAdminSite(admin.AdminSite):
    def register(self, model_or_iterable, admin_class=None, **options) -> None:
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, StaffRoleAdmin):
            admin_class = type(
                admin_class.__name__,
                (StaffRoleAdmin, admin_class),
                {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
            )
        super().register(model_or_iterable, admin_class, **options)


class UnifyAdminConfig(AdminConfig):
    """``django.contrib.admin`` with :class:`UnifyAdminSite` as ``admin.site``."""

    default_site = "unify.core.admin_site.UnifyAdminSite"
