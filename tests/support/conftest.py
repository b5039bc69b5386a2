"""Support staff for the console's tests: staff with an authenticator app, signed in."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory
from tests.security.support import enable_totp


@pytest.fixture
def staff(db):
    user = UserFactory(username="support-1", email="support@unify.example", is_staff=True)
    enable_totp(user)
    return user


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client
