"""The source registry is the one list of order sources: what Add Store offers, which
provider a connection's credentials, webhooks and re-fetches go to."""

from __future__ import annotations

import pytest
from django.urls import reverse

from connections import services
from connections.models import SourceStore, StoreConnection
from connections.sources.csv.provider import OrderFileProvider
from connections.sources.registry import (
    UnknownSourceProvider,
    connectable_providers,
    source_provider,
    source_providers,
)
from connections.sources.shipstation.provider import ShipStationProvider
from tests.connections.conftest import SS_KEY, SS_SECRET
from unify.core.models import AuditEvent
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db


def test_the_registry_lists_shipstation_and_order_files_in_the_settings_order():
    providers = source_providers()
    assert list(providers) == ["shipstation", "order_file"]
    assert isinstance(providers["shipstation"], ShipStationProvider)
    assert isinstance(providers["order_file"], OrderFileProvider)
    # Order files arrive through an existing connection: Add Store offers ShipStation only.
    assert [p.key for p in connectable_providers()] == ["shipstation"]
    assert source_provider("order_file").webhook_events == ()
    with pytest.raises(UnknownSourceProvider):
        source_provider("nosuchsource")


def test_the_platform_picker_and_its_pages_come_from_the_registry(owner_client, org_a):
    page = owner_client.get(reverse("connections:add", kwargs={"org_slug": org_a.slug}))
    assert page.status_code == 200
    assert page.context["form"].fields["platform"].choices == [("shipstation", "ShipStation")]
    chosen = owner_client.get(
        reverse("connections:add", kwargs={"org_slug": org_a.slug}), {"platform": "shipstation"}
    )
    assert chosen.status_code == 302
    assert chosen["Location"] == f"/o/{org_a.slug}/connections/add/shipstation/"
    refused = owner_client.get(
        reverse("connections:add", kwargs={"org_slug": org_a.slug}), {"platform": "order_file"}
    )
    assert refused.status_code == 200 and refused.context["form"].errors


@pytest.mark.parametrize("provider", ["order_file", "nosuchsource"])
def test_connection_create_refuses_a_source_that_cannot_be_connected(
    org_a, owner_of_a, ss, provider
):
    with pytest.raises(services.ConnectionRefused) as refused:
        services.connection_create(
            organization=org_a,
            actor=owner_of_a.user,
            provider=provider,
            credentials={"api_key": SS_KEY, "api_secret": SS_SECRET},
        )
    assert (refused.value.code, refused.value.field) == ("provider", "platform")
    assert refused.value.user_message == "Choose a platform to connect."
    assert not StoreConnection.all_orgs.filter(organization=org_a).exists()
    assert not SourceStore.all_orgs.filter(organization=org_a).exists()
    assert not AuditEvent.objects.filter(organization=org_a).exists()
    assert ss.requests_log() == []


def test_shared_messages_name_the_source_from_its_provider(org_a, owner_of_a, ss, monkeypatch):
    org_a.plan = "pro"  # room for a second connection: the duplicate check answers
    org_a.save(update_fields=["plan"])
    with org_scope(org_a.pk):  # as the Connect page calls it
        connection = services.connection_create(
            organization=org_a,
            actor=owner_of_a.user,
            provider="shipstation",
            credentials={"api_key": SS_KEY, "api_secret": SS_SECRET},
            name="Main",
        )
    monkeypatch.setattr(ShipStationProvider, "name", "Shop Source")
    with pytest.raises(services.ConnectionRefused) as duplicate:
        services.connection_create(
            organization=org_a,
            actor=owner_of_a.user,
            provider="shipstation",
            credentials={"api_key": SS_KEY, "api_secret": SS_SECRET},
        )
    assert duplicate.value.user_message == (
        "These Shop Source keys are already connected as “Main”. Each Shop Source account is "
        "connected once."
    )
    with pytest.raises(services.ConnectionRefused) as mode:
        services.plan_check_new_connection(
            organization=org_a, mode="nonsense", provider=connection.provider
        )
    assert mode.value.user_message == "Choose how Unify should use Shop Source."
    assert StoreConnection.all_orgs.filter(organization=org_a).count() == 1
