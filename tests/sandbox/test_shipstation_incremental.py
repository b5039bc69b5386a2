"""Changes made "now" through the handle or the control API, as an incremental sync sees them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from sandbox.shipstation.dates import format_timestamp
from tests.sandbox.support import KEY, NOW, all_pages, get_json, seed_account

CONTROL = "/__sandbox__/shipstation/accounts/" + KEY


def _filter_time(moment: datetime) -> str:
    return format_timestamp(moment)[:19].replace("T", " ")


@pytest.fixture
def account(shipstation):
    shipstation.disable_rate_limit()
    return seed_account(shipstation, orders=200)


def test_edit_bumps_modify_date_and_appears_in_modify_date_window(shipstation, account):
    since = NOW + timedelta(minutes=1)
    assert get_json(shipstation, "/orders", modifyDateStart=_filter_time(since))["total"] == 0
    target = all_pages(shipstation, "/orders", "orders", pageSize=500)[10]
    at = NOW + timedelta(minutes=5)
    edited = shipstation.edit_order(KEY, target["orderId"], at=at, internalNotes="re-check")
    assert edited["modifyDate"] == format_timestamp(at)
    assert edited["createDate"] == target["createDate"]
    window = get_json(shipstation, "/orders", modifyDateStart=_filter_time(since))
    assert [o["orderId"] for o in window["orders"]] == [target["orderId"]]
    assert window["orders"][0]["internalNotes"] == "re-check"


def test_new_order_is_created_now_and_listed_last_by_create_date(shipstation, account):
    order = shipstation.add_order(KEY)
    now = datetime.now(UTC)
    created = datetime.fromisoformat(order["createDate"][:26])
    assert order["createDate"] == order["modifyDate"]
    assert order["orderStatus"] == "awaiting_shipment"
    assert order["amountPaid"] == order["orderTotal"]
    newest = get_json(shipstation, "/orders", sortBy="CreateDate", sortDir="DESC", pageSize=1)
    assert newest["orders"][0]["orderId"] == order["orderId"]
    assert newest["total"] == 201
    assert abs((now - created.replace(tzinfo=now.tzinfo)).total_seconds()) < 86_400


def test_amount_paid_edits_are_tracked_in_metadata(shipstation, account):
    order = shipstation.add_order(KEY, at=NOW + timedelta(hours=1))
    meta = shipstation.account_meta(KEY)
    assert order["orderId"] not in meta["mismatched_order_ids"]
    shipstation.edit_order(KEY, order["orderId"], amountPaid=order["orderTotal"] - Decimal("1"))
    meta = shipstation.account_meta(KEY)
    assert meta["mismatch_reasons"][str(order["orderId"])] == "edited"
    shipstation.edit_order(KEY, order["orderId"], amountPaid=order["orderTotal"])
    assert order["orderId"] not in shipstation.account_meta(KEY)["mismatched_order_ids"]


def test_order_with_explicit_lines_keeps_the_total_relationship(shipstation, account):
    order = shipstation.add_order(
        KEY,
        items=[
            {"sku": "TSHIRT-BLK-M", "quantity": 2, "unitPrice": "19.99", "taxAmount": "3.30"},
            {"name": "SPRING10", "unitPrice": "-4.00"},
        ],
        shipping_amount="7.99",
        at=NOW + timedelta(hours=2),
    )
    assert order["orderTotal"] == Decimal("47.27") == order["amountPaid"]
    assert order["taxAmount"] == Decimal("3.30")
    discount = order["items"][1]
    assert (discount["lineItemKey"], discount["adjustment"], discount["sku"]) == (
        "discount",
        True,
        None,
    )


def test_label_then_void_show_up_in_create_and_void_date_windows(shipstation, account):
    order = shipstation.add_order(KEY, at=NOW + timedelta(hours=1))
    label_at = NOW + timedelta(hours=2)
    label = shipstation.add_label(KEY, order["orderId"], shipment_cost="8.40", at=label_at)
    assert label["shipmentCost"] == Decimal("8.40")
    shipped = shipstation.get_order(KEY, order["orderId"])
    assert shipped["orderStatus"] == "shipped"
    assert shipped["modifyDate"] == format_timestamp(label_at)
    new_labels = get_json(shipstation, "/shipments", createDateStart=_filter_time(label_at))
    assert [s["shipmentId"] for s in new_labels["shipments"]] == [label["shipmentId"]]

    void_at = NOW + timedelta(hours=3)
    shipstation.void_label(KEY, label["shipmentId"], at=void_at)
    voids = get_json(shipstation, "/shipments", voidDateStart=_filter_time(void_at))
    assert [s["shipmentId"] for s in voids["shipments"]] == [label["shipmentId"]]
    assert voids["shipments"][0]["voided"] is True
    back = shipstation.get_order(KEY, order["orderId"])
    assert back["orderStatus"] == "awaiting_shipment"
    assert back["modifyDate"] == format_timestamp(void_at)


def test_control_api_mirrors_the_handle(shipstation, account):
    base = shipstation.base_url + CONTROL
    meta = requests.get(base + "/meta", timeout=5).json()
    assert meta["order_count"] == 200
    assert meta["mismatched_order_ids"] == sorted(int(k) for k in meta["mismatch_reasons"])
    created = requests.post(
        base + "/orders",
        json={"orderStatus": "awaiting_shipment", "at": "2024-05-21T10:00:00Z"},
        timeout=5,
    )
    assert created.status_code == 201
    order = created.json()
    assert order["createDate"] == "2024-05-21T03:00:00.0000000"
    edited = requests.patch(
        f"{base}/orders/{order['orderId']}",
        json={"orderStatus": "on_hold", "at": "2024-05-21T11:00:00Z"},
        timeout=5,
    ).json()
    assert (edited["orderStatus"], edited["modifyDate"]) == (
        "on_hold",
        "2024-05-21T04:00:00.0000000",
    )
    label = requests.post(
        f"{base}/orders/{order['orderId']}/labels",
        json={"shipmentCost": 9.15, "at": "2024-05-21T12:00:00Z"},
        timeout=5,
    ).json()
    assert label["shipmentCost"] == 9.15
    voided = requests.post(f"{base}/shipments/{label['shipmentId']}/void", json={}, timeout=5)
    assert voided.json()["voided"] is True
    assert requests.get(f"{base}/orders/999", timeout=5).status_code == 404
    assert (
        requests.patch(
            f"{base}/orders/{order['orderId']}", json={"orderTotal": 1}, timeout=5
        ).status_code
        == 400
    )
    assert requests.get(base + "/meta", timeout=5).json()["order_count"] == 201


def test_accounts_are_isolated(shipstation, account):
    shipstation.add_account("second-key", "second-secret", seed=99, orders=5, now=NOW)
    theirs = requests.get(
        shipstation.base_url + "/orders", auth=("second-key", "second-secret"), timeout=5
    ).json()
    ours = get_json(shipstation, "/orders", pageSize=500)
    assert theirs["total"] == 5
    assert not {o["orderId"] for o in theirs["orders"]} & {o["orderId"] for o in ours["orders"]}
