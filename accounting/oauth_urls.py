"""OAuth callbacks of the ledgers: one fixed redirect URI per ledger, registered with it, so
outside /o/<slug>/. The view takes the organization from the session's pending flow."""

from django.urls import path

from accounting import views
from accounting.ledgers.registry import ledger_url_patterns

urlpatterns = [
    # A ledger that reads its own callback (Xero: organisations, not a realmId) comes first.
    *ledger_url_patterns("callback"),
    path("<str:provider>/callback/", views.oauth_callback, name="ledger_oauth_callback"),
]
