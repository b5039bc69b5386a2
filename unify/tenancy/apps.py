from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "unify.tenancy"
    label = "tenancy"
    verbose_name = "Organizations"
