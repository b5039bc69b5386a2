"""Secret URL tokens never reach the logs: read from a real gunicorn server's access log and
error output (the image's command and production settings).

A password-reset link taken from an access log was enough to take over an account; the
webhook token in a log lets anyone trigger syncs; OAuth codes and states are one-time
credentials. Each route is requested with a real, valid token and the logs must show
``[redacted]`` where the token was, and the token nowhere.
"""

from __future__ import annotations

import re

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str

from connections.models import ConnectionStatus
from tests.factories import MembershipFactory, StoreConnectionFactory, UserFactory
from tests.server_process import PRODUCTION_SECRET_KEY
from unify.core.logging import redact
from unify.tenancy.models import Invitation, Role

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def secrets_of_a(org_a, settings):
    # Signed tokens must be valid for the server, which signs with its own key.
    settings.SECRET_KEY = PRODUCTION_SECRET_KEY
    owner = MembershipFactory(organization=org_a, role=Role.OWNER, user__username="owner-a").user
    connection = StoreConnectionFactory(organization=org_a, status=ConnectionStatus.ACTIVE)
    newcomer = UserFactory(username="newcomer", email="newcomer@example.com", verified_email=False)
    EmailAddress.objects.filter(user=newcomer).delete()
    address = EmailAddress.objects.create(
        user=newcomer, email=newcomer.email, verified=False, primary=True
    )
    invitation = Invitation.objects.create(
        organization=org_a, email="invitee@example.com", invited_by=owner
    )
    return {
        "webhook": connection.webhook_token,
        "reset": default_token_generator.make_token(owner),
        "reset_uid": user_pk_to_url_str(owner),
        "confirm": EmailConfirmationHMAC(address).key,
        "invitation": invitation.token,
        "code": "AB11773459282oAuthCodeSecretXyZ",
        "state": "st4te-Secret-0f-the-flow-9Qa",
    }


def test_secret_url_tokens_are_redacted_in_access_and_error_logs(production_server, secrets_of_a):
    s = secrets_of_a
    reset_path = f"/accounts/password/reset/key/{s['reset_uid']}-{s['reset']}/"
    confirm_path = f"/accounts/confirm-email/{s['confirm']}/"
    with production_server() as server:
        statuses = {
            "webhook ok": server.post(
                f"/webhooks/shipstation/{s['webhook']}/",
                data=b"not json",
                headers={"Content-Type": "application/json"},
            ).status_code,
            "webhook unknown": server.post(
                f"/webhooks/shipstation/{s['webhook']}x/", data=b"{}"
            ).status_code,
            "reset": server.get(reset_path).status_code,
            "confirm": server.get(confirm_path).status_code,
            # A page's assets are fetched with the page's address as the Referer.
            "asset": server.get(
                "/static/css/unify.css",
                headers={"Referer": f"https://unify.example.com{confirm_path}"},
            ).status_code,
            "invitation": server.get(f"/invitations/{s['invitation']}/").status_code,
            "oauth": server.get(
                f"/ledgers/qbo/callback/?code={s['code']}&state={s['state']}&realmId=4620816365"
            ).status_code,
        }
        access, errors = server.logs()

    # Each request really reached the application (a valid token, not a 404 by accident).
    assert statuses == {
        "webhook ok": 400,
        "webhook unknown": 404,
        "reset": 302,
        "confirm": 200,
        "asset": 200,
        "invitation": 200,
        "oauth": 302,
    }
    for name in ("webhook", "reset", "confirm", "invitation", "code", "state"):
        assert s[name] not in access, f"{name} token in the access log"
        assert s[name] not in errors, f"{name} token in the error output"

    lines = access.splitlines()

    def logged(pattern: str) -> list[str]:
        return [line for line in lines if re.search(pattern, line)]

    assert len(logged(r'"POST /webhooks/shipstation/\[redacted\]/ HTTP/1.1" 400 ')) == 1
    assert len(logged(r'"POST /webhooks/shipstation/\[redacted\]/ HTTP/1.1" 404 ')) == 1
    assert len(logged(r'"GET /accounts/password/reset/key/\[redacted\]/ HTTP/1.1" 302 ')) == 1
    assert len(logged(r'"GET /accounts/confirm-email/\[redacted\]/ HTTP/1.1" 200 ')) == 1
    assert len(logged(r'"https://unify.example.com/accounts/confirm-email/\[redacted\]/"')) == 1
    assert len(logged(r'"GET /invitations/\[redacted\]/ HTTP/1.1" 200 ')) == 1
    oauth = r'"GET /ledgers/qbo/callback/\?code=\[redacted\]&state=\[redacted\]&realmId=4620816365'
    assert len(logged(oauth)) == 1
    # Django's own warnings for the webhook's 400 and 404 name the route, not the token.
    assert "Bad Request: /webhooks/shipstation/[redacted]/" in errors
    assert "Not Found: /webhooks/shipstation/[redacted]/" in errors


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Not Found: /webhooks/shipstation/Zx_9-aa/",
            "Not Found: /webhooks/shipstation/[redacted]/",
        ),
        (
            "GET /accounts/password/reset/key/2-c9x-1f2e3d4c5b6a/ HTTP/1.1",
            "GET /accounts/password/reset/key/[redacted]/ HTTP/1.1",
        ),
        (
            "GET /accounts/password/reset/key/done/ HTTP/1.1",
            "GET /accounts/password/reset/key/done/ HTTP/1.1",
        ),
        ("/accounts/confirm-email/MQ:1tZ:abc/", "/accounts/confirm-email/[redacted]/"),
        ("/invitations/tok_EN-123", "/invitations/[redacted]"),
        (
            "/ledgers/qbo/callback/?state=s1&code=c2&realmId=9",
            "/ledgers/qbo/callback/?state=[redacted]&code=[redacted]&realmId=9",
        ),
        ("/o/acme/sales/?status=shipped&code=", "/o/acme/sales/?status=shipped&code="),
        (
            "GET /o/acme/sales/?q=postcode%3D1 HTTP/1.1",
            "GET /o/acme/sales/?q=postcode%3D1 HTTP/1.1",
        ),
    ],
)
def test_redact_rewrites_secret_url_parts_only(text, expected):
    assert redact(text) == expected
