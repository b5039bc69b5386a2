"""Invitations: sent from the members page, accepted by a new user (sign-up with the invited
address, no second email round) or an existing one (sign in, then accept); refused when
expired, revoked or for another address."""

from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from tests.factories import UserFactory
from tests.tenancy.conftest import PASSWORD, link_from_mail, path_of
from unify.core.models import AuditEvent
from unify.tenancy.models import Invitation, Membership, Role

pytestmark = pytest.mark.django_db

User = get_user_model()
INVITED = "sam@bookkeeping.example"


@pytest.fixture
def invite_link(client, owner_of_a):
    """An invitation sent through the real members page; returns its accept path."""
    client.force_login(owner_of_a.user)
    response = client.post("/o/acme/settings/members/", {"email": INVITED, "role": Role.ADMIN})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [INVITED]
    link = path_of(link_from_mail(mail.outbox[0].body))
    client.logout()
    mail.outbox.clear()
    return link


def test_invitation_mail_carries_the_accept_link(client, owner_of_a):
    client.force_login(owner_of_a.user)
    client.post("/o/acme/settings/members/", {"email": INVITED, "role": Role.MEMBER})
    invitation = Invitation.objects.get(email=INVITED)
    assert invitation.organization == owner_of_a.organization
    assert invitation.invited_by == owner_of_a.user
    # Links in emails start with the configured site address (UNIFY_SITE_URL, the local
    # server in the test settings), not with the host the request came to.
    assert f"http://127.0.0.1:8000/invitations/{invitation.token}/" in mail.outbox[0].body
    assert "Acme Outdoor" in mail.outbox[0].subject
    created = AuditEvent.objects.get(action="invitation.created")
    assert created.metadata == {"email": INVITED, "role": "member"}
    assert invitation.token not in str(created.metadata)


def test_new_user_signs_up_with_invited_address_and_joins_without_own_org(client, invite_link):
    page = client.get(invite_link)
    assert page.status_code == 200
    assert "Join Acme Outdoor on Unify" in page.content.decode()

    signup_page = client.get("/accounts/signup/").content.decode()
    assert f'value="{INVITED}"' in signup_page
    assert "Company name (optional)" in signup_page
    assert "You are joining Acme Outdoor." in signup_page

    response = client.post(
        "/accounts/signup/",
        {"organization_name": "", "email": INVITED, "password1": PASSWORD, "password2": PASSWORD},
    )
    # The invitation link proved the address: signed in at once, no verification mail.
    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(email=INVITED)
    assert client.session["_auth_user_id"] == str(user.pk)
    assert mail.outbox == []
    assert EmailAddress.objects.get(user=user).verified is True
    memberships = list(
        Membership.objects.filter(user=user).values_list("organization__slug", "role")
    )
    assert memberships == [("acme", Role.ADMIN)]
    invitation = Invitation.objects.get(email=INVITED)
    assert invitation.accepted_by == user
    assert invitation.accepted_at is not None
    assert client.get("/")["Location"] == "/o/acme/"
    accepted = AuditEvent.objects.get(action="invitation.accepted")
    assert (accepted.organization.slug, accepted.actor) == ("acme", user)
    assert accepted.metadata == {"email": INVITED, "role": "admin", "new_member": True}


