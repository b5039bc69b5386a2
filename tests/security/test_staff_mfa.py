"""Staff reach every organization's data through the admin: not without a second factor.
A staff member (or superuser) without an authenticator app is sent to set one up."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory
from tests.security.support import enable_totp, reauthenticate, totp_code

pytestmark = pytest.mark.django_db

SETUP = "/accounts/2fa/totp/activate/"
ADMIN_PAGES = [
    "/admin/",
    "/admin/tenancy/organization/",
    "/admin/sales/order/",
    "/admin/core/auditevent/",
]


@pytest.fixture
def superuser(db):
    return UserFactory(username="support", is_staff=True, is_superuser=True)


def test_staff_without_mfa_is_sent_to_set_it_up_from_every_admin_page(client, superuser, org_a):
    client.force_login(superuser)
    for url in ADMIN_PAGES:
        response = client.get(url)
        assert (url, response.status_code, response["Location"]) == (url, 302, SETUP)
    # Posting changes is refused the same way.
    response = client.post(f"/admin/tenancy/organization/{org_a.pk}/change/", {"plan": "pro"})
    assert (response.status_code, response["Location"]) == (302, SETUP)
    org_a.refresh_from_db()
    assert org_a.plan == "starter"


def test_recovery_codes_alone_are_not_enough(client, superuser):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    RecoveryCodes.activate(superuser)
    client.force_login(superuser)
    assert client.get("/admin/")["Location"] == SETUP


def test_after_setting_up_an_authenticator_the_admin_opens(client, superuser):
    client.force_login(superuser)
    assert client.get("/admin/")["Location"] == SETUP
    # The real setup: password again, then a code from the new authenticator.
    reauthenticate(client)
    page = client.get(SETUP)
    assert page.status_code == 200
    secret = client.session["mfa.totp.secret"]
    assert client.post(SETUP, {"code": totp_code(secret)}).status_code == 302

    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/tenancy/organization/").status_code == 200


def test_staff_with_mfa_signs_in_with_a_code_and_uses_the_admin(client, superuser):
    secret = enable_totp(superuser)
    response = client.post(
        "/accounts/login/", {"login": superuser.email, "password": "correct-horse-battery"}
    )
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/admin/").status_code == 302  # not signed in until the code
    client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert client.get("/admin/").status_code == 200


def test_members_are_not_affected(client, owner_of_a, org_a):
    client.force_login(owner_of_a.user)
    assert client.get(f"/o/{org_a.slug}/").status_code == 200
    assert client.get("/admin/", follow=True).status_code == 403
