"""URL map. Tenant pages live under ``/o/<org_slug>/``; the organization middleware
resolves and checks the organization for every one of them."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path
from django.utils.translation import gettext_lazy

from accounting.ledgers.registry import ledger_url_patterns
from unify.core.i18n import set_language
from unify.tenancy import views as tenancy_views


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


# Staff sign in through allauth like everyone else, so rate limits and MFA apply to the admin.
# Set before admin.site.urls is read below, which binds the login view.
admin.site.login = secure_admin_login(admin.site.login)

tenant_patterns = [
    path("", include("unify.tenancy.urls")),
    path("connections/", include("connections.urls")),
    path("sales/", include("sales.urls")),
    path("accounting/", include("accounting.urls")),
    path("notifications/", include("unify.notifications.urls")),
]

urlpatterns = [
    path("", tenancy_views.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("admin/", admin.site.urls),
    # The support console: staff with a second factor only (404 for everyone else), audited.
    path("support/", include("unify.support.urls")),
    path("accounts/", include("allauth.urls")),
    path("organizations/new/", tenancy_views.organization_create, name="organization_create"),
    path("invitations/<str:token>/", tenancy_views.invitation_accept, name="invitation_accept"),
    # Ledger OAuth callbacks: fixed redirect URIs; the organization comes from the session.
    path("ledgers/", include("accounting.oauth_urls")),
    # Provider callbacks: public, authenticated by a secret token in the path.
    path("webhooks/", include("sales.webhook_urls")),
    # Ledgers' services at fixed addresses outside clients call (a desktop ledger's
    # connector): each authenticates its own calls.
    *ledger_url_patterns("root"),
    path("o/<slug:org_slug>/", include(tenant_patterns)),
]

admin.site.site_header = gettext_lazy("Unify support")
admin.site.site_title = gettext_lazy("Unify support")
