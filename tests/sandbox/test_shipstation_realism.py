"""ShipStation's rough edges in the stand-in (issue 16): single-order reads and orders
ShipStation fails on."""

from __future__ import annotations

import pytest
import requests

from tests.sandbox.support import KEY, get, get_json, parse, seed_account


@pytest.fixture
def account(shipstation):
    shipstation.disable_rate_limit()
    return seed_account(shipstation, orders=60)


def test_get_order_answers_the_order_object_and_404_for_an_unknown_id(shipstation, account):
    order_id = sorted(account.orders.records)[5]
    body = get_json(shipstation, f"/orders/{order_id}")
    assert body["orderId"] == order_id
    assert "orders" not in body
    listed = [o for o in get_json(shipstation, "/orders", pageSize=500)["orders"]
              if o["orderId"] == order_id]  # fmt: skip
    assert listed == [body]
    missing = get(shipstation, "/orders/999999999")
    assert missing.status_code == 404
    assert "999999999" in parse(missing)["Message"]


def test_a_poisoned_order_fails_every_page_that_contains_it_at_any_size(shipstation, account):
    ids = sorted(account.orders.records)
    shipstation.poison_order(KEY, ids[25])
    # Sorted by id (no sortBy): position 25.
    failing = [(500, 1), (50, 1), (10, 3), (1, 26)]
    for size, page in failing:
        response = get(shipstation, "/orders", pageSize=size, page=page)
        assert response.status_code == 500, (size, page)
        body = parse(response)
        assert body["Message"] == "An error has occurred."
        assert body["ExceptionType"] == "System.Exception"
    assert [
        o["orderId"] for o in get_json(shipstation, "/orders", pageSize=10, page=2)["orders"]
    ] == ids[10:20]
    assert [
        o["orderId"] for o in get_json(shipstation, "/orders", pageSize=1, page=27)["orders"]
    ] == [ids[26]]
    assert get(shipstation, f"/orders/{ids[25]}").status_code == 500
    assert get(shipstation, f"/orders/{ids[24]}").status_code == 200
    shipstation.poison_order(KEY, ids[25], poisoned=False)
    assert get(shipstation, "/orders", pageSize=500).status_code == 200
    assert get(shipstation, f"/orders/{ids[25]}").status_code == 200


def test_poison_through_the_control_api(shipstation, account):
    order_id = sorted(account.orders.records)[0]
    url = f"{shipstation.base_url}/__sandbox__/shipstation/accounts/{KEY}/orders/{order_id}/poison"
    assert requests.post(url, json={}, timeout=5).json() == {"orderId": order_id, "poisoned": True}
    assert shipstation.account_meta(KEY)["poisoned_order_ids"] == [order_id]
    assert get(shipstation, "/orders").status_code == 500
    requests.post(url, json={"poisoned": False}, timeout=5)
    assert get(shipstation, "/orders").status_code == 200
    unknown = f"{shipstation.base_url}/__sandbox__/shipstation/accounts/{KEY}/orders/1/poison"
    assert requests.post(unknown, json={}, timeout=5).status_code == 404


def test_merged_orders_vanish_and_the_survivor_lists_them(shipstation, account):
    line_a = {"sku": "A", "name": "A", "quantity": 1, "unitPrice": "10.00"}
    line_b = {"sku": "B", "name": "B", "quantity": 2, "unitPrice": "4.50"}
    survivor = shipstation.add_order(
        KEY, status="awaiting_shipment", items=[line_a], shipping_amount="3.00"
    )
    merged = shipstation.add_order(
        KEY, status="awaiting_shipment", items=[line_b], shipping_amount="2.00"
    )
    total_before = get_json(shipstation, "/orders", pageSize=1)["total"]

    body = shipstation.merge_orders(KEY, survivor["orderId"], [merged["orderId"]])

    assert body["advancedOptions"]["mergedOrSplit"] is True
    assert body["advancedOptions"]["mergedIds"] == [merged["orderId"]]
    assert [i["sku"] for i in body["items"]] == ["A", "B"]
    assert body["shippingAmount"] == 5 and body["orderTotal"] == 24 and body["amountPaid"] == 24
    assert body["modifyDate"] > survivor["modifyDate"]
    assert get(shipstation, f"/orders/{merged['orderId']}").status_code == 404
    listed = get_json(shipstation, "/orders", pageSize=500)
    assert listed["total"] == total_before - 1
    assert merged["orderId"] not in {o["orderId"] for o in listed["orders"]}
    shipped = shipstation.add_order(KEY, status="shipped")
    control = f"{shipstation.base_url}/__sandbox__/shipstation/accounts/{KEY}"
    url = f"{control}/orders/{survivor['orderId']}/merge"
    refused = requests.post(url, json={"orderIds": [shipped["orderId"]]}, timeout=5)
    assert refused.status_code == 400 and "only open orders merge" in refused.json()["error"]
