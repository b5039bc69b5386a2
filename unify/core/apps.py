from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "unify.core"
    label = "core"
    verbose_name = "Unify core"
