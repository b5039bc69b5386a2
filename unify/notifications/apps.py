from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "unify.notifications"
    label = "notifications"
    verbose_name = "Notifications"
