"""Fixtures for the connections tests: a ShipStation stand-in account the app points at."""

from __future__ import annotations

import pytest

SS_KEY = "test-ss-key-7c21d0e4"
SS_SECRET = "test-ss-secret-b9f3a6c8"
# A second pair for the same ShipStation account (same seed: same stores).
SS_KEY_2 = "test-ss-key-2-51aa90d3"
SS_SECRET_2 = "test-ss-secret-2-0e7f44c1"
# A pair of another ShipStation account (other stores).
OTHER_KEY = "other-ss-key-93be12f7"
OTHER_SECRET = "other-ss-secret-6d2c88aa"
ALL_KEYS = (SS_KEY, SS_KEY_2, OTHER_KEY)


def _reset_shared_limiter() -> None:
    """The shared ShipStation limiter lives in Redis and outlasts a test; start each test with
    a fresh budget for the test keys (a 429 in one test must not slow the next)."""
    try:
        from connections.sources.shipstation.limits import shipstation_rate_limiter
    except ImportError:
        return
    from connections.sources.shipstation.client import api_key_fingerprint

    limiter = shipstation_rate_limiter()
    for key in ALL_KEYS:
        limiter.reset(f"shipstation:{api_key_fingerprint(key)}")


@pytest.fixture
def ss(shipstation, settings):
    """The ShipStation stand-in with one account (3 active stores and 1 inactive, no orders)
    the app talks to."""
    settings.SHIPSTATION_API_BASE_URL = shipstation.base_url
    settings.SHIPSTATION_TIMEOUT_CONNECT = 2.0
    settings.SHIPSTATION_TIMEOUT_READ = 5.0
    settings.SHIPSTATION_RATE_LIMIT_PER_MINUTE = 100_000
    shipstation.add_account(SS_KEY, SS_SECRET, seed=7, orders=0, stores=3)
    _reset_shared_limiter()
    yield shipstation
    _reset_shared_limiter()


@pytest.fixture
def pro_a(org_a):
    org_a.plan = "pro"
    org_a.save()
    return org_a
