"""Fail-closed scoping of tenant-owned rows (StoreConnection as the example model)."""

from __future__ import annotations

import pytest

from connections.models import StoreConnection
from unify.core.exceptions import TenantScopeError
from unify.tenancy.scoping import current_org_id, org_scope

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
