"""The Content-Security-Policy header is sent, and no page carries an inline script or style
(which that policy would block): the public pages, the account pages and every tenant page
that needs no object id, as an owner."""

from __future__ import annotations

import re

import pytest
from django.urls import get_resolver

from tests.url_walk import walk_urls

pytestmark = pytest.mark.django_db

TENANT_PAGES = [
    r
    for r in walk_urls(get_resolver())
    if r.route.startswith("o/<slug:org_slug>/") and r.kwargs == ["org_slug"]
]


def assert_no_inline_code(html: str, url: str) -> None:
    for tag in re.findall(r"<script\b[^>]*>", html, re.I):
        assert re.search(r"\bsrc=", tag) or 'type="application/json"' in tag, (
            f"{url}: inline <script> (CSP script-src 'self' blocks it): {tag}"
        )
    assert not re.search(r"\sstyle=", html), f"{url}: inline style attribute"
    assert not re.search(r"<style\b", html, re.I), f"{url}: <style> element"
    assert not re.search(r"\son[a-z]+=\"", html), f"{url}: inline event handler"


def test_csp_header_allows_only_own_scripts_and_data_images(client):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("url", ["/", "/accounts/login/", "/accounts/signup/", "/healthz"])
def test_public_pages_have_no_inline_code(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert "Content-Security-Policy" in response
    assert_no_inline_code(response.content.decode(), url)


@pytest.mark.parametrize("route", TENANT_PAGES, ids=[r.label for r in TENANT_PAGES])
def test_tenant_page_has_no_inline_code(route, owner_client, owner_of_a):
    url = route.build({"org_slug": owner_of_a.organization.slug})
    response = owner_client.get(url)
    # A page that breaks is a failure, not "not a page": only redirects, 404s for ids this
    # walk cannot know and POST-only routes (405) are passed over.
    assert response.status_code < 500, f"GET {url} answered {response.status_code}"
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        pytest.skip(f"GET {url} answered {response.status_code} (not a page)")
    assert_no_inline_code(response.content.decode(), url)
