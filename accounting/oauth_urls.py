"""OAuth callbacks of the ledgers: one fixed redirect URI per ledger, registered with it, so
outside /o/<slug>/. The view takes the organization from the session's pending flow."""

from django.urls import path

from accounting import views

urlpatterns = [
    path("<str:provider>/callback/", views.oauth_callback, name="ledger_oauth_callback"),
]
