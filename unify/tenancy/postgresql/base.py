"""PostgreSQL backend that holds every query to the row-level security policies
(``unify.tenancy.rls``): before a statement runs, the session is put into the role
``unify_app`` with ``unify.org_id`` set to the current :func:`org_scope` (empty outside one:
no tenant row is visible), or back into the login role inside an :func:`rls_bypass`.

The two settings are sent in one statement, only when they differ from what the session
already has; a rollback (or a rollback to a savepoint) may undo a ``set_config``, so after one
the next statement sends them again.
"""

from __future__ import annotations

from django.db.backends.postgresql import base

from unify.tenancy.postgresql.creation import DatabaseCreation
from unify.tenancy.rls import APP_ROLE, SETTING, current_bypass
from unify.tenancy.scoping import current_org_id


class DatabaseWrapper(base.DatabaseWrapper):
    creation_class = DatabaseCreation

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._rls_state: tuple[str, str] | None = None
        self._rls_skip = False
        self.execute_wrappers.append(self._rls_execute_wrapper)

    def rls_desired_state(self) -> tuple[str, str]:
        if current_bypass() is not None:
            return ("none", "")  # "none": the login role (RESET ROLE)
        org_id = current_org_id()
        return (APP_ROLE, str(int(org_id)) if org_id is not None else "")

    def rls_sync(self) -> None:
        """Put the session into the wanted role and organization (for paths that do not go
        through ``execute``, such as ``COPY``)."""
        state = self.rls_desired_state()
        if state == self._rls_state:
            return
        self.ensure_connection()
        role, org_id = state
        with self.wrap_database_errors, self.connection.cursor() as cursor:
            # Literals only: the role is a constant and the organization an integer.
            cursor.execute(
                f"SELECT set_config('role', '{role}', false), "
                f"set_config('{SETTING}', '{org_id}', false)"
            )
        self._rls_state = state

    def _rls_execute_wrapper(self, execute, sql, params, many, context):
        if not self._rls_skip:
            self.rls_sync()
        return execute(sql, params, many, context)

    def connect(self) -> None:
        self._rls_state = None
        super().connect()

    def _close(self) -> None:
        self._rls_state = None
        super()._close()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._rls_state = None

    def _savepoint_rollback(self, sid) -> None:
        # ROLLBACK TO SAVEPOINT itself is sent as it is: the transaction may be in error,
        # where no set_config could run.
        self._rls_skip = True
        try:
            super()._savepoint_rollback(sid)
        finally:
            self._rls_skip = False
            self._rls_state = None

    def _savepoint_commit(self, sid) -> None:
        self._rls_skip = True
        try:
            super()._savepoint_commit(sid)
        finally:
            self._rls_skip = False
