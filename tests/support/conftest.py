"""Support staff for the console's tests (staff with an authenticator app, signed in) and a
merchant for them to look at."""

from __future__ import annotations

import pytest

from tests.accounting.factories import make_posting
from tests.factories import LedgerConnectionFactory, UserFactory
from tests.sales.support import make_connection as make_ss_connection
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


@pytest.fixture
def merchant(org_a, owner_of_a):
    connection = make_ss_connection(org_a, name="Main ShipStation")
    ledger = LedgerConnectionFactory(organization=org_a)
    posting = make_posting(org_a, status="failed", connection=ledger)
    return {"connection": connection, "ledger": ledger, "posting": posting}
