from django.urls import path

from sales import views, views_tab

app_name = "sales"

urlpatterns = [
    # The Sales tab (list, counts and totals, order page, actions, export).
    path("", views_tab.order_list, name="list"),
    path("summary/", views_tab.order_summary, name="summary"),
    path("export/", views_tab.order_export, name="export"),
    path("actions/", views_tab.order_action, name="action"),
    path("actions/<int:action_id>/", views_tab.bulk_action_progress, name="bulk_action"),
    path("<int:order_id>/", views_tab.order_detail, name="detail"),
    path("sync/", views.sync_overview, name="sync_overview"),
    path("sync/<int:connection_id>/", views.sync_progress, name="sync_progress"),
    path("sync/<int:connection_id>/panel/", views.connection_sync_panel, name="sync_panel"),
    path("sync/<int:connection_id>/now/", views.sync_now, name="sync_now"),
    path("sync/<int:connection_id>/history/", views.sync_history, name="sync_history"),
    path("sync/runs/<int:run_id>/issues/", views.sync_run_issues, name="sync_run_issues"),
]
