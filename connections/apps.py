from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "connections"
    verbose_name = "Store connections"

    def ready(self) -> None:
        from django.core import checks

        from connections.sources.registry import check_source_providers

        checks.register(check_source_providers)
