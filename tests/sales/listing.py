"""Helpers of the Sales-tab tests that read the order list the way a browser gets it (through
the URL, the view and the HTML)."""

from __future__ import annotations

import html
import re

from django.urls import reverse

ORDER_LINK = re.compile(r'data-testid="order-link">([^<]+)<')
NEXT_LINK = re.compile(r'href="([^"]+)"[^>]*rel="next"')
PREV_LINK = re.compile(r'href="([^"]+)"[^>]*rel="prev"')


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