def test_new_user_who_types_a_company_name_also_gets_own_org(client, invite_link):
    client.get(invite_link)
    client.post(
        "/accounts/signup/",
        {
            "organization_name": "Sam's Books",
            "email": INVITED,
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    user = User.objects.get(email=INVITED)
    assert sorted(
        Membership.objects.filter(user=user).values_list("organization__name", "role")
    ) == [
        ("Acme Outdoor", Role.ADMIN),
        ("Sam's Books", Role.OWNER),
    ]


def test_signup_with_other_address_does_not_accept_and_needs_verification(client, invite_link):
    client.get(invite_link)
    response = client.post(
        "/accounts/signup/",
        {
            "organization_name": "",
            "email": "other@elsewhere.example",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(email="other@elsewhere.example")
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified")) == [
        ("other@elsewhere.example", False)
    ]
    assert not Membership.objects.filter(user=user, organization__slug="acme").exists()
    assert Invitation.objects.get(email=INVITED).accepted_at is None
    assert len(mail.outbox) == 1  # the verification mail of the typed address


def test_existing_user_signs_in_then_accepts(client, invite_link):
    user = UserFactory(username="sam", email=INVITED)
    page = client.get(invite_link).content.decode()
    assert "I already have an account" in page
    response = client.post(
        f"/accounts/login/?next={invite_link}",
        {"login": INVITED, "password": "correct-horse-battery"},
    )
    assert response.status_code == 302
    assert response["Location"] == invite_link
    page = client.get(invite_link).content.decode()
    assert ">Accept invitation</button>" in page
    assert not Membership.objects.filter(user=user).exists()

    response = client.post(invite_link)
    assert response.status_code == 302
    assert response["Location"] == "/o/acme/"
    membership = Membership.objects.get(user=user)
    assert (membership.organization.slug, membership.role) == ("acme", Role.ADMIN)
    assert AuditEvent.objects.filter(action="invitation.accepted", actor=user).count() == 1
    # The link is spent.
    assert "This invitation is no longer valid" in client.get(invite_link).content.decode()


def test_expired_invitation_is_refused(client, invite_link):
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    user = UserFactory(username="sam", email=INVITED)
    assert "This invitation is no longer valid" in client.get(invite_link).content.decode()
    client.force_login(user)
    response = client.post(invite_link, follow=True)
    assert "This invitation has expired or was already used." in response.content.decode()
    assert not Membership.objects.filter(user=user).exists()
    assert Invitation.objects.get(email=INVITED).accepted_at is None


def test_revoked_invitation_is_refused(client, invite_link, owner_of_a):
    invitation = Invitation.objects.get(email=INVITED)
    client.force_login(owner_of_a.user)
    response = client.post(f"/o/acme/settings/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 302
    client.logout()
    user = UserFactory(username="sam", email=INVITED)
    client.force_login(user)
    response = client.post(invite_link, follow=True)
    assert "This invitation has expired or was already used." in response.content.decode()
    assert not Membership.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(action="invitation.revoked").count() == 1


def test_revoked_invitation_cannot_be_used_to_sign_up_verified(client, invite_link):
    Invitation.objects.update(revoked_at=timezone.now())
    client.get(invite_link)
    response = client.post(
        "/accounts/signup/",
        {"organization_name": "X", "email": INVITED, "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(email=INVITED)
    assert EmailAddress.objects.get(user=user).verified is False
    assert not Membership.objects.filter(user=user, organization__slug="acme").exists()


def test_invitation_for_another_address_is_refused(client, invite_link):
    someone = UserFactory(username="someone", email="someone@else.example")
    client.force_login(someone)
    response = client.post(invite_link, follow=True)
    assert (
        f"This invitation was sent to {INVITED}. Sign in with that address to accept it."
        in response.content.decode()
    )
    assert not Membership.objects.filter(user=someone).exists()
    assert Invitation.objects.get(email=INVITED).accepted_at is None


def test_unknown_token_is_404(client):
    assert client.get("/invitations/not-a-real-token/").status_code == 404


def test_home_shows_a_pending_invitation_once_and_forgets_a_spent_one(client, invite_link):
    user = UserFactory(username="sam", email=INVITED)
    client.get(invite_link)  # anonymous: remembered in the session
    client.force_login(user)
    assert client.get("/")["Location"] == invite_link
    assert client.get("/")["Location"] == "/organizations/new/"  # not again

    client.logout()
    client.get(invite_link)
    Invitation.objects.update(revoked_at=timezone.now())
    client.force_login(user)
    assert client.get("/")["Location"] == "/organizations/new/"
