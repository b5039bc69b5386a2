"""Role rules on the settings pages: members cannot manage members; admins cannot touch
owners; the last owner stays; only owners delete the organization. On every denial nothing
changes."""

from __future__ import annotations

import pytest
from django.core import mail

from tests.factories import MembershipFactory
from tests.security.support import reauthenticate
from unify.core.models import AuditEvent
from unify.tenancy.models import Invitation, Membership, Organization, Role

pytestmark = pytest.mark.django_db


def _roles(org) -> dict[str, str]:
    return dict(Membership.objects.filter(organization=org).values_list("user__username", "role"))


def _role_url(m) -> str:
    return f"/o/{m.organization.slug}/settings/members/{m.pk}/role/"


def _remove_url(m) -> str:
    return f"/o/{m.organization.slug}/settings/members/{m.pk}/remove/"


def test_member_gets_403_on_every_member_management_post(
    client, owner_of_a, admin_of_a, member_of_a
):
    other = MembershipFactory(organization=owner_of_a.organization, user__username="other-a")
    invitation = Invitation.objects.create(organization=owner_of_a.organization, email="x@y.z")
    before = _roles(owner_of_a.organization)
    client.force_login(member_of_a.user)

    assert client.post("/o/acme/settings/members/", {"email": "new@x.example"}).status_code == 403
    assert client.post(_role_url(other), {"role": Role.OWNER}).status_code == 403
    assert client.post(_role_url(member_of_a), {"role": Role.OWNER}).status_code == 403
    assert client.post(_remove_url(other)).status_code == 403
    assert client.post(_remove_url(admin_of_a)).status_code == 403
    assert client.post(f"/o/acme/settings/invitations/{invitation.pk}/revoke/").status_code == 403
    assert client.get("/o/acme/settings/").status_code == 403
    assert (
        client.post("/o/acme/settings/", {"name": "Renamed", "timezone": "UTC"}).status_code == 403
    )

    assert _roles(owner_of_a.organization) == before
    assert Invitation.objects.filter(email="new@x.example").count() == 0
    invitation.refresh_from_db()
    assert invitation.revoked_at is None
    assert Organization.objects.get(slug="acme").name == "Acme Outdoor"
    assert mail.outbox == []
    assert not AuditEvent.objects.exists()


def test_member_sees_members_list_without_management_controls(client, member_of_a, owner_of_a):
    client.force_login(member_of_a.user)
    page = client.get("/o/acme/settings/members/").content.decode()
    assert owner_of_a.user.email in page
    assert "Send invitation" not in page
    assert "Remove member" not in page
    assert "Leave organization" in page


def test_member_can_leave(client, member_of_a, owner_of_a):
    client.force_login(member_of_a.user)
    response = client.post(_remove_url(member_of_a))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=member_of_a.pk).exists()
    assert AuditEvent.objects.get(action="membership.removed").metadata == {
        "user": member_of_a.user.email,
        "role": "member",
    }


def test_admin_changes_member_role_and_it_is_audited(client, admin_of_a, member_of_a):
    client.force_login(admin_of_a.user)
    response = client.post(_role_url(member_of_a), {"role": Role.ADMIN})
    assert response.status_code == 302
    member_of_a.refresh_from_db()
    assert member_of_a.role == Role.ADMIN
    event = AuditEvent.objects.get(action="membership.role_changed")
    assert event.actor == admin_of_a.user
    assert event.metadata == {"user": member_of_a.user.email, "from": "member", "to": "admin"}
    assert event.target == f"tenancy.membership:{member_of_a.pk}"


def test_admin_cannot_remove_or_demote_owner_or_make_owners(
    client, owner_of_a, admin_of_a, member_of_a
):
    before = _roles(owner_of_a.organization)
    client.force_login(admin_of_a.user)

    response = client.post(_remove_url(owner_of_a), follow=True)
    assert "You cannot remove someone above your role." in response.content.decode()
    response = client.post(_role_url(owner_of_a), {"role": Role.MEMBER}, follow=True)
    assert "Only an owner can change an owner&#x27;s role." in response.content.decode()
    client.post(_role_url(member_of_a), {"role": Role.OWNER})
    client.post(_role_url(admin_of_a), {"role": Role.OWNER})

    assert _roles(owner_of_a.organization) == before
    assert not AuditEvent.objects.exists()


