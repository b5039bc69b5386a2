"""Tenant isolation enforced by PostgreSQL itself (row-level security), defence in depth.

Every table with an ``organization_id`` column carries the policy ``unify_tenant_v1``: a row is
visible and writable only while the session setting ``unify.org_id`` names its organization,
with ``FORCE ROW LEVEL SECURITY`` so that the table owner is held to it too. The application
works as the role ``unify_app`` (no login, no ``BYPASSRLS``): the database backend
``unify.tenancy.postgresql`` switches to it on every connection and sends ``unify.org_id`` from
:func:`~unify.tenancy.scoping.org_scope`. Outside any scope the setting is empty and no tenant
row is visible (fail closed).

The few places that must work across organizations (migrations, the test database flush, the
admin and the support console, the beat fan-out, webhook-token, Web Connector ticket and shared
key-pair look-ups, maintenance commands, test fixtures) run inside :func:`rls_bypass` with a
name; the bypass goes back to the login role (a superuser or a role with ``BYPASSRLS``) for its
duration, and every use is logged.

Exempt tables: memberships and invitations (looked up by the person or the invitation token
before any organization is chosen: they decide which organization a request may enter) and
the audit log (sign-ins and support actions are written for several organizations at once, and
organizations deleted later keep their entries).

SQLite (the embedded default) has no row-level security: there the application-level scoping
(``OrgScopedManager``) is the only guard, as everywhere else too.

This guards against a forgotten organization filter in our code, not against SQL injection: a
session that can run arbitrary SQL can ``RESET ROLE``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connections, migrations

logger = logging.getLogger("unify.rls")

APP_ROLE = "unify_app"
POLICY = "unify_tenant_v1"
SETTING = "unify.org_id"
EXEMPT_TABLES = frozenset({"tenancy_membership", "tenancy_invitation", "core_auditevent"})
BYPASS_NAMES = frozenset(
    {
        "migrate",
        "flush",
        "admin",
        "beat-fanout",
        "webhook-token",
        "qbd-ticket",
        "shared-keys",
        "support",
        "maintenance",
        "tests",
    }
)

_bypass: ContextVar[str | None] = ContextVar("unify_rls_bypass", default=None)
# Functions the search indexes need inside the policy's security barrier (``icontains`` and
# ``iexact`` are ``upper(...) LIKE upper(...)``): without LEAKPROOF the planner may not use an
# index on ``upper(column)`` ahead of the policy's condition.
LEAKPROOF_FUNCTIONS = ("upper(text)", "textlike(text, text)")


def current_bypass() -> str | None:
    return _bypass.get()


def row_level_security_enforced(connection) -> bool:
    """Whether ``connection``'s statements are held to the policies right now."""
    return hasattr(connection, "rls_sync") and _bypass.get() is None


@contextmanager
def rls_bypass(name: str, *, user=None) -> Iterator[None]:
    """Work across organizations for the block (the login role, not ``unify_app``). Logged."""
    if name not in BYPASS_NAMES:
        raise ValueError(f"unknown row-level security bypass {name!r}")
    if user is not None:
        logger.info("rls bypass %s by user %s", name, getattr(user, "pk", user))
    else:
        logger.info("rls bypass %s", name)
    token = _bypass.set(name)
    try:
        yield
    finally:
        _bypass.reset(token)


def enter_bypass(name: str | None):
    """Set (or with ``None`` suspend) the bypass without a block; pass the token to
    :func:`leave_bypass`. Requests start with it suspended: none inherits one."""
    if name is not None and name not in BYPASS_NAMES:
        raise ValueError(f"unknown row-level security bypass {name!r}")
    return _bypass.set(name)


def leave_bypass(token) -> None:
    _bypass.reset(token)


# --- schema ----------------------------------------------------------------------------------

_TENANT_TABLES_SQL = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
       EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = %s)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
