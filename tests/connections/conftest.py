"""Fixtures for the connections tests: a ShipStation stand-in account the app points at."""

from __future__ import annotations

import pytest

SS_KEY = "test-ss-key-7c21d0e4"
SS_SECRET = "test-ss-secret-b9f3a6c8"


@pytest.fixture
def ss(shipstation, settings):
    """The ShipStation stand-in with one account (3 stores, no orders) the app talks to."""
    settings.SHIPSTATION_API_BASE_URL = shipstation.base_url
    settings.SHIPSTATION_TIMEOUT_CONNECT = 2.0
    settings.SHIPSTATION_TIMEOUT_READ = 5.0
    shipstation.add_account(SS_KEY, SS_SECRET, seed=7, orders=0, stores=3)
    return shipstation
