"""Webhook subscriptions and deliveries, received by a tiny local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.sandbox.support import KEY, SECRET, get, get_json, parse, seed_account


class Receiver:
    def __init__(self) -> None:
        self.deliveries: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.deliveries.append((self.path, dict(self.headers), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def account(shipstation):
    shipstation.disable_rate_limit()
    return seed_account(shipstation, orders=30)


def _subscribe(shipstation, body: dict) -> requests.Response:
    return requests.post(
        shipstation.base_url + "/webhooks/subscribe", json=body, auth=(KEY, SECRET), timeout=5
    )


def test_subscribe_list_and_delete_use_shipstation_shapes(shipstation, account, receiver):
    store_id = next(iter(account.stores))
    response = _subscribe(
        shipstation,
        {
            "target_url": receiver.url + "/hook",
            "event": "ORDER_NOTIFY",
            "store_id": store_id,
            "friendly_name": "Unify",
        },
    )
    assert response.status_code == 200
    hook_id = response.json()["id"]
    assert isinstance(hook_id, int)
    listed = get_json(shipstation, "/webhooks")
    assert listed == {
        "webhooks": [
            {
                "IsLabelAPIHook": False,
                "WebHookID": hook_id,
                "SellerID": account.seller_id,
                "StoreID": store_id,
                "HookType": "ORDER_NOTIFY",
                "MessageFormat": "Json",
                "Url": receiver.url + "/hook",
                "Name": "Unify",
                "BulkCopyBatchID": None,
                "BulkCopyRecordID": None,
                "Active": True,
                "WebhookLogs": [],
                "Seller": None,
                "Store": None,
            }
        ]
    }
    deleted = requests.delete(
        f"{shipstation.base_url}/webhooks/{hook_id}", auth=(KEY, SECRET), timeout=5
    )
    assert deleted.status_code == 200
    assert get_json(shipstation, "/webhooks") == {"webhooks": []}
    again = requests.delete(
        f"{shipstation.base_url}/webhooks/{hook_id}", auth=(KEY, SECRET), timeout=5
    )
    assert again.status_code == 404


def test_subscribe_rejects_unknown_events_and_missing_target(shipstation, account):
    assert _subscribe(shipstation, {"target_url": "http://x", "event": "NOPE"}).status_code == 400
    assert _subscribe(shipstation, {"event": "ORDER_NOTIFY"}).status_code == 400


def test_new_order_posts_resource_url_that_lists_exactly_that_order(shipstation, account, receiver):
    _subscribe(shipstation, {"target_url": receiver.url + "/o", "event": "ORDER_NOTIFY"})
    order = shipstation.add_order(KEY)
    assert shipstation.flush_webhooks()
    assert len(receiver.deliveries) == 1
    path, headers, raw = receiver.deliveries[0]
    body = json.loads(raw)
    assert list(body) == ["resource_url", "resource_type"]
    assert body["resource_type"] == "ORDER_NOTIFY"
    url = urlsplit(body["resource_url"])
    assert f"{url.scheme}://{url.netloc}" == shipstation.base_url
    assert url.path == "/orders"
    query = parse_qs(url.query)
    assert query["storeID"] == [str(order["advancedOptions"]["storeId"])]
    assert len(body["resource_url"]) <= 200
    fetched = parse(requests.get(body["resource_url"], auth=(KEY, SECRET), timeout=5))
    assert [o["orderId"] for o in fetched["orders"]] == [order["orderId"]]
    assert fetched["total"] == 1
    assert headers["Content-Type"].startswith("application/json")


def test_a_label_posts_ship_notify_with_a_batch_id_and_edits_and_voids_post_nothing(
    shipstation, account, receiver
):
    """Changed (issue 16, item 9): ShipStation sends ORDER_NOTIFY for new orders and
    SHIP_NOTIFY for labels bought, never for edits or voids (there is no "order modified"
    event); a SHIP_NOTIFY's resource_url is ``/shipments?batchId=<int>&
    includeShipmentItems=False`` (shared/reference/shipstation-v1.md, real-world cases)."""
    _subscribe(shipstation, {"target_url": receiver.url + "/s", "event": "SHIP_NOTIFY"})
    _subscribe(shipstation, {"target_url": receiver.url + "/o", "event": "ORDER_NOTIFY"})
    order = shipstation.add_order(KEY)
    shipstation.edit_order(KEY, order["orderId"], internalNotes="call first")
    label = shipstation.add_label(KEY, order["orderId"])
    shipstation.void_label(KEY, label["shipmentId"])
    assert shipstation.flush_webhooks()
    assert [p for p, _, _ in receiver.deliveries].count("/o") == 1  # the new order only
    ship = [json.loads(b) for p, _, b in receiver.deliveries if p == "/s"]
    assert [b["resource_type"] for b in ship] == ["SHIP_NOTIFY"]
    url = urlsplit(ship[0]["resource_url"])
    assert url.path == "/shipments"
    query = parse_qs(url.query)
    assert set(query) == {"batchId", "includeShipmentItems"}
    assert query["batchId"][0].isdigit()
    assert query["includeShipmentItems"] == ["False"]
    listed = parse(requests.get(ship[0]["resource_url"], auth=(KEY, SECRET), timeout=5))
    assert [s["shipmentId"] for s in listed["shipments"]] == [label["shipmentId"]]
    assert listed["shipments"][0]["shipmentItems"] is None
    assert listed["shipments"][0]["voided"] is True  # read now, after the void


def test_import_batch_is_no_filter_of_list_shipments(shipstation, account):
    """``importBatch`` belongs to ORDER_NOTIFY's order URLs; List Shipments does not know it
    and ignores it, like any parameter it does not know."""
    everything = get_json(shipstation, "/shipments", pageSize=500)
    ignored = get_json(shipstation, "/shipments", importBatch="abc", pageSize=500)
    assert ignored["total"] == everything["total"] > 0


def test_store_scoped_subscription_ignores_other_stores(shipstation, account, receiver):
    first, second = list(account.stores)[:2]
    _subscribe(
        shipstation, {"target_url": receiver.url, "event": "ORDER_NOTIFY", "store_id": first}
    )
    shipstation.add_order(KEY, store_id=second)
    shipstation.add_order(KEY, store_id=first)
    assert shipstation.flush_webhooks()
    assert len(receiver.deliveries) == 1
    assert f"storeID={first}" in json.loads(receiver.deliveries[0][2])["resource_url"]


def test_public_base_url_is_used_in_resource_urls(shipstation, account, receiver):
    shipstation.set_public_base_url("https://ssapi11.example.test")
    try:
        shipstation.subscribe_webhook(KEY, receiver.url, "ORDER_NOTIFY")
        shipstation.add_order(KEY)
        assert shipstation.flush_webhooks()
        body = json.loads(receiver.deliveries[0][2])
        assert body["resource_url"].startswith("https://ssapi11.example.test/orders?storeID=")
    finally:
        shipstation.set_public_base_url(None)


def test_unreachable_target_is_logged_not_raised(shipstation, account, receiver):
    dead = receiver.url
    receiver.close()
    shipstation.subscribe_webhook(KEY, dead, "ORDER_NOTIFY")
    shipstation.add_order(KEY)
    assert shipstation.flush_webhooks()
    (event,) = shipstation.webhook_deliveries()
    assert event["status"] is None and event["error"]
    assert get(shipstation, "/orders").status_code == 200
