"""ShipStation webhooks: subscription on connect, and the receiver as a sync trigger only."""

from __future__ import annotations

import http.server
import json
import threading

import pytest
from django.urls import reverse

from connections.models import ConnectionStatus, StoreConnection
from sales.models import SyncKind, SyncRun, SyncStatus
from sales.services import webhooks_subscribe
from tests.sales.support import SS_KEY, SS_SECRET, make_connection
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def attacker():
    """A server that records every request: a forged resource_url points here."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"orders": [], "total": 0, "page": 1, "pages": 0}')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.hits = hits
    server.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def hook_url(connection) -> str:
    return reverse("sales_webhooks:shipstation", kwargs={"token": connection.webhook_token})


def post(client, connection, body, **extra):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(hook_url(connection), data=data, content_type="application/json", **extra)


def test_a_webhook_only_makes_its_connection_sync(client, ss_app, org_a):
    ss_app.add_account(SS_KEY, SS_SECRET, seed=31, orders=3)
    connection = make_connection(org_a)
    body = {
        "resource_url": f"{ss_app.base_url}/orders?storeID=1&importBatch=abc",
        "resource_type": "ORDER_NOTIFY",
    }

    response = post(client, connection, body)

    assert response.status_code == 202
    with org_scope(org_a.pk):
        run = SyncRun.objects.get(connection=connection)
    assert run.kind == SyncKind.INITIAL  # first sync ever; later ones are "webhook"
    assert run.status == SyncStatus.QUEUED
    # Unify never fetched the resource itself: the sync reads ShipStation on its own.
    assert ss_app.requests_log() == []


def test_a_webhook_during_a_running_sync_makes_the_connection_due_again(client, ss_app, org_a):
    connection = make_connection(org_a)
    body = {"resource_url": f"{ss_app.base_url}/shipments?x=1", "resource_type": "SHIP_NOTIFY"}
    post(client, connection, body)

    response = post(client, connection, body)

    assert response.status_code == 202
    assert SyncRun.all_orgs.count() == 1
    connection.refresh_from_db()
    assert connection.next_sync_at is not None


@pytest.mark.parametrize(
    "resource_url",
    [
        "{attacker}/orders?storeID=1&importBatch=abc",
        "https://ssapi.shipstation.com.evil.test/orders",
        "https://user:pass@{sandbox_host}/orders",
        "ftp://{sandbox_host}/orders",
    ],
)
def test_a_webhook_pointing_outside_shipstation_triggers_nothing(
    client, ss_app, org_a, attacker, resource_url
):
    connection = make_connection(org_a)
    forged = resource_url.format(
        attacker=attacker.base_url, sandbox_host=ss_app.base_url.split("//", 1)[1]
    )

    response = post(client, connection, {"resource_url": forged, "resource_type": "ORDER_NOTIFY"})

    assert response.status_code == 400
    assert not SyncRun.all_orgs.exists()
    assert attacker.hits == []
    assert ss_app.requests_log() == []
    connection.refresh_from_db()
    assert connection.next_sync_at is None


def test_with_the_real_api_configured_only_https_shipstation_hosts_count(client, org_a, settings):
    settings.SHIPSTATION_API_BASE_URL = "https://ssapi.shipstation.com"
    connection = make_connection(org_a)

    plain = post(client, connection, {"resource_url": "http://ssapi.shipstation.com/orders?a=1",
                                      "resource_type": "ORDER_NOTIFY"})  # fmt: skip
    assert plain.status_code == 400
    assert not SyncRun.all_orgs.exists()

    other_node = post(client, connection, {"resource_url": "https://ssapi11.shipstation.com/orders",
                                           "resource_type": "ORDER_NOTIFY"})  # fmt: skip
    assert other_node.status_code == 202
    assert SyncRun.all_orgs.count() == 1


def test_the_receiver_refuses_what_is_not_a_notification(client, org_a, ss_app):
    connection = make_connection(org_a)
    ok = {"resource_url": f"{ss_app.base_url}/orders", "resource_type": "ORDER_NOTIFY"}

    assert client.get(hook_url(connection)).status_code == 405
    assert (
        client.post(
            reverse("sales_webhooks:shipstation", kwargs={"token": "not-a-token"}),
            data=json.dumps(ok),
            content_type="application/json",
        ).status_code
        == 404
    )
    assert post(client, connection, b"not json").status_code == 400
    assert post(client, connection, {"resource_url": 5}).status_code == 400
    big = dict(ok, padding="x" * 5000)
    assert post(client, connection, big).status_code == 413
    assert not SyncRun.all_orgs.exists()


def test_a_disconnected_connection_ignores_webhooks(client, org_a, ss_app):
    connection = make_connection(org_a, status=ConnectionStatus.DISABLED)
    body = {"resource_url": f"{ss_app.base_url}/orders", "resource_type": "ORDER_NOTIFY"}

    assert post(client, connection, body).status_code == 200
    assert not SyncRun.all_orgs.exists()


def test_subscribing_registers_both_events_once_and_only_with_a_public_url(ss_app, org_a, settings):
    ss_app.add_account(SS_KEY, SS_SECRET, seed=32, orders=0)
    connection = make_connection(org_a)
    with org_scope(org_a.pk):
        assert webhooks_subscribe(connection=connection) == []
        assert ss_app.account(SS_KEY).webhooks == {}

        settings.UNIFY_PUBLIC_BASE_URL = "https://unify.example.com/"
        ids = webhooks_subscribe(connection=connection)
        again = webhooks_subscribe(connection=connection)

    hooks = ss_app.account(SS_KEY).webhooks.values()
    target = f"https://unify.example.com/webhooks/shipstation/{connection.webhook_token}/"
    assert sorted((h.event, h.target_url) for h in hooks) == [
        ("ORDER_NOTIFY", target),
        ("SHIP_NOTIFY", target),
    ]
    assert again == ids and len(ids) == 2
    assert StoreConnection.all_orgs.get(pk=connection.pk).webhook_ids == ids
