"""The QuickBooks Desktop pages of the Accounting tab (under /o/<org>/accounting/qbd/)."""

from django.urls import path

from accounting.ledgers.qbd import views

app_name = "qbd"

urlpatterns = [
    path("connect/", views.connect, name="connect"),
    path("<int:ledger_connection_id>/", views.setup, name="setup"),
    path("<int:ledger_connection_id>/status/", views.status, name="status"),
    path("<int:ledger_connection_id>/unify.qwc", views.qwc_download, name="qwc"),
    path("<int:ledger_connection_id>/password/", views.password_regenerate, name="password"),
    path("<int:ledger_connection_id>/catalog/", views.catalog_request, name="catalog"),
]
