from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TenancyConfig(AppConfig):
    name = "unify.tenancy"
    label = "tenancy"
    verbose_name = "Organizations"

    def ready(self) -> None:
        from unify.tenancy.rls import post_migrate_install

        # Tables another app's migration added since get the policy and grants too.
        post_migrate.connect(post_migrate_install, dispatch_uid="unify_rls_install")
