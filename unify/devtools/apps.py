from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    name = "unify.devtools"
    label = "devtools"
    verbose_name = "Unify development tools"
