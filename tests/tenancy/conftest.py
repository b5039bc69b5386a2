"""Fixtures for the accounts and organizations tests."""

from __future__ import annotations

import re

import pytest
import redis
from django.conf import settings

PASSWORD = "Tr4il-supply-ledger"


@pytest.fixture(autouse=True)
def clear_allauth_rate_limits():
    """allauth counts sign-ups and failed logins per IP in the (Redis) cache; every test client
    is 127.0.0.1, so clear those counters around each test instead of letting tests share
    them. Only allauth's keys are removed; the rest of the test Redis database is untouched."""

    def clear() -> None:
        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(match="*allauth:rl:*", count=500))
        if keys:
            client.delete(*keys)

    clear()
    yield
    clear()


def link_from_mail(body: str) -> str:
    match = re.search(r"https?://[^\s]+", body)
    assert match, body
    return match.group(0)


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)
