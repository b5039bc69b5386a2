"""Fixtures of the Sales-tab tests: a signed-in member of organization A, and helpers that
read the order list the way a browser gets it (through the URL, the view and the HTML)."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

ORDER_LINK = re.compile(r'data-testid="order-link">([^<]+)<')
NEXT_LINK = re.compile(r'href="([^"]+)"[^>]*rel="next"')
PREV_LINK = re.compile(r'href="([^"]+)"[^>]*rel="prev"')


@pytest.fixture
def member_client(client, member_of_a):
    client.force_login(member_of_a.user)
    return client


def list_url(org, **params) -> str:
    from urllib.parse import urlencode

    url = reverse("sales:list", kwargs={"org_slug": org.slug})
    return f"{url}?{urlencode(params, doseq=True)}" if params else url


def numbers_in(content: bytes) -> list[str]:
    return [html.unescape(n) for n in ORDER_LINK.findall(content.decode())]


def next_link(content: bytes) -> str | None:
    match = NEXT_LINK.search(content.decode())
    return html.unescape(match.group(1)) if match else None


def prev_link(content: bytes) -> str | None:
    match = PREV_LINK.search(content.decode())
    return html.unescape(match.group(1)) if match else None


def listed(client, org, **params) -> list[str]:
    """Order numbers on the first page of the list for these URL parameters."""
    params.setdefault("per", 200)
    response = client.get(list_url(org, **params))
    assert response.status_code == 200
    return numbers_in(response.content)


def walk(client, url: str, *, limit: int = 10_000) -> list[str]:
    """Every order number, following "Next page" links from ``url``."""
    seen: list[str] = []
    for _ in range(limit):
        response = client.get(url)
        assert response.status_code == 200
        seen.extend(numbers_in(response.content))
        url = next_link(response.content)
        if url is None:
            return seen
    raise AssertionError("pagination did not end")


@pytest.fixture
def ss_app(shipstation, settings):
    settings.SHIPSTATION_API_BASE_URL = shipstation.base_url
    settings.SHIPSTATION_RATE_LIMIT_PER_MINUTE = 100_000
    settings.SALES_SYNC_BACKOFF_SECONDS = 0.01
    settings.SALES_SYNC_BACKOFF_MAX_SECONDS = 0.05
    from connections.sources.shipstation.client import api_key_fingerprint
    from connections.sources.shipstation.limits import shipstation_rate_limiter
    from tests.sales.support import SS_KEY

    shipstation_rate_limiter().reset(f"shipstation:{api_key_fingerprint(SS_KEY)}")
    return shipstation
