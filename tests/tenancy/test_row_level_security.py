"""Tenant isolation enforced by PostgreSQL itself (issue 22, item 8): raw SQL that forgets the
organization filter still sees and changes only the scope's organization's rows."""

from __future__ import annotations

import logging
import re
import threading
import uuid

import pytest
import requests
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from unify.notifications.models import NotificationEvent
from unify.tenancy.models import Organization
from unify.tenancy.rls import EXEMPT_TABLES, POLICY, rls_bypass, tenant_tables
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(org_a, org_b):
    """One event per organization, written by the fixtures' bypass."""
    a = NotificationEvent.all_orgs.create(organization=org_a, kind="sync_failed", dedupe_key="a")
    b = NotificationEvent.all_orgs.create(organization=org_b, kind="sync_failed", dedupe_key="b")
    return a, b


def _raw(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else cursor.rowcount


def test_the_app_role_is_held_to_the_policy():
    assert connection.vendor == "postgresql"
    assert connection.settings_dict["ENGINE"] == "unify.tenancy.postgresql"
    (row,) = _raw(
        "SELECT current_user, (SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user)"
    )
    # Inside the tests' bypass: the login role.
    assert row[0] != "unify_app"


def test_inside_a_scope_raw_sql_sees_and_changes_only_that_organization(
    events, org_a, org_b, rls_enforced
):
    a, b = events
    with org_scope(org_a.pk):
        (role,) = _raw("SELECT current_user")
        assert role == ("unify_app",)
        rows = _raw("SELECT id, organization_id FROM notifications_notificationevent ORDER BY id")
        assert rows == [(a.pk, org_a.pk)]
        # An UPDATE and a DELETE without any organization filter touch only A's row.
        assert _raw("UPDATE notifications_notificationevent SET link = 'x'") == 1
        assert _raw("DELETE FROM notifications_notificationevent WHERE id = %s", [b.pk]) == 0
        # Writing a row for B from A's scope is refused by the database.
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            _raw(
                "INSERT INTO notifications_notificationevent "
                "(organization_id, kind, dedupe_key, params, link, created_at, updated_at) "
                "VALUES (%s, 'sync_failed', 'c', '{}', '', now(), now())",
                [org_b.pk],
            )
        # Moving A's row to B is refused too.
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            _raw("UPDATE notifications_notificationevent SET organization_id = %s", [org_b.pk])
    with org_scope(org_b.pk):
        assert _raw("SELECT id, link FROM notifications_notificationevent") == [(b.pk, "")]
    with rls_bypass("tests"):
        links = dict(NotificationEvent.all_orgs.values_list("pk", "link"))
    assert links == {a.pk: "x", b.pk: ""}


def test_without_a_scope_nothing_is_visible_and_nothing_can_be_written(events, org_a, rls_enforced):
    assert _raw("SELECT count(*) FROM notifications_notificationevent") == [(0,)]
    assert NotificationEvent.all_orgs.count() == 0
    assert _raw("UPDATE notifications_notificationevent SET link = 'y'") == 0
    with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
        NotificationEvent.all_orgs.create(organization=org_a, kind="sync_failed", dedupe_key="n")


def test_a_rollback_forgets_the_setting(events, org_a, rls_enforced):
    a, _ = events
    with transaction.atomic():
        with org_scope(org_a.pk):
            assert _raw("SELECT id FROM notifications_notificationevent") == [(a.pk,)]
        transaction.set_rollback(True)
    # The scope was left and the transaction rolled back: the session is empty again.
    assert _raw("SELECT current_setting('unify.org_id', true)") in ([("",)], [(None,)])
    assert _raw("SELECT count(*) FROM notifications_notificationevent") == [(0,)]
    with org_scope(org_a.pk), transaction.atomic():
        sid = transaction.savepoint()
        with org_scope(org_a.pk + 1000):
            assert _raw("SELECT count(*) FROM notifications_notificationevent") == [(0,)]
            transaction.savepoint_rollback(sid)
        # The savepoint's rollback undid the other scope's set_config; A's is sent again.
        assert _raw("SELECT id FROM notifications_notificationevent") == [(a.pk,)]


def test_a_bypass_sees_every_organization_and_is_logged(events, caplog, rls_enforced):
    with caplog.at_level(logging.INFO, logger="unify.rls"), rls_bypass("maintenance"):
        assert _raw("SELECT count(*) FROM notifications_notificationevent") == [(2,)]
    assert [r.getMessage() for r in caplog.records] == ["rls bypass maintenance"]
    with pytest.raises(ValueError), rls_bypass("anything"):
        pass


def test_every_tenant_table_has_the_policy_forced():
    tables = tenant_tables(connection)
    names = {t[0] for t in tables}
    # The trigger-maintained day totals and the notifications are tenant tables too.
    assert {"sales_order_daily", "sales_sku_daily", "notifications_notification"} <= names
    missing = [t for t, enabled, forced, policy in tables if not (enabled and forced and policy)]
    assert missing == [], f"tables without the {POLICY} policy: {missing}"
    # The exemptions are documented in unify/tenancy/rls.py and exist.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s)", [sorted(EXEMPT_TABLES)]
        )
        assert {r[0] for r in cursor.fetchall()} == set(EXEMPT_TABLES)


