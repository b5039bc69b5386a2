"""Every allauth page a user meets renders in the app's layout (Bootstrap card, a real label
for every input, clear buttons, no inline script or style) and its flow works: password
reset, change password, change email, sign out, MFA (TOTP + recovery codes), reauthenticate."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core import mail
from django.db import connection

from tests.factories import MembershipFactory
from tests.tenancy.conftest import PASSWORD, link_from_mail, path_of
from unify.core import crypto

pytestmark = pytest.mark.django_db

EMAIL = "robin@acme.example"


@pytest.fixture
def robin(org_a):
    membership = MembershipFactory(
        organization=org_a, user__username="robin", user__email=EMAIL, user__password=PASSWORD
    )
    return membership.user


@pytest.fixture
def signed_in(client, robin):
    """Signed in through the real login view (allauth records the authentication, which the
    reauthentication-protected pages need)."""
    response = client.post("/accounts/login/", {"login": EMAIL, "password": PASSWORD})
    assert response.status_code == 302
    return client


def assert_app_page(response, *, heading: str) -> str:
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="card' in html
    assert heading in html
    assert "/static/vendor/bootstrap-5.3.9/bootstrap.min.css" in html
    # No inline script or style: the CSP (script-src/style-src 'self') would block them.
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, f"inline script: {tag}"
    assert " style=" not in html
    assert "<style" not in html
    # Every visible input has a label pointing at it.
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
        if re.search(r'type="(hidden|submit)"', tag):
            continue
        field_id = re.search(r'id="([^"]+)"', tag)
        assert field_id, f"input without id: {tag}"
        assert f'for="{field_id.group(1)}"' in html, f"input without label: {tag}"
    assert re.search(r'class="btn btn-[a-z-]+', html), "no styled button"
    return html


def test_signed_out_pages_render_in_app_layout(client):
    assert_app_page(client.get("/accounts/login/"), heading="Sign in to Unify")
    assert_app_page(client.get("/accounts/signup/"), heading="Create your Unify account")
    assert_app_page(client.get("/accounts/password/reset/"), heading="Password Reset")
    assert_app_page(client.get("/accounts/password/reset/done/"), heading="Password Reset")


def test_password_reset_flow(client, robin):
    response = client.post("/accounts/password/reset/", {"email": EMAIL})
    assert response["Location"] == "/accounts/password/reset/done/"
    assert len(mail.outbox) == 1
    link = path_of(link_from_mail(mail.outbox[0].body))
    response = client.get(link)
    # allauth moves the key into the session and redirects to the form.
    assert response.status_code == 302
    form_url = response["Location"]
    assert_app_page(client.get(form_url), heading="Change Password")
    response = client.post(
        form_url, {"password1": "New-ledger-pass-42", "password2": "New-ledger-pass-42"}
    )
    assert response["Location"] == "/accounts/password/reset/key/done/"
    assert_app_page(client.get(response["Location"]), heading="Change Password")
    response = client.post("/accounts/login/", {"login": EMAIL, "password": "New-ledger-pass-42"})
    assert response["Location"] == "/"


def test_email_verification_pages(client):
    client.post(
        "/accounts/signup/",
        {
            "organization_name": "Verify Co",
            "email": "new@verify.example",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert_app_page(client.get("/accounts/confirm-email/"), heading="Verify Your Email Address")
    link = path_of(link_from_mail(mail.outbox[0].body))
    html = assert_app_page(client.get(link), heading="Confirm Email Address")
    assert "new@verify.example" in html


def test_signed_in_account_pages_render(signed_in):
    html = assert_app_page(signed_in.get("/accounts/email/"), heading="Email Address")
    assert EMAIL in html
    assert_app_page(signed_in.get("/accounts/password/change/"), heading="Change Password")
    assert_app_page(signed_in.get("/accounts/2fa/"), heading="Two-Factor Authentication")
    assert_app_page(signed_in.get("/accounts/logout/"), heading="Sign Out")
    assert_app_page(signed_in.get("/accounts/reauthenticate/"), heading="Confirm Access")
    # The account pages share a side menu back into the app.
    assert 'href="/accounts/2fa/"' in signed_in.get("/accounts/email/").content.decode()


def test_change_password(signed_in, robin):
    response = signed_in.post(
        "/accounts/password/change/",
        {
            "oldpassword": PASSWORD,
            "password1": "Fresh-ledger-pass-7",
            "password2": "Fresh-ledger-pass-7",
        },
    )
    assert response.status_code == 302
    robin.refresh_from_db()
    assert robin.check_password("Fresh-ledger-pass-7")


def test_change_email_sends_verification_to_new_address(signed_in, robin):
    response = signed_in.post(
        "/accounts/email/", {"action_add": "", "email": "robin.new@acme.example"}
    )
    assert response.status_code == 302
    assert mail.outbox[-1].to == ["robin.new@acme.example"]
    html = assert_app_page(signed_in.get("/accounts/email/"), heading="Email Address")
    assert "robin.new@acme.example" in html
    assert "Your email address is still pending verification." in html
    # The pending-change helper form is hidden without an inline style.
    assert '<form hidden\n              id="pending-email"' in html


def test_sign_out(signed_in):
    response = signed_in.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in signed_in.session


def _reauthenticate(client) -> None:
    # allauth asks for the password again before security changes, even right after sign-in.
    response = client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert response.status_code == 302


def _current_code(secret: str) -> str:
    import time

    from allauth.mfa import app_settings

    return format_hotp_value(hotp_value(secret, int(time.time()) // app_settings.TOTP_PERIOD))


def test_totp_activation_recovery_codes_and_login_with_code(signed_in, robin):
    response = signed_in.get("/accounts/2fa/totp/activate/")
    assert (
        response["Location"]
        == "/accounts/reauthenticate/?next=%2Faccounts%2F2fa%2Ftotp%2Factivate%2F"
    )
    _reauthenticate(signed_in)
    html = assert_app_page(
        signed_in.get("/accounts/2fa/totp/activate/"), heading="Activate Authenticator App"
    )
    # The QR code is an inline data: image (allowed by img-src 'self' data:), no script.
    qr = re.search(r'<img src="(data:image/svg\+xml;base64,[^"]+)"', html)
    assert qr, html
    secret = signed_in.session["mfa.totp.secret"]
    assert f'value="{secret}"' in html

    response = signed_in.post("/accounts/2fa/totp/activate/", {"code": _current_code(secret)})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/recovery-codes/"
    totp = Authenticator.objects.get(user=robin, type=Authenticator.Type.TOTP)
    # Stored encrypted under UNIFY_ENCRYPTION_KEYS, not in the clear.
    with connection.cursor() as cursor:
        cursor.execute("SELECT data::text FROM mfa_authenticator WHERE id = %s", [totp.pk])
        raw = cursor.fetchone()[0]
    assert secret not in raw
    assert crypto.decrypt(totp.data["secret"]) == secret

    html = assert_app_page(signed_in.get("/accounts/2fa/recovery-codes/"), heading="Recovery Codes")
    codes = re.search(r"<textarea[^>]*>(.*?)</textarea>", html, re.S).group(1).split()
    assert len(codes) == 10

    signed_in.post("/accounts/logout/")
    response = signed_in.post("/accounts/login/", {"login": EMAIL, "password": PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert "_auth_user_id" not in signed_in.session
    assert_app_page(
        signed_in.get("/accounts/2fa/authenticate/"), heading="Two-Factor Authentication"
    )
    response = signed_in.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert response["Location"] == "/"
    assert signed_in.session["_auth_user_id"] == str(robin.pk)


def test_rotation_reencrypts_mfa_secrets(signed_in, robin, settings):
    import io

    from cryptography.fernet import Fernet
    from django.core.management import call_command

    _reauthenticate(signed_in)
    signed_in.get("/accounts/2fa/totp/activate/")
    secret = signed_in.session["mfa.totp.secret"]
    signed_in.post("/accounts/2fa/totp/activate/", {"code": _current_code(secret)})
    new_key = Fernet.generate_key().decode()
    settings.UNIFY_ENCRYPTION_KEYS = [new_key, *settings.UNIFY_ENCRYPTION_KEYS]
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    # The TOTP secret and the recovery-code seed.
    assert (
        "mfa.Authenticator secrets: 2 re-encrypted, 0 already under the newest key"
        in out.getvalue()
    )
    totp = Authenticator.objects.get(user=robin, type=Authenticator.Type.TOTP)
    assert Fernet(new_key).decrypt(totp.data["secret"].encode()).decode() == secret
