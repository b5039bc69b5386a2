"""Unlocking a member locked out by too many failed sign-ins (allauth's ``login_failed``
rate limit, per email): support sees the member locked out, confirms the unlock, the member
signs in at once, and the organization's activity log has it. A member of another
organization cannot be chosen."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import MembershipFactory, UserFactory
from tests.support.test_console import audit
from unify.tenancy.models import Membership, Role

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


def sign_in(email: str, password: str, ip: str):
    client = Client(REMOTE_ADDR=ip)
    return client.post(reverse("account_login"), {"login": email, "password": password})


def locked_out_message(response) -> bool:
    return b"Too many failed login attempts" in response.content


@pytest.fixture
def locked_member(org_a):
    """A member with an address of their own and sign-ins from an address of their own, so
    no rate limit bucket of another test (they live in Redis for 5 minutes) counts here."""
    tag = uuid.uuid4().hex[:10]
    user = UserFactory(username=f"locked-{tag}")
    membership = MembershipFactory(organization=org_a, user=user, role=Role.MEMBER)
    ip = f"10.{int(tag[:2], 16)}.{int(tag[2:4], 16)}.{int(tag[4:6], 16)}"
    return membership, ip


def test_support_unlocks_a_member_locked_out_by_failed_sign_ins(
    staff_client,
    org_a,
    owner_of_a,
    locked_member,
):
    member_of_a, ip = locked_member
    email = member_of_a.user.email
    for _ in range(5):
        assert sign_in(email, "wrong password", ip).status_code == 200
    refused = sign_in(email, PASSWORD, ip)
    assert refused.status_code == 200 and locked_out_message(refused)

    page = staff_client.get(reverse("support:organization", kwargs={"organization_id": org_a.pk}))
    unlock_link = f"?membership_id={member_of_a.pk}"
    assert unlock_link in page.content.decode()  # shown locked out, with its Unlock button
    url = reverse("support:action", kwargs={"organization_id": org_a.pk, "action": "unlock_member"})
    confirm = staff_client.get(url, {"membership_id": member_of_a.pk})
    assert confirm.status_code == 200 and b'data-testid="support-confirm"' in confirm.content
    # Nothing is unlocked before the confirmation.
    assert locked_out_message(sign_in(email, PASSWORD, ip))

    done = staff_client.post(url, {"membership_id": member_of_a.pk}, follow=True)
    assert f"{email} can sign in again." in done.content.decode()
    (event,) = audit(org_a, "support.action")
    assert event.metadata["action"] == "unlock_member"
    assert event.metadata["membership_id"] == member_of_a.pk
    assert event.metadata["was_locked"] is True

    signed_in = sign_in(email, PASSWORD, ip)
    assert signed_in.status_code == 302, signed_in.content.decode()[:500]
    page = staff_client.get(reverse("support:organization", kwargs={"organization_id": org_a.pk}))
    assert unlock_link not in page.content.decode()


def test_unlocking_a_member_of_another_organization_is_refused(
    staff_client,
    org_a,
    owner_of_a,
    owner_of_b,
):
    url = reverse("support:action", kwargs={"organization_id": org_a.pk, "action": "unlock_member"})
    done = staff_client.post(url, {"membership_id": owner_of_b.pk}, follow=True)
    assert "Choose a member of this organization." in done.content.decode()
    assert audit(org_a, "support.action") == []
    assert Membership.objects.filter(pk=owner_of_b.pk).exists()
