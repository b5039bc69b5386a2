"""Helpers of the security tests: passwords, TOTP for a user, re-authentication."""

from __future__ import annotations

import time

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


def enable_totp(user) -> str:
    """Activate an authenticator app for ``user`` (stored as the real setup stores it);
    returns its secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def totp_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))


def reauthenticate(client, password: str = PASSWORD) -> None:
    response = client.post("/accounts/reauthenticate/", {"password": password})
    assert response.status_code == 302, response.content.decode()[:2000]
