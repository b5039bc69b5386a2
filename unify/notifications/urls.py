from django.urls import path

from unify.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("read-all/", views.notification_read_all, name="read_all"),
    path("<int:notification_id>/", views.notification_open, name="open"),
    path("settings/", views.notification_settings, name="settings"),
]
