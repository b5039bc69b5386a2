from django.urls import path

from connections import views
from connections.sources.registry import connectable_providers

app_name = "connections"

urlpatterns = [
    path("", views.connection_list, name="list"),
    path("add/", views.connection_add, name="add"),
    # Connect Store, one page per source the merchant can connect (the registry's list).
    *(
        path(
            f"add/{source.key}/",
            views.connection_add_source,
            {"provider": source.key},
            name=f"add_{source.key}",
        )
        for source in connectable_providers()
    ),
    path("<int:connection_id>/", views.connection_detail, name="detail"),
    path("<int:connection_id>/settings/", views.connection_settings, name="settings"),
    path("<int:connection_id>/keys/", views.connection_update_keys, name="update_keys"),
    path("<int:connection_id>/disconnect/", views.connection_disconnect, name="disconnect"),
    path("<int:connection_id>/reconnect/", views.connection_reconnect, name="reconnect"),
    path(
        "<int:connection_id>/stores/<int:store_id>/include/",
        views.store_toggle,
        name="store_toggle",
    ),
    path("order-file/", views.order_file_upload, name="order_file"),
    path("order-file/template.csv", views.order_file_template, name="order_file_template"),
    path("order-file/<int:upload_id>/", views.order_file_result, name="order_file_result"),
    path(
        "order-file/<int:upload_id>/progress/",
        views.order_file_progress,
        name="order_file_progress",
    ),
    path(
        "order-file/<int:upload_id>/rejected-rows.csv",
        views.order_file_problems_csv,
        name="order_file_problems_csv",
    ),
]
