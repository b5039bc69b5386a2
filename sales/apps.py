from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"
    verbose_name = "Sales"

    def ready(self) -> None:
        from connections import signals
        from sales.services import lifecycle

        # What the import does when a store connection changes (connections/signals.py).
        signals.connection_connected.connect(
            lifecycle.connection_on_connected, dispatch_uid="sales.connected"
        )
        signals.connection_credentials_updated.connect(
            lifecycle.connection_on_credentials_updated, dispatch_uid="sales.credentials_updated"
        )
        signals.connection_disconnecting.connect(
            lifecycle.connection_on_disconnecting, dispatch_uid="sales.disconnecting"
        )
        signals.connection_settings_changed.connect(
            lifecycle.connection_on_settings_changed, dispatch_uid="sales.settings_changed"
        )
