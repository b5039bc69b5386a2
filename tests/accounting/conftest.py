"""Fixtures for accounting: the QBO stand-in wired into settings, a connected ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounting.ledgers.qbo import client as qbo_client
from accounting.ledgers.qbo.client import limit_key, qbo_rate_limiter
from accounting.models import LedgerConnection, LedgerStatus
from sandbox.qbo.oauth import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from tests.accounting.factories import mapped_settings


def qbo_env(qbo) -> dict[str, str]:
    """Environment for a worker subprocess talking to this stand-in."""
    return {
        "QBO_CLIENT_ID": DEMO_CLIENT_ID,
        "QBO_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "QBO_DISCOVERY_URL": qbo.discovery_url,
        "QBO_API_BASE_URL": qbo.api_base_url,
        "QBO_APP_BASE_URL": qbo.base_url,
        "OAUTHLIB_INSECURE_TRANSPORT": "1",
    }


@pytest.fixture
def qbo_settings(settings, qbo):
    settings.QBO_CLIENT_ID = DEMO_CLIENT_ID
    settings.QBO_CLIENT_SECRET = DEMO_CLIENT_SECRET
    settings.QBO_DISCOVERY_URL = qbo.discovery_url
    settings.QBO_API_BASE_URL = qbo.api_base_url
    settings.QBO_APP_BASE_URL = qbo.base_url
    settings.QBO_REDIRECT_URI = ""
    # The stand-in is new for every test: forget the cached discovery document and what the
    # shared limiter counted for this realm in earlier tests.
    qbo_client._discovery.clear()
    qbo_rate_limiter().reset(limit_key(qbo.realm_id))
    return settings


def connect_ledger(organization, qbo, **settings_overrides) -> LedgerConnection:
    """A QBO connection holding real tokens of the stand-in, with accounts mapped."""
    tokens = qbo.issue_tokens()
    now = timezone.now()
    connection = LedgerConnection.all_orgs.create(
        organization=organization,
        provider="qbo",
        company_id=qbo.realm_id,
        company_name="Sandbox Company_US_1",
        status=LedgerStatus.ACTIVE,
        tokens={"access_token": tokens["access_token"], "refresh_token": tokens["refresh_token"]},
        access_token_expires_at=now + timedelta(seconds=int(tokens["expires_in"])),
        connected_at=now,
    )
    mapped_settings(connection, **settings_overrides)
    return connection


@pytest.fixture
def qbo_ledger(org_a, qbo, qbo_settings) -> LedgerConnection:
    return connect_ledger(org_a, qbo)


@pytest.fixture
def ss_account(shipstation, settings):
    """The ShipStation stand-in wired into settings, no rate limit, one empty account (add
    orders and labels through its handle)."""
    from connections.sources.shipstation.client import api_key_fingerprint
    from connections.sources.shipstation.limits import shipstation_rate_limiter
    from tests.sales.support import SS_KEY, SS_SECRET

    settings.SHIPSTATION_API_BASE_URL = shipstation.base_url
    settings.SHIPSTATION_RATE_LIMIT_PER_MINUTE = 100_000
    shipstation.disable_rate_limit()
    shipstation_rate_limiter().reset(f"shipstation:{api_key_fingerprint(SS_KEY)}")
    shipstation.add_account(SS_KEY, SS_SECRET, seed=51, orders=0, days=30, stores=2)
    return shipstation


# The Xero stand-in's fixtures for accounting tests.
from tests.accounting.xero_support import xero_ledger, xero_settings  # noqa: E402, F401


def import_worker_env(ledger_env: dict[str, str], queue: str, shipstation) -> dict[str, str]:
    """Environment of a worker that imports from the ShipStation stand-in and posts."""
    return {
        **ledger_env,
        "SALES_TASK_QUEUE": queue,
        "ACCOUNTING_TASK_QUEUE": queue,
        "DJANGO_SETTINGS_MODULE": "tests.accounting.worker_settings",
        "SHIPSTATION_API_BASE_URL": shipstation.base_url,
        "SHIPSTATION_RATE_LIMIT_PER_MINUTE": "100000",
    }


def closed_day_summaries(summaries: list, tz) -> list:
    """The summary postings of closed days. Those of days not over yet (plus the import's
    overlap) must wait, unposted, with the reason: asserted here."""
    from accounting.models import PostingState
    from accounting.services.summaries import day_closes_at

    waiting = [p for p in summaries if day_closes_at(p.summary_date, tz) > timezone.now()]
    assert all(
        p.status == PostingState.PENDING and p.error.startswith("Waiting for the day to end")
        for p in waiting
    ), [(p.status, p.error) for p in waiting]
    return [p for p in summaries if p not in waiting]


def wait_until(predicate, timeout: float = 180.0, every: float = 0.5) -> bool:
    """Poll ``predicate`` (work done by a worker process) until true or ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())
