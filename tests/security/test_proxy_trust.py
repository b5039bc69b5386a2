"""``X-Forwarded-*`` headers count only from the reverse proxy (``TRUSTED_PROXY_IPS``), and
compose publishes gunicorn on no host port: it is reachable only on the proxy's network.

Read from a real gunicorn server in production mode: a client that reaches the server past
the proxy cannot claim HTTPS (and so skip the redirect or get secure cookies over plain
HTTP) or pick its own address for rate limits and the audit log."""

from __future__ import annotations

import ipaddress
import re

import pytest
import yaml

from tests.security.support import PASSWORD
from tests.server_process import REPO_ROOT
from unify.core.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)

# A documentation address (TEST-NET-1): a proxy that is not the test client.
ELSEWHERE = "192.0.2.10"


def test_forwarded_proto_from_a_peer_that_is_not_the_proxy_is_ignored(production_server):
    with production_server(TRUSTED_PROXY_IPS=ELSEWHERE) as server:
        spoofed = server.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert spoofed.status_code == 301
    assert spoofed.headers["Location"] == "https://unify.example.com/accounts/login/"


def test_forwarded_proto_from_the_proxy_counts(production_server):
    with production_server(TRUSTED_PROXY_IPS=f"{ELSEWHERE},127.0.0.0/8") as server:
        proxied = server.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert proxied.status_code == 200
    assert "Sign in to Unify" in proxied.text


def test_forwarded_for_counts_only_from_the_proxy(client, settings, owner_of_a):
    """The address the audit log and the sign-in rate limits use."""
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    login = {"login": owner_of_a.user.email, "password": PASSWORD}
    past_the_proxy = {"REMOTE_ADDR": "198.51.100.7", "HTTP_X_FORWARDED_FOR": "203.0.113.99"}

    settings.TRUSTED_PROXY_IPS = [ELSEWHERE]
    assert client.post("/accounts/login/", login, **past_the_proxy).status_code == 302
    settings.TRUSTED_PROXY_IPS = [ELSEWHERE, "198.51.100.0/24"]
    client.logout()
    assert client.post("/accounts/login/", login, **past_the_proxy).status_code == 302

    events = AuditEvent.objects.filter(action="user.signed_in").order_by("pk")
    assert [e.ip for e in events] == ["198.51.100.7", "203.0.113.99"]


def test_compose_publishes_no_port_and_trusts_only_the_proxy_network():
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services, networks = compose["services"], compose["networks"]
    assert "ports" not in services["web"]
    assert set(services["web"]["networks"]) == {"proxy", "data"}
    for name in ("db", "redis"):
        assert services[name]["networks"] == ["data"]
        assert "ports" not in services[name]
    assert networks["data"]["internal"] is True
    subnet = networks["proxy"]["ipam"]["config"][0]["subnet"]
    default_subnet = re.fullmatch(r"\$\{UNIFY_PROXY_SUBNET:-([^}]+)\}", subnet).group(1)
    trusted = services["web"]["environment"]["TRUSTED_PROXY_IPS"]
    default_trusted = re.fullmatch(r"\$\{TRUSTED_PROXY_IPS:-([^}]+)\}", trusted).group(1)
    assert default_trusted.split(",") == [default_subnet]
    assert ipaddress.ip_network(default_subnet).is_private
