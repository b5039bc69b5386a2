"""Fixtures of the import and Sales-tab tests: the app pointed at the ShipStation stand-in,
with quick retries and an ample shared rate limit (tests that are about limits set their
own), and a signed-in member of organization A."""

from __future__ import annotations

import pytest

from tests.sales.support import SS_KEY


@pytest.fixture
def ss_app(shipstation, settings):
    settings.SHIPSTATION_API_BASE_URL = shipstation.base_url
    settings.SHIPSTATION_TIMEOUT_CONNECT = 2.0
    settings.SHIPSTATION_TIMEOUT_READ = 5.0
    settings.SHIPSTATION_RATE_LIMIT_PER_MINUTE = 100_000
    settings.SALES_SYNC_BACKOFF_SECONDS = 0.01
    settings.SALES_SYNC_BACKOFF_MAX_SECONDS = 0.05
    from connections.sources.shipstation.client import api_key_fingerprint
    from connections.sources.shipstation.limits import shipstation_rate_limiter

    shipstation_rate_limiter().reset(f"shipstation:{api_key_fingerprint(SS_KEY)}")
    return shipstation


@pytest.fixture
def member_client(client, member_of_a):
    client.force_login(member_of_a.user)
    return client
