"""``migrate`` as the login role: schema changes and data migrations work across
organizations (row-level security bypass ``migrate``, see unify/tenancy/rls.py)."""

from django.core.management.commands import migrate

from unify.tenancy.rls import rls_bypass


class Command(migrate.Command):
    def handle(self, *args, **options):
        with rls_bypass("migrate"):
            return super().handle(*args, **options)
