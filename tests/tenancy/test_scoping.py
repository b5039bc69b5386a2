"""Fail-closed scoping of tenant-owned rows (StoreConnection as the example model)."""

from __future__ import annotations

import pytest

from connections.models import StoreConnection
from unify.core.exceptions import TenantScopeError
from unify.tenancy.scoping import current_org_id, org_scope, with_org_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def connections(org_a, org_b):
    a = StoreConnection.all_orgs.create(organization=org_a, name="Acme ShipStation")
    b = StoreConnection.all_orgs.create(organization=org_b, name="Bolt ShipStation")
    return a, b


def test_query_outside_a_scope_raises(connections):
    with pytest.raises(TenantScopeError):
        StoreConnection.objects.all()
    with pytest.raises(TenantScopeError):
        StoreConnection.objects.filter(name="Bolt ShipStation")
    with pytest.raises(TenantScopeError):
        StoreConnection.objects.count()
    with pytest.raises(TenantScopeError):
        StoreConnection.objects.get(pk=connections[1].pk)


def test_scope_sees_only_its_own_rows(connections, org_a, org_b):
    a, b = connections
    with org_scope(org_a.pk):
        assert list(StoreConnection.objects.values_list("name", flat=True)) == ["Acme ShipStation"]
        assert not StoreConnection.objects.filter(pk=b.pk).exists()
        with pytest.raises(StoreConnection.DoesNotExist):
            StoreConnection.objects.get(pk=b.pk)
    with org_scope(org_b.pk):
        assert list(StoreConnection.objects.values_list("pk", flat=True)) == [b.pk]
    assert StoreConnection.all_orgs.count() == 2


def test_scopes_nest_and_reset(org_a, org_b):
    assert current_org_id() is None
    with org_scope(org_a.pk):
        with org_scope(org_b.pk):
            assert current_org_id() == org_b.pk
        assert current_org_id() == org_a.pk
    assert current_org_id() is None
    with pytest.raises(TenantScopeError), org_scope(None):
        pass


def test_create_for_another_organization_inside_a_scope_raises(org_a, org_b):
    with org_scope(org_a.pk):
        with pytest.raises(TenantScopeError):
            StoreConnection.objects.create(organization=org_b, name="Sneaky")
        with pytest.raises(TenantScopeError):
            StoreConnection.objects.create(organization_id=org_b.pk, name="Sneaky")
        with pytest.raises(TenantScopeError):
            StoreConnection.objects.get_or_create(organization=org_b, name="Sneaky")
        with pytest.raises(TenantScopeError):
            StoreConnection.objects.bulk_create([StoreConnection(organization=org_b, name="S")])
        with pytest.raises(TenantScopeError):
            StoreConnection(organization=org_b, name="Sneaky").save()
        own = StoreConnection.objects.create(name="Own")
    assert own.organization_id == org_a.pk
    assert list(StoreConnection.all_orgs.values_list("organization__slug", "name")) == [
        ("acme", "Own")
    ]


def test_rows_cannot_be_moved_to_another_organization(connections, org_a, org_b):
    a, _ = connections
    with org_scope(org_a.pk):
        with pytest.raises(TenantScopeError):
            StoreConnection.objects.filter(pk=a.pk).update(organization=org_b)
        with pytest.raises(TenantScopeError):
            StoreConnection.objects.update(organization_id=org_b.pk)
        a.organization = org_b
        with pytest.raises(TenantScopeError):
            a.save()
        assert StoreConnection.objects.update(name="Renamed") == 1
    assert sorted(StoreConnection.all_orgs.values_list("organization__slug", "name")) == [
        ("acme", "Renamed"),
        ("bolt", "Bolt ShipStation"),
    ]


def test_create_outside_a_scope_through_the_scoped_manager_raises(org_a):
    with pytest.raises(TenantScopeError):
        StoreConnection.objects.create(organization=org_a, name="No scope")
    assert StoreConnection.all_orgs.count() == 0


def test_request_scope_is_reset_after_the_response(client, owner_of_a, connections):
    client.force_login(owner_of_a.user)
    assert client.get("/o/acme/").status_code == 200
    assert current_org_id() is None
    with pytest.raises(TenantScopeError):
        StoreConnection.objects.count()


@with_org_scope
def _names_seen_by_task(*, organization_id: int) -> list[str]:
    return sorted(StoreConnection.objects.values_list("name", flat=True))


def test_a_task_under_with_org_scope_runs_in_its_organizations_scope(connections, org_a, org_b):
    assert _names_seen_by_task(organization_id=org_a.pk) == ["Acme ShipStation"]
    assert _names_seen_by_task(organization_id=org_b.pk) == ["Bolt ShipStation"]
    assert current_org_id() is None


def test_a_task_under_with_org_scope_without_an_organization_id_runs_nothing(connections):
    ran = []

    @with_org_scope
    def task(**kwargs) -> None:
        ran.append(kwargs)

    with pytest.raises(TenantScopeError):
        task(connection_id=connections[0].pk)
    with pytest.raises(TenantScopeError):
        task(organization_id=None)
    assert ran == []


def test_scoped_tasks_keep_their_names_and_check_their_arguments():
    from connections.tasks import order_file_process_task
    from sales.tasks import sync_run_task, webhook_followup_task, webhooks_subscribe_task
    from sales.tasks_tab import order_bulk_action_task

    assert [t.name for t in (sync_run_task, webhook_followup_task, webhooks_subscribe_task)] == [
        "sales.tasks.sync_run_task",
        "sales.tasks.webhook_followup_task",
        "sales.tasks.webhooks_subscribe_task",
    ]
    assert order_bulk_action_task.name == "sales.tasks.order_bulk_action_task"
    assert order_file_process_task.name == "connections.tasks.order_file_process_task"
    with pytest.raises(TypeError):
        sync_run_task.apply_async(kwargs={"organization_id": 1, "run": 2})


def test_for_org_reads_one_organizations_rows_outside_or_inside_its_scope(
    connections, org_a, org_b
):
    a, b = connections
    assert list(StoreConnection.objects.for_org(org_a).values_list("pk", flat=True)) == [a.pk]
    assert list(StoreConnection.objects.for_org(org_b.pk).values_list("pk", flat=True)) == [b.pk]
    with org_scope(org_a.pk):
        assert list(StoreConnection.objects.for_org(org_a).values_list("pk", flat=True)) == [a.pk]
        with pytest.raises(TenantScopeError):
            StoreConnection.objects.for_org(org_b)
    with pytest.raises(TenantScopeError):
        StoreConnection.objects.for_org(org_b).update(name="Renamed outside a scope")
    b.refresh_from_db()
    assert b.name == "Bolt ShipStation"
