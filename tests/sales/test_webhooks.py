"""ShipStation webhooks: subscription on connect, and the receiver as a sync trigger only."""

from __future__ import annotations

import http.server
import json
import threading
from datetime import datetime

import pytest
import redis
from django.urls import reverse
from django.utils import timezone

from connections.models import ConnectionStatus, StoreConnection
from sales.models import SyncKind, SyncRun, SyncStatus
from sales.services import webhooks_subscribe
from sales.services.webhooks import webhook_followup
from tests.sales.support import SS_KEY, SS_SECRET, make_connection
from tests.worker_process import unique_queue
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


@pytest.fixture
def task_queue(settings):
    """A broker queue of this test's own, to read what the receiver queued."""
    queue = unique_queue("hooks")
    settings.SALES_TASK_QUEUE = queue
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.queued = lambda: [json.loads(m) for m in broker.lrange(queue, 0, -1)]
    yield broker
    broker.delete(queue)


def test_a_webhook_during_a_running_sync_queues_one_follow_up(
    client, ss_app, org_a, task_queue, django_capture_on_commit_callbacks
):
    """Changed: a webhook during a run used to make the connection due at once (and a flood
    made a sync per notification); now it queues the one follow-up of the window."""
    connection = make_connection(org_a)
    body = {"resource_url": f"{ss_app.base_url}/shipments?x=1", "resource_type": "SHIP_NOTIFY"}
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, connection, body)
        more = [post(client, connection, body) for _ in range(9)]

    assert first.status_code == 202 and first.json() == {"detail": "ok"}
    assert [r.json()["detail"] for r in more] == ["a sync is queued"] + [
        "a sync is already queued"
    ] * 8
    assert {r.status_code for r in more} == {202}
    assert SyncRun.all_orgs.count() == 1
    messages = task_queue.queued()
    assert sorted(m["headers"]["task"] for m in messages) == [
        "sales.tasks.sync_run_task",
        "sales.tasks.webhook_followup_task",
    ]
    followup = next(m for m in messages if m["headers"]["task"].endswith("followup_task"))
    eta = datetime.fromisoformat(followup["headers"]["eta"])
    assert 55 <= (eta - timezone.now()).total_seconds() <= 60
    connection.refresh_from_db()
    assert connection.next_sync_at is None


def test_the_follow_up_waits_for_an_open_sync_then_starts_one(
    client, ss_app, org_a, task_queue, django_capture_on_commit_callbacks
):
    connection = make_connection(org_a)
    body = {"resource_url": f"{ss_app.base_url}/orders?x=1", "resource_type": "ORDER_NOTIFY"}
    with django_capture_on_commit_callbacks(execute=True):
        post(client, connection, body)
    with org_scope(org_a.pk), django_capture_on_commit_callbacks(execute=True):
        assert (
            webhook_followup(organization_id=org_a.pk, connection_id=connection.pk, waits=0) is None
        )
    waiting = [m for m in task_queue.queued() if m["headers"]["task"].endswith("followup_task")]
    assert len(waiting) == 1
    assert "'waits': 1" in waiting[0]["headers"]["kwargsrepr"]

    # The first import ends: the next sync is an incremental one.
    SyncRun.all_orgs.update(status=SyncStatus.SUCCEEDED, finished_at=timezone.now())
    StoreConnection.all_orgs.filter(pk=connection.pk).update(orders_watermark=timezone.now())
    with org_scope(org_a.pk), django_capture_on_commit_callbacks(execute=True):
        run_id = webhook_followup(organization_id=org_a.pk, connection_id=connection.pk, waits=1)
    run = SyncRun.all_orgs.get(pk=run_id)
    assert (run.kind, run.status) == (SyncKind.WEBHOOK, SyncStatus.QUEUED)
    assert SyncRun.all_orgs.count() == 2


def test_each_token_may_post_only_so_often(client, ss_app, org_a, settings):
    settings.SALES_WEBHOOK_RATE_LIMIT_PER_MINUTE = 5
    noisy = make_connection(org_a)
    quiet = make_connection(org_a, key="h22-other-key-77", name="Other")
    body = {"resource_url": f"{ss_app.base_url}/orders?x=1", "resource_type": "ORDER_NOTIFY"}

    responses = [post(client, noisy, body) for _ in range(8)]

    assert [r.status_code for r in responses] == [202] * 5 + [429] * 3
    assert 1 <= int(responses[-1]["Retry-After"]) <= 61
    assert responses[-1].json() == {"detail": "too many notifications"}
    assert post(client, quiet, body).status_code == 202
    # Guessing tokens is limited the same way, before any database look-up.
    guess = unique_queue("guess")
    guesses = [
        client.post(
            reverse("sales_webhooks:shipstation", kwargs={"token": guess}),
            data=b"{}",
            content_type="application/json",
        ).status_code
        for _ in range(6)
    ]
    assert guesses[-1] == 429


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


