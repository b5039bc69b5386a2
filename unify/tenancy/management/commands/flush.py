"""``flush`` (also between transactional tests) as the login role: it empties every
organization's tables (row-level security bypass ``flush``, see unify/tenancy/rls.py)."""

from django.core.management.commands import flush

from unify.tenancy.rls import rls_bypass


class Command(flush.Command):
    def handle(self, *args, **options):
        with rls_bypass("flush"):
            return super().handle(*args, **options)
