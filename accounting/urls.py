from django.urls import path

from accounting import views
from accounting.ledgers.registry import ledger_url_patterns

app_name = "accounting"

urlpatterns = [
    # A ledger's own pages (e.g. an organisation picker, a connector's setup), before
    # the generic routes ("<provider>/connect/").
    *ledger_url_patterns("tenant"),
    path("", views.home, name="home"),
    path("<str:provider>/connect/", views.connect, name="connect"),
    path("ledgers/<int:ledger_connection_id>/test/", views.test_connection, name="test_connection"),
    path("ledgers/<int:ledger_connection_id>/disconnect/", views.disconnect, name="disconnect"),
    path(
        "ledgers/<int:ledger_connection_id>/catalog/",
        views.catalog_refresh,
        name="catalog_refresh",
    ),
    path("settings/", views.posting_settings, name="settings"),
    path("postings/", views.posting_log, name="postings"),
    path("postings/retry/", views.posting_retry, name="retry_failed"),
    path("postings/update/", views.posting_update, name="update_changed"),
    path("postings/<int:posting_id>/", views.posting_detail, name="posting_detail"),
    path("postings/<int:posting_id>/retry/", views.posting_retry_one, name="posting_retry"),
    path("batches/<int:batch_id>/", views.batch_progress, name="batch_progress"),
]