ORDER BY c.relname
"""


def tenant_tables(connection) -> list[tuple[str, bool, bool, bool]]:
    """(table, RLS enabled, forced, has the policy) of every table with ``organization_id``,
    exemptions left out."""
    with connection.cursor() as cursor:
        cursor.execute(_TENANT_TABLES_SQL, [POLICY])
        return [row for row in cursor.fetchall() if row[0] not in EXEMPT_TABLES]


def ensure_app_role(connection) -> None:
    """The role ``unify_app`` exists, the login role may switch to it, and it may read and
    write every table of the schema (the policies decide which rows)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            DO $$ BEGIN
              IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
              END IF;
            EXCEPTION WHEN duplicate_object THEN NULL;
            END $$;
            """
        )
        cursor.execute(
            "SELECT pg_has_role(current_user, %s, 'MEMBER'), "
            "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)",
            [APP_ROLE],
        )
        member, superuser = cursor.fetchone()
        if not member and not superuser:
            cursor.execute(f"GRANT {APP_ROLE} TO CURRENT_USER")
        cursor.execute(f"GRANT USAGE ON SCHEMA {_schema(cursor)} TO {APP_ROLE}")
        schema = _schema(cursor)
        cursor.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER "
            f"ON ALL TABLES IN SCHEMA {schema} TO {APP_ROLE}"
        )
        cursor.execute(
            f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {APP_ROLE}"
        )
        cursor.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} TO {APP_ROLE}")


def _schema(cursor) -> str:
    cursor.execute("SELECT quote_ident(current_schema())")
    return cursor.fetchone()[0]


def apply_policies(connection) -> list[str]:
    """Enable, force and attach the policy on every tenant table that lacks any of them.
    Idempotent; returns the tables changed."""
    changed = []
    expr = f"organization_id = NULLIF(current_setting('{SETTING}', true), '')::bigint"
    with connection.cursor() as cursor:
        for table, enabled, forced, has_policy in tenant_tables(connection):
            quoted = connection.ops.quote_name(table)
            if not has_policy:
                cursor.execute(
                    f"CREATE POLICY {POLICY} ON {quoted} USING ({expr}) WITH CHECK ({expr})"
                )
            if not enabled:
                cursor.execute(f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY")
            if not forced:
                cursor.execute(f"ALTER TABLE {quoted} FORCE ROW LEVEL SECURITY")
            if not (has_policy and enabled and forced):
                changed.append(table)
    return changed


def mark_leakproof(connection) -> bool:
    """LEAKPROOF needs a superuser: without one the search still works (without its index
    inside the policy) and a warning says so."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            logger.warning(
                "rls: not a superuser, %s left without LEAKPROOF (search indexes are not used "
                "inside the row-level security policy)",
                ", ".join(LEAKPROOF_FUNCTIONS),
            )
            return False
        for function in LEAKPROOF_FUNCTIONS:
            cursor.execute(f"ALTER FUNCTION pg_catalog.{function} LEAKPROOF")
    return True


def install(connection) -> None:
    if connection.vendor != "postgresql":
        return
    ensure_app_role(connection)
    apply_policies(connection)


class TenantRowLevelSecurity(migrations.operations.base.Operation):
    """Migration operation: the role, its grants, LEAKPROOF search functions and the policy
    on every tenant table there is so far. Idempotent, a no-op on SQLite; the reverse leaves
    the policies (harmless without the backend)."""

    reduces_to_sql = False
    reversible = True

    def state_forwards(self, app_label, state) -> None:
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return
        install(connection)
        mark_leakproof(connection)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        pass

    def describe(self) -> str:
        return "Row-level security policy on every tenant table"


def post_migrate_install(using: str = "default", **kwargs) -> None:
    """After every ``migrate``: tables added since (another app's migration) get the policy
    and the grants too."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    if current_bypass() is not None:  # inside the migrate command's bypass
        install(connection)
        return
    with rls_bypass("migrate"):
        install(connection)
