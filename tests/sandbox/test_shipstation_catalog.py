"""``/stores/{id}``, ``/carriers``, ``/warehouses`` and ``/orders/listbytag`` with the shapes of
ShipStation's docs (issue 16; sources in sandbox/shipstation/catalog.py)."""

from __future__ import annotations

import re

import pytest

from tests.sandbox.support import get, get_json, seed_account

TRIMMED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?$")
SEVEN = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$")


@pytest.fixture
def account(shipstation):
    shipstation.disable_rate_limit()
    return seed_account(shipstation, orders=200)


def test_one_store_reads_like_a_list_entry_with_trimmed_stamps(shipstation, account):
    listed = get_json(shipstation, "/stores")
    one = get_json(shipstation, f"/stores/{listed[0]['storeId']}")
    assert one == listed[0]
    assert TRIMMED.match(one["createDate"]) and not re.search(r"\.\d*0$", one["createDate"])
    assert get(shipstation, "/stores/1").status_code == 404


def test_carriers_and_warehouses_have_the_documented_keys(shipstation, account):
    carriers = get_json(shipstation, "/carriers")
    assert carriers and all(
        set(c) == {"name", "code", "accountNumber", "requiresFundedAccount", "balance",
                   "nickname", "shippingProviderId", "primary"}
        for c in carriers
    )  # fmt: skip
    assert "stamps_com" in {c["code"] for c in carriers}
    [warehouse] = get_json(shipstation, "/warehouses")
    assert set(warehouse) == {
        "warehouseId", "warehouseName", "originAddress", "returnAddress", "createDate",
        "isDefault",
    }  # fmt: skip
    assert SEVEN.match(warehouse["createDate"])
    assert warehouse["isDefault"] is True


def test_orders_by_tag_needs_status_and_tag_and_lists_those_orders(shipstation, account):
    assert get(shipstation, "/orders/listbytag").status_code == 400
    assert get(shipstation, "/orders/listbytag", orderStatus="shipped").status_code == 400
    everything = [o for o in account.orders.records.values() if o.tag_ids]
    assert everything
    tag, status = everything[0].tag_ids[0], everything[0].status
    got = get_json(shipstation, "/orders/listbytag", orderStatus=status, tagId=tag, pageSize=500)
    expected = {o.order_id for o in everything if o.status == status and tag in (o.tag_ids or ())}
    assert {o["orderId"] for o in got["orders"]} == expected
    assert got["total"] == len(expected) and got["page"] == 1


def test_labels_and_fulfillments_come_by_create_date_without_sort_by(shipstation, account):
    """Default sorts (docs/reference/provider-facts.md): ``/orders`` by order id,
    ``/shipments`` and ``/fulfillments`` by create date, when no ``sortBy`` is sent."""
    for path, key in (("/shipments", "shipments"), ("/fulfillments", "fulfillments")):
        got = get_json(shipstation, path, pageSize=500)[key]
        stamps = [r["createDate"] for r in got]
        assert stamps == sorted(stamps), path
    orders = get_json(shipstation, "/orders", pageSize=500)["orders"]
    ids = [o["orderId"] for o in orders]
    assert ids == sorted(ids)
