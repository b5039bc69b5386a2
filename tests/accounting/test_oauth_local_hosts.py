"""Connecting QuickBooks Online on a developer machine (``make run``), whichever loopback name
the merchant browses: the OAuth ``state`` lives in the session, whose cookie belongs to one
host, so the flow must start and end on the same host. Over HTTP against a live server and
the QBO stand-in, with a browser that keeps cookies per host as real ones do."""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings as django_settings
from django.test import Client

from accounting.models import LedgerConnection, LedgerStatus
from unify.devtools.management.commands.run_embedded import sandbox_environment

pytestmark = pytest.mark.django_db(transaction=True)


class Browser:
    """What matters here of a browser: cookies are sent only to the host that set them."""

    def __init__(self) -> None:
        self.cookies: dict[str, dict[str, str]] = defaultdict(dict)

    def sign_in(self, host: str, user) -> None:
        client = Client()
        client.force_login(user)
        name = django_settings.SESSION_COOKIE_NAME
        self.cookies[host][name] = client.cookies[name].value

    def get(self, url: str) -> requests.Response:
        host = urlsplit(url).hostname
        response = requests.get(url, cookies=self.cookies[host], allow_redirects=False, timeout=10)
        for cookie in response.cookies:
            self.cookies[host][cookie.name] = cookie.value
        return response


def _authorize(qbo, authorize_url: str) -> str:
    """What the user's browser does at Intuit: approve, get sent back to our callback."""
    qbo.set_auto_approve(True)
    answer = requests.get(authorize_url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    return answer.headers["Location"]


def _connected(org) -> bool:
    return LedgerConnection.all_orgs.filter(
        organization=org, provider="qbo", status=LedgerStatus.ACTIVE
    ).exists()


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_make_run_connect_started_on_either_local_host_is_accepted_at_the_callback(
    host, live_server, owner_of_a, org_a, qbo, qbo_settings, settings
):
    settings.DEBUG = True
    environment = sandbox_environment()
    assert environment["QBO_CLIENT_ID"] == settings.QBO_CLIENT_ID
    # make run leaves the redirect URI to the request's host.
    settings.QBO_REDIRECT_URI = environment.get("QBO_REDIRECT_URI", "")
    base = f"http://{host}:{urlsplit(live_server.url).port}"
    browser = Browser()
    browser.sign_in(host, owner_of_a.user)

    start = browser.get(f"{base}/o/{org_a.slug}/accounting/qbo/connect/")

    assert start.status_code == 302
    authorize_url = start.headers["Location"]
    assert authorize_url.startswith(f"{qbo.base_url}/connect/oauth2?")
    redirect_uri = parse_qs(urlsplit(authorize_url).query)["redirect_uri"]
    assert redirect_uri == [f"{base}/ledgers/qbo/callback/"]
    callback = _authorize(qbo, authorize_url)
    assert callback.startswith(f"{base}/ledgers/qbo/callback/?")
    done = browser.get(callback)
    assert (done.status_code, done.headers["Location"]) == (
        302,
        f"/o/{org_a.slug}/accounting/settings/",
    )
    assert _connected(org_a)


def test_a_configured_local_redirect_uri_moves_the_start_to_its_host(
    live_server, owner_of_a, org_a, qbo, qbo_settings, settings
):
    """Someone who set QBO_REDIRECT_URI to 127.0.0.1 and browses localhost: the connect
    start moves to 127.0.0.1 first (signing in there), so the callback finds its state."""
    settings.DEBUG = True
    port = urlsplit(live_server.url).port
    configured = f"http://127.0.0.1:{port}/ledgers/qbo/callback/"
    settings.QBO_REDIRECT_URI = configured
    connect_path = f"/o/{org_a.slug}/accounting/qbo/connect/"
    browser = Browser()
    browser.sign_in("localhost", owner_of_a.user)

    moved = browser.get(f"http://localhost:{port}{connect_path}")

    assert (moved.status_code, moved.headers["Location"]) == (
        302,
        f"http://127.0.0.1:{port}{connect_path}",
    )
    # Not signed in on that host yet: the sign-in page, which returns to the start.
    login = browser.get(moved.headers["Location"])
    assert login.status_code == 302
    assert urlsplit(login.headers["Location"]).path == "/accounts/login/"
    assert not _connected(org_a)
    browser.sign_in("127.0.0.1", owner_of_a.user)
    start = browser.get(moved.headers["Location"])
    assert start.status_code == 302
    assert parse_qs(urlsplit(start.headers["Location"]).query)["redirect_uri"] == [configured]
    done = browser.get(_authorize(qbo, start.headers["Location"]))
    assert (done.status_code, done.headers["Location"]) == (
        302,
        f"/o/{org_a.slug}/accounting/settings/",
    )
    assert _connected(org_a)


@pytest.mark.parametrize("debug", [False, True])
def test_a_configured_public_redirect_uri_is_always_the_one_used(
    debug, owner_client, org_a, qbo, qbo_settings, settings
):
    settings.DEBUG = debug
    settings.ALLOWED_HOSTS = ["localhost", "app.example.com"]
    settings.QBO_REDIRECT_URI = "https://app.example.com/ledgers/qbo/callback/"

    response = owner_client.post(f"/o/{org_a.slug}/accounting/qbo/connect/", HTTP_HOST="localhost")

    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["redirect_uri"] == ["https://app.example.com/ledgers/qbo/callback/"]


def test_in_production_a_local_redirect_uri_is_used_as_configured(
    owner_client, org_a, qbo, qbo_settings, settings
):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    settings.QBO_REDIRECT_URI = "http://127.0.0.1:8000/ledgers/qbo/callback/"

    response = owner_client.post(f"/o/{org_a.slug}/accounting/qbo/connect/", HTTP_HOST="localhost")

    assert response["Location"].startswith(f"{qbo.base_url}/connect/oauth2?")
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["redirect_uri"] == ["http://127.0.0.1:8000/ledgers/qbo/callback/"]