def test_the_generic_route_and_the_shipstation_address_reach_the_same_receiver(
    client, org_a, ss_app, settings, django_capture_on_commit_callbacks
):
    """Webhooks registered at ShipStation point at /webhooks/shipstation/<token>/: that
    address stays, as the generic /webhooks/<provider>/<token>/ route of the same view."""
    from django.urls import resolve

    from sales import views
    from sales.services.webhooks import webhook_target_url

    settings.UNIFY_PUBLIC_BASE_URL = "https://unify.example"
    connection = make_connection(org_a)
    token = connection.webhook_token
    generic = reverse("sales_webhooks:receive", kwargs={"provider": "shipstation", "token": token})
    legacy = f"/webhooks/shipstation/{token}/"
    assert generic == legacy == reverse("sales_webhooks:shipstation", kwargs={"token": token})
    assert resolve(legacy).func is resolve(generic).func is views.source_webhook
    assert resolve(legacy).kwargs == {"provider": "shipstation", "token": token}
    assert webhook_target_url(connection) == f"https://unify.example{legacy}"
    body = json.dumps(
        {"resource_url": f"{ss_app.base_url}/orders", "resource_type": "ORDER_NOTIFY"}
    )

    with django_capture_on_commit_callbacks(execute=False):
        first = client.post(legacy, data=body, content_type="application/json")
        second = client.post(generic, data=body, content_type="application/json")

    assert (first.status_code, first.json()) == (202, {"detail": "ok"})
    assert (second.status_code, second.json()) == (202, {"detail": "a sync is queued"})
    assert SyncRun.all_orgs.filter(connection=connection).count() == 1


def test_a_token_under_another_provider_or_an_unknown_one_is_not_found(client, org_a, ss_app):
    connection = make_connection(org_a)
    body = json.dumps(
        {"resource_url": f"{ss_app.base_url}/orders", "resource_type": "ORDER_NOTIFY"}
    )

    for provider in ("order_file", "nosuchsource"):
        response = client.post(
            reverse(
                "sales_webhooks:receive",
                kwargs={"provider": provider, "token": connection.webhook_token},
            ),
            data=body,
            content_type="application/json",
        )
        assert (response.status_code, response.json()) == (404, {"detail": "unknown token"})
    assert not SyncRun.all_orgs.exists()
    assert ss_app.requests_log() == []


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


def test_shipstations_own_notifications_only_make_the_connection_sync(
    client, ss_app, org_a, settings
):
    """Issue 16, item 9: the bodies the stand-in sends as ShipStation does (ORDER_NOTIFY for
    a new order with an ``importBatch`` URL; SHIP_NOTIFY for a label with ``batchId=<int>&
    includeShipmentItems=False``) each only make the connection due for a sync; an edit and
    a void send nothing (the next poll finds them)."""
    ss_app.add_account(SS_KEY, SS_SECRET, seed=33, orders=0)
    connection = make_connection(org_a)
    settings.UNIFY_PUBLIC_BASE_URL = "http://127.0.0.1:9/"  # nothing listens: delivery fails
    with org_scope(org_a.pk):
        webhooks_subscribe(connection=connection)
    order = ss_app.add_order(SS_KEY)
    ss_app.edit_order(SS_KEY, order["orderId"], internalNotes="gift")
    label = ss_app.add_label(SS_KEY, order["orderId"])
    ss_app.void_label(SS_KEY, label["shipmentId"])
    assert ss_app.flush_webhooks()
    sent = [json.loads(d["body"]) for d in ss_app.webhook_deliveries()]
    assert [b["resource_type"] for b in sent] == ["ORDER_NOTIFY", "SHIP_NOTIFY"]
    assert "&importBatch=" in sent[0]["resource_url"]
    assert sent[1]["resource_url"].startswith(f"{ss_app.base_url}/shipments?batchId=")
    assert sent[1]["resource_url"].endswith("&includeShipmentItems=False")

    for body in sent:
        response = post(client, connection, body)
        assert response.status_code == 202
    with org_scope(org_a.pk):
        runs = list(SyncRun.objects.filter(connection=connection))
    assert len(runs) == 1 and runs[0].status == SyncStatus.QUEUED
    # Unify fetched neither resource itself (only its subscription calls reached ShipStation):
    # the sync reads ShipStation on its own.
    assert {r.path for r in ss_app.requests_log()} <= {"/webhooks", "/webhooks/subscribe"}
