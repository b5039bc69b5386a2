"""Sign-up through the real allauth views: user + organization + owner membership, mandatory
email verification, then sign-in."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail

from tests.tenancy.conftest import PASSWORD, link_from_mail, path_of
from unify.core.models import AuditEvent
from unify.tenancy.models import Membership, Organization, Role

pytestmark = pytest.mark.django_db

User = get_user_model()


def _sign_up(client, **overrides):
    data = {
        "organization_name": "Trail Supply Co",
        "email": "dana@trailsupply.example",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    data.update(overrides)
    return client.post("/accounts/signup/", data)


def test_signup_page_asks_for_company_name_with_labels(client):
    response = client.get("/accounts/signup/")
    assert response.status_code == 200
    html = response.content.decode()
    for field_id, label in [
        ("id_organization_name", "Company name"),
        ("id_email", "Email"),
        ("id_password1", "Password"),
        ("id_password2", "Password (again)"),
    ]:
        assert f'<label class="form-label" for="{field_id}">{label}' in html
    assert 'class="form-control' in html
    assert ">Create account</button>" in html
    # Company name comes first and is required for a plain sign-up.
    assert html.index("id_organization_name") < html.index('id="id_email"')


def test_signup_creates_user_org_owner_membership_and_sends_verification(client):
    response = _sign_up(client)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(email="dana@trailsupply.example")
    org = Organization.objects.get(name="Trail Supply Co")
    assert org.slug == "trail-supply-co"
    assert org.plan == "starter"
    membership = Membership.objects.get(user=user)
    assert (membership.organization_id, membership.role) == (org.pk, Role.OWNER)
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.verified, address.primary) == (
        "dana@trailsupply.example",
        False,
        True,
    )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["dana@trailsupply.example"]
    assert "/accounts/confirm-email/" in mail.outbox[0].body
    # Not signed in until the address is confirmed.
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="organization.created", organization=org).count() == 1


def test_signin_is_refused_until_email_confirmed_then_works(client):
    _sign_up(client)
    confirm_url = path_of(link_from_mail(mail.outbox[0].body))
    client.logout()

    response = client.post(
        "/accounts/login/", {"login": "dana@trailsupply.example", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert "_auth_user_id" not in client.session

    assert client.get(confirm_url).status_code == 200
    response = client.post(confirm_url)
    assert response.status_code == 302
    assert EmailAddress.objects.get(email="dana@trailsupply.example").verified is True

    response = client.post(
        "/accounts/login/", {"login": "dana@trailsupply.example", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(email="dana@trailsupply.example")
    assert client.session["_auth_user_id"] == str(user.pk)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/o/trail-supply-co/"
    dashboard = client.get("/o/trail-supply-co/")
    assert dashboard.status_code == 200
    assert "First step: connect your ShipStation account" in dashboard.content.decode()
    signed_in = AuditEvent.objects.get(action="user.signed_in", actor=user)
    assert signed_in.organization.slug == "trail-supply-co"
    assert signed_in.ip == "127.0.0.1"


def test_signup_without_company_name_is_refused_and_creates_nothing(client):
    response = _sign_up(client, organization_name="")
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not User.objects.filter(email="dana@trailsupply.example").exists()
    assert Organization.objects.count() == 0
    assert mail.outbox == []


def test_two_signups_with_same_company_name_get_distinct_slugs(client):
    _sign_up(client)
    client.logout()
    _sign_up(client, email="lee@trailsupply.example")
    assert sorted(Organization.objects.values_list("slug", flat=True)) == [
        "trail-supply-co",
        "trail-supply-co-2",
    ]


def test_failed_logins_are_rate_limited_through_the_redis_cache(client, owner_of_a, settings):
    import redis

    email = owner_of_a.user.email
    for _ in range(5):
        response = client.post("/accounts/login/", {"login": email, "password": "wrong-pass"})
        assert response.status_code == 200
        assert "The email address and/or password you specified are not correct." in (
            response.content.decode()
        )
    # The sixth try is refused even with the right password: the limit is per address.
    response = client.post(
        "/accounts/login/", {"login": email, "password": "correct-horse-battery"}
    )
    assert response.status_code == 200
    assert "Too many failed login attempts. Try again later." in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The counters live in Redis (the production cache), not in process memory.
    raw = redis.Redis.from_url(settings.REDIS_URL)
    assert list(raw.scan_iter(match="*allauth:rl:allauth.account:login_failed:*/key:*"))
