from django.apps import AppConfig


class QbdConfig(AppConfig):
    name = "accounting.ledgers.qbd"
    label = "qbd"
    verbose_name = "QuickBooks Desktop"