def test_last_owner_cannot_be_demoted_or_removed(client, owner_of_a, admin_of_a):
    client.force_login(owner_of_a.user)
    response = client.post(_role_url(owner_of_a), {"role": Role.ADMIN}, follow=True)
    assert "The organization needs at least one owner." in response.content.decode()
    response = client.post(_remove_url(owner_of_a), follow=True)
    assert "The organization needs at least one owner." in response.content.decode()
    owner_of_a.refresh_from_db()
    assert owner_of_a.role == Role.OWNER
    assert not AuditEvent.objects.exists()


def test_with_a_second_owner_the_first_can_step_down(client, owner_of_a, admin_of_a):
    client.force_login(owner_of_a.user)
    client.post(_role_url(admin_of_a), {"role": Role.OWNER})
    response = client.post(_remove_url(owner_of_a))
    assert response.status_code == 302
    assert _roles(owner_of_a.organization) == {"admin-a": Role.OWNER}


def test_only_owner_deletes_the_organization(client, owner_of_a, admin_of_a, org_b, owner_of_b):
    client.force_login(admin_of_a.user)
    assert client.post("/o/acme/settings/delete/", {"confirm_slug": "acme"}).status_code == 403
    assert Organization.objects.filter(slug="acme").exists()

    client.force_login(owner_of_a.user)
    # Deleting asks for the password again (tests/security/test_reauthentication.py).
    reauthenticate(client)
    response = client.post("/o/acme/settings/delete/", {"confirm_slug": "wrong"}, follow=True)
    assert "That is not this organization&#x27;s short name." in response.content.decode()
    assert Organization.objects.filter(slug="acme").exists()

    response = client.post("/o/acme/settings/delete/", {"confirm_slug": "acme"})
    assert response.status_code == 302
    assert not Organization.objects.filter(slug="acme").exists()
    assert not Membership.objects.filter(organization__slug="acme").exists()
    assert Organization.objects.filter(slug="bolt").exists()
    assert Membership.objects.filter(pk=owner_of_b.pk).exists()


def test_admin_edits_organization_settings(client, admin_of_a):
    client.force_login(admin_of_a.user)
    response = client.post(
        "/o/acme/settings/", {"name": "Acme Outdoor GmbH", "timezone": "Europe/Berlin"}
    )
    assert response.status_code == 302
    org = Organization.objects.get(slug="acme")
    assert (org.name, org.timezone) == ("Acme Outdoor GmbH", "Europe/Berlin")
    assert AuditEvent.objects.get(action="organization.updated").metadata == {
        "name": ["Acme Outdoor", "Acme Outdoor GmbH"],
        "timezone": ["America/New_York", "Europe/Berlin"],
    }


def test_plan_member_limit_refuses_invitation(client, owner_of_a, admin_of_a, member_of_a):
    # Starter allows three members; Acme already has three.
    client.force_login(owner_of_a.user)
    response = client.post(
        "/o/acme/settings/members/", {"email": "four@x.example", "role": "member"}
    )
    assert response.status_code == 200
    assert "Your plan allows 3 members. Upgrade to invite more." in response.content.decode()
    assert not Invitation.objects.exists()


def test_open_invitations_count_against_the_member_limit(client, owner_of_a, admin_of_a):
    client.force_login(owner_of_a.user)
    client.post("/o/acme/settings/members/", {"email": "three@x.example", "role": "member"})
    response = client.post(
        "/o/acme/settings/members/", {"email": "four@x.example", "role": "member"}
    )
    assert "Your plan allows 3 members. Upgrade to invite more." in response.content.decode()
    assert list(Invitation.objects.values_list("email", flat=True)) == ["three@x.example"]
    # Re-inviting the same address replaces its invitation instead of taking a seat.
    client.post("/o/acme/settings/members/", {"email": "three@x.example", "role": "admin"})
    assert Invitation.objects.filter(email="three@x.example", revoked_at__isnull=True).count() == 1


def test_sole_owner_is_not_offered_to_leave(client, owner_of_a, admin_of_a):
    client.force_login(owner_of_a.user)
    page = client.get("/o/acme/settings/members/").content.decode()
    assert "Make another member an owner before you leave." in page
    assert ">Leave organization</button>" not in page
    client.force_login(admin_of_a.user)
    assert (
        ">Leave organization</button>" in client.get("/o/acme/settings/members/").content.decode()
    )
