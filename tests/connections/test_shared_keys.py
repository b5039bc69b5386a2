"""One ShipStation key pair in two organizations: allowed, but both owners are told (by
email, without naming the other organization) and both activity logs record it."""

from __future__ import annotations

import pytest
from django.core import mail

from connections import services
from connections.models import StoreConnection
from tests.connections.conftest import (
    OTHER_KEY,
    OTHER_SECRET,
    SS_KEY,
    SS_KEY_2,
    SS_SECRET,
    SS_SECRET_2,
)
from tests.connections.test_connect_flow import connect
from unify.core.models import AuditEvent
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def connected_in_b(org_b, owner_of_b, ss):
    with org_scope(org_b.pk):  # as the Connect page calls it
        return services.connection_create(
            organization=org_b,
            actor=owner_of_b.user,
            provider="shipstation",
            credentials={"api_key": SS_KEY, "api_secret": SS_SECRET},
            name="Bolt warehouse",
        )


def test_connecting_keys_another_organization_uses_warns_both_owners(
    owner_client, org_a, owner_of_a, org_b, owner_of_b, connected_in_b,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = connect(owner_client, org_a, name="Acme main")

    assert response.status_code == 302  # allowed
    mine = StoreConnection.all_orgs.get(organization=org_a)
    by_recipient = {tuple(m.to): m for m in mail.outbox}
    assert sorted(by_recipient) == [(owner_of_a.user.email,), (owner_of_b.user.email,)]
    to_a, to_b = by_recipient[(owner_of_a.user.email,)], by_recipient[(owner_of_b.user.email,)]
    assert to_a.subject == (
        "[Unify] These ShipStation keys are also connected in another organization"
    )
    assert "“Acme main” in Acme Outdoor are also connected in another Unify organization" in (
        to_a.body
    )
    assert to_b.subject == "[Unify] Your ShipStation keys were connected in another organization"
    assert "“Bolt warehouse” in Bolt Bikes were just connected in another" in to_b.body
    # Neither learns the other's name; the secret is in no mail.
    assert "Bolt" not in to_a.body and "Acme" not in to_b.body
    assert SS_SECRET not in to_a.body + to_b.body and SS_KEY not in to_a.body + to_b.body
    assert mine.credentials_hint in to_a.body

    events = AuditEvent.objects.filter(action="connection.keys_shared").order_by("pk")
    assert [(e.organization_id, e.target) for e in events] == [
        (org_a.pk, f"connections.storeconnection:{mine.pk}"),
        (org_b.pk, f"connections.storeconnection:{connected_in_b.pk}"),
    ]
    assert events[0].metadata == {
        "provider": "shipstation", "key_hint": mine.credentials_hint, "other_organizations": 1,
    }  # fmt: skip


def test_keys_no_other_organization_uses_send_nothing(
    owner_client, org_a, connected_in_b, ss, django_capture_on_commit_callbacks
):
    ss.add_account(OTHER_KEY, OTHER_SECRET, seed=99, stores=2)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert connect(owner_client, org_a, key=OTHER_KEY, secret=OTHER_SECRET).status_code == 302
    assert mail.outbox == []
    assert not AuditEvent.objects.filter(action="connection.keys_shared").exists()


def test_new_keys_that_another_organization_uses_warn_too(
    org_a, owner_of_a, org_b, owner_of_b, ss, django_capture_on_commit_callbacks
):
    ss.add_account(SS_KEY_2, SS_SECRET_2, seed=7, stores=3)  # same account, second pair
    with org_scope(org_b.pk):  # each in its organization's scope, as the pages call them
        services.connection_create(
            organization=org_b,
            actor=owner_of_b.user,
            provider="shipstation",
            credentials={"api_key": SS_KEY_2, "api_secret": SS_SECRET_2},
        )
    with org_scope(org_a.pk):
        mine = services.connection_create(
            organization=org_a,
            actor=owner_of_a.user,
            provider="shipstation",
            credentials={"api_key": SS_KEY, "api_secret": SS_SECRET},
        )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), org_scope(org_a.pk):
        services.connection_update_credentials(
            connection=mine,
            actor=owner_of_a.user,
            credentials={"api_key": SS_KEY_2, "api_secret": SS_SECRET_2},
        )
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [owner_of_a.user.email, owner_of_b.user.email]
    )