def test_the_app_role_cannot_switch_off_the_policy(rls_enforced, org_a):
    with org_scope(org_a.pk), pytest.raises(DatabaseError), transaction.atomic():
        _raw("ALTER TABLE notifications_notificationevent NO FORCE ROW LEVEL SECURITY")


def test_the_admin_works_across_organizations_through_a_logged_bypass(client, org_a, org_b, caplog):
    from tests.factories import StoreConnectionFactory, UserFactory
    from tests.security.support import enable_totp

    StoreConnectionFactory(organization=org_a, name="Store of A")
    StoreConnectionFactory(organization=org_b, name="Store of B")
    staff = UserFactory(username="support-rls", is_staff=True, is_superuser=True)
    enable_totp(staff)
    client.force_login(staff)
    with caplog.at_level(logging.INFO, logger="unify.rls"):
        response = client.get("/admin/connections/storeconnection/")
    assert response.status_code == 200
    assert b"Store of A" in response.content
    assert b"Store of B" in response.content
    logged = [r.getMessage() for r in caplog.records]
    assert (
        f"rls bypass admin by user {staff.pk}: admin:connections_storeconnection_changelist"
        in logged
    )


def test_a_request_never_inherits_the_tests_bypass(client, events, owner_of_a, org_a):
    """The test body runs in the ``tests`` bypass; the page it requests is still held to its
    organization by the database (the middleware suspends the bypass)."""
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    client.force_login(owner_of_a.user)
    seen = []

    def spy(execute, sql, params, many, context):
        if "notifications_notificationevent" in sql:
            with db.cursor() as cursor:
                cursor.cursor.execute("SELECT current_user, current_setting('unify.org_id', true)")
                seen.append(cursor.cursor.fetchone())
        return execute(sql, params, many, context)

    with CaptureQueriesContext(db), db.execute_wrapper(spy):
        response = client.get(f"/o/{org_a.slug}/notifications/")
    assert response.status_code == 200
    assert seen and set(seen) == {("unify_app", str(org_a.pk))}


# --- the transactional tests' flush -----------------------------------------------------------
# Data a live server (or a worker) commits under the app role must not outlive its test: the
# flush between transactional tests empties every table as the login role (TRUNCATE, which
# row-level security does not filter).

PROBE_ORGANIZATION = "Flush Probe GmbH"


def _commit_in_another_connection(organization_id: int, dedupe_key: str) -> str:
    """A tenant row committed by another connection inside the organization's scope, as the
    live server's and the workers' requests do; returns that connection's role."""
    roles: list[str] = []
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with org_scope(organization_id):
                NotificationEvent.objects.create(kind="sync_failed", dedupe_key=dedupe_key)
                roles.extend(r[0] for r in _raw("SELECT current_user"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(timeout=60)
    assert errors == []
    return roles[0]


def _rows_left() -> dict[str, int]:
    """Every tenant table's row count and the organizations, seen as the login role."""
    with rls_bypass("tests"):
        counts = {
            t[0]: _raw(f'SELECT count(*) FROM "{t[0]}"')[0][0] for t in tenant_tables(connection)
        }
        counts["tenancy_organization"] = Organization.objects.count()
    return {table: n for table, n in counts.items() if n}


@pytest.mark.django_db(transaction=True)
def test_a_live_server_signup_and_an_app_role_write_are_committed(live_server):
    session = requests.Session()
    page = session.get(f"{live_server.url}/accounts/signup/", timeout=60)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        f"{live_server.url}/accounts/signup/",
        data={
            "csrfmiddlewaretoken": token,
            "organization_name": PROBE_ORGANIZATION,
            "timezone": "Europe/Berlin",
            "email": f"probe-{uuid.uuid4().hex[:10]}@flush.example",
            "password1": "a-long-and-good-password-1",
            "password2": "a-long-and-good-password-1",
        },
        allow_redirects=False,
        timeout=60,
    )
    assert response.status_code == 302
    organization = Organization.objects.get(name=PROBE_ORGANIZATION)
    assert _commit_in_another_connection(organization.pk, "live") == "unify_app"
    assert NotificationEvent.all_orgs.filter(organization=organization).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_flush_after_a_transactional_test_leaves_no_row_behind():
    """Runs right after the test above (pytest keeps the order of transactional tests): its
    organization and its app-role row were flushed at its teardown."""
    assert _rows_left() == {}


@pytest.mark.django_db(transaction=True)
def test_the_flush_empties_every_table_from_inside_an_organizations_scope(org_a, rls_enforced):
    _commit_in_another_connection(org_a.pk, "scoped")
    with org_scope(org_a.pk):
        # This session is the app role now; the flush still empties every organization's rows.
        assert _raw("SELECT current_user") == [("unify_app",)]
        call_command("flush", verbosity=0, interactive=False)
    assert _rows_left() == {}
