"""The ShipStation source adapter's shipments, fulfillments and webhooks against the
ShipStation stand-in, over real HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from connections.sources.base import UntrustedResourceUrl
from connections.sources.shipstation.adapter import is_trusted_resource_url
from tests.connections.conftest import SS_KEY, SS_SECRET
from tests.connections.test_shipstation_client import LONG_AGO, adapter
from unify.core.http import parse_json

# --- shipments and fulfillments -------------------------------------------------------------


@pytest.mark.shipstation_rate_limit(None)
def test_shipment_pages_carry_label_costs(ss):
    ss.add_account(SS_KEY, SS_SECRET, seed=5, orders=80, days=20, stores=2)
    meta = ss.account_meta(SS_KEY)
    pages = list(adapter().iter_shipment_pages(created_since=LONG_AGO, page_size=40))
    shipments = [s for p in pages for s in p.items]
    assert len(shipments) == meta["shipment_count"] > 0
    first = shipments[0]
    raw = ss.get_shipment(SS_KEY, int(first.external_id))
    assert first.cost == raw["shipmentCost"] and type(first.cost) is Decimal
    assert first.insurance_cost == raw["insuranceCost"]
    assert first.order_id == str(raw["orderId"]) and first.tracking_number == raw["trackingNumber"]
    assert first.ship_date == date.fromisoformat(raw["shipDate"])
    assert first.voided is raw["voided"]
    assert [s.create_date for s in shipments] == sorted(s.create_date for s in shipments)


def test_voided_labels_are_found_by_void_date(ss):
    store_id = ss.account_meta(SS_KEY)["stores"][0]["storeId"]
    t0 = datetime(2024, 6, 1, 15, tzinfo=UTC)
    order = ss.add_order(SS_KEY, store_id=store_id, at=t0)
    label = ss.add_label(
        SS_KEY,
        order["orderId"],
        shipment_cost="8.45",
        insurance_cost="1.05",
        at=t0 + timedelta(hours=1),
    )
    ss.void_label(SS_KEY, label["shipmentId"], at=t0 + timedelta(days=2))
    pages = list(
        adapter().iter_shipment_pages(
            voided_since=t0 + timedelta(days=1), voided_until=t0 + timedelta(days=3)
        )
    )
    [shipment] = [s for p in pages for s in p.items]
    assert shipment.external_id == str(label["shipmentId"])
    assert shipment.voided is True and shipment.void_date == t0 + timedelta(days=2)
    assert shipment.total_cost == Decimal("9.50")


@pytest.mark.shipstation_rate_limit(None)
def test_fulfillment_pages_map_every_fulfillment(ss):
    ss.add_account(SS_KEY, SS_SECRET, seed=5, orders=200, days=20, stores=2)
    meta = ss.account_meta(SS_KEY)
    pages = list(adapter().iter_fulfillment_pages(created_since=LONG_AGO, page_size=100))
    fulfillments = [f for p in pages for f in p.items]
    assert len(fulfillments) == meta["fulfillment_count"]
    assert all(type(f.fulfillment_fee) is Decimal for f in fulfillments)
    assert not any(p.errors for p in pages)


# --- webhooks -------------------------------------------------------------------------------


def test_webhook_subscribe_list_and_unsubscribe(ss):
    client = adapter()
    hook_id = client.subscribe_webhook(
        target_url="http://127.0.0.1:9/hooks/abc", event="ORDER_NOTIFY", friendly_name="Unify"
    )
    [hook] = client.list_webhooks()
    assert (hook.external_id, hook.event, hook.target_url, hook.name) == (
        hook_id,
        "ORDER_NOTIFY",
        "http://127.0.0.1:9/hooks/abc",
        "Unify",
    )
    client.unsubscribe_webhook(hook_id)
    assert client.list_webhooks() == []
    client.unsubscribe_webhook(hook_id)  # already gone: not an error
    with pytest.raises(ValueError):
        client.unsubscribe_webhook("../orders")


def test_fetch_resource_reads_the_batch_a_webhook_names(ss):
    store_id = ss.account_meta(SS_KEY)["stores"][0]["storeId"]
    client = adapter()
    client.subscribe_webhook(
        target_url="http://127.0.0.1:9/hooks/abc", event="ORDER_NOTIFY", friendly_name="Unify"
    )
    order = ss.add_order(SS_KEY, store_id=store_id, order_number="HOOK-1")
    assert ss.flush_webhooks(timeout=10)
    [delivery] = ss.webhook_deliveries()
    body = parse_json(delivery["body"])
    assert body["resource_url"].startswith(ss.base_url)
    page = client.fetch_resource(body["resource_url"], resource_type=body["resource_type"])
    assert [o.external_id for o in page.items] == [str(order["orderId"])]


def test_fetch_resource_refuses_other_hosts_without_sending_anything(ss):
    ss.clear_requests_log()
    client = adapter()
    for url in (
        "https://evil.example/orders?importBatch=1",
        "http://127.0.0.1:1/orders",
        ss.base_url.replace("http://", "http://user:pw@") + "/orders",
    ):
        with pytest.raises(UntrustedResourceUrl):
            client.fetch_resource(url, resource_type="ORDER_NOTIFY")
    assert ss.requests_log() == []


@pytest.mark.parametrize(
    ("url", "trusted"),
    [
        ("https://ssapi.shipstation.com/orders?importBatch=1", True),
        ("https://ssapi11.shipstation.com/shipments?storeID=1&importBatch=2", True),
        ("https://shipstation.com/x", True),
        ("http://ssapi11.shipstation.com/orders", False),  # credentials over plain http
        ("https://ssapi.shipstation.com:8443/orders", False),
        ("https://shipstation.com.evil.test/orders", False),
        ("https://evilshipstation.com/orders", False),
        ("https://user@ssapi.shipstation.com/orders", False),
        ("ftp://ssapi.shipstation.com/orders", False),
    ],
)
def test_resource_url_rule_against_the_real_api(url, trusted):
    assert is_trusted_resource_url(url, api_base_url="https://ssapi.shipstation.com") is trusted


def test_resource_url_rule_against_a_local_base_is_exact_origin():
    base = "http://127.0.0.1:8765"
    assert is_trusted_resource_url("http://127.0.0.1:8765/orders?x=1", api_base_url=base)
    assert not is_trusted_resource_url("http://127.0.0.1:8766/orders", api_base_url=base)
    assert not is_trusted_resource_url("https://ssapi.shipstation.com/orders", api_base_url=base)
