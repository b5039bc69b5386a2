from __future__ import annotations

from django.db.backends.postgresql import creation

from unify.tenancy.rls import rls_bypass


class DatabaseCreation(creation.DatabaseCreation):
    """The test database is created (and the role ``unify_app`` with it, by ``migrate``) and
    dropped as the login role."""

    def create_test_db(self, *args, **kwargs):
        with rls_bypass("migrate"):
            return super().create_test_db(*args, **kwargs)

    def destroy_test_db(self, *args, **kwargs):
        with rls_bypass("migrate"):
            return super().destroy_test_db(*args, **kwargs)
