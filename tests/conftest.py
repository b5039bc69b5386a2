"""Shared fixtures. Every fixture set has two organizations, A and B, so every test can check
that A never sees or changes B's data."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.factories import MembershipFactory, OrganizationFactory
from unify.tenancy.models import Role
from unify.tenancy.rls import enter_bypass, leave_bypass
from unify.tenancy.scoping import org_scope

pytest_plugins = ["sandbox.pytest_plugin"]


@pytest.fixture(autouse=True)
def _rls_bypass_for_test_code():
    """Fixtures and the test's own direct calls work across organizations (row-level security
    bypass ``tests``); requests (test client, live and worker processes) never inherit it, so
    every page and task runs held to its organization by the database. Tests of the policy
    itself suspend it (``rls_enforced``)."""
    token = enter_bypass("tests")
    yield
    leave_bypass(token)


@pytest.fixture
def rls_enforced():
    """The test's own queries held to row-level security (no bypass)."""
    token = enter_bypass(None)
    yield
    leave_bypass(token)


@pytest.fixture
def org_a(db):
    return OrganizationFactory(name="Acme Outdoor", slug="acme")


@pytest.fixture
def org_b(db):
    return OrganizationFactory(name="Bolt Bikes", slug="bolt")


@pytest.fixture
def owner_of_a(org_a):
    return MembershipFactory(organization=org_a, role=Role.OWNER, user__username="owner-a")


@pytest.fixture
def admin_of_a(org_a):
    return MembershipFactory(organization=org_a, role=Role.ADMIN, user__username="admin-a")


@pytest.fixture
def member_of_a(org_a):
    return MembershipFactory(organization=org_a, role=Role.MEMBER, user__username="member-a")


@pytest.fixture
def owner_of_b(org_b):
    return MembershipFactory(organization=org_b, role=Role.OWNER, user__username="owner-b")


@pytest.fixture
def scope_a(org_a):
    with org_scope(org_a.pk):
        yield org_a


@pytest.fixture
def owner_client(client, owner_of_a):
    client.force_login(owner_of_a.user)
    return client


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed; .ci/run installs it with apt-get.")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return path


@pytest.fixture
def celery_worker_process(django_db_setup, tmp_path):
    """Factory: ``start(queues=[...], env={...}, pool="solo", ...)`` starts a real Celery worker
    subprocess on the test database and Redis, waits until it is ready and returns a
    ``tests.worker_process.WorkerProcess`` (``.pid``, ``.kill(sig)``, ``.stop()``, ``.output()``).
    Every worker is stopped at teardown. Use with ``django_db(transaction=True)``."""
    from tests.worker_process import WorkerProcess, unique_queue

    started: list[WorkerProcess] = []

    def start(
        queues=None, *, env=None, ready_timeout: float = 60.0, wait_ready: bool = True, **kwargs
    ) -> WorkerProcess:
        worker = WorkerProcess(
            queues=queues or [unique_queue()],
            log_path=tmp_path / f"worker-{len(started) + 1}.log",
            env=env,
            **kwargs,
        )
        started.append(worker)
        if wait_ready:
            worker.wait_ready(timeout=ready_timeout)
        return worker

    yield start
    for worker in started:
        worker.stop()
