"""List endpoints of the ShipStation stand-in: envelope, paging, every filter, sorting."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from sandbox.shipstation.dates import PACIFIC
from tests.sandbox.support import all_pages, get, get_json, parse, seed_account


def _pacific(wire: str) -> datetime:
    return datetime.fromisoformat(wire[:26]).replace(tzinfo=PACIFIC)


@pytest.fixture
def account(shipstation):
    shipstation.disable_rate_limit()
    return seed_account(shipstation, orders=300)


def test_orders_envelope_reports_total_page_and_ceiling_of_pages(shipstation, account):
    body = get_json(shipstation, "/orders", pageSize=7, page=2)
    assert set(body) == {"orders", "total", "page", "pages"}
    assert body["total"] == 300
    assert body["page"] == 2
    assert body["pages"] == math.ceil(300 / 7) == 43
    assert len(body["orders"]) == 7


def test_last_page_is_partial_and_page_beyond_is_empty_with_same_total(shipstation, account):
    last = get_json(shipstation, "/orders", pageSize=7, page=43)
    assert len(last["orders"]) == 300 - 42 * 7
    beyond = get_json(shipstation, "/orders", pageSize=7, page=44)
    assert beyond["orders"] == []
    assert (beyond["total"], beyond["page"], beyond["pages"]) == (300, 44, 43)


def test_default_page_size_is_100(shipstation, account):
    body = get_json(shipstation, "/orders")
    assert len(body["orders"]) == 100
    assert body["pages"] == 3


def test_paging_visits_every_order_exactly_once(shipstation, account):
    orders = all_pages(shipstation, "/orders", "orders", pageSize=37)
    ids = [o["orderId"] for o in orders]
    assert len(ids) == 300 == len(set(ids))
    assert ids == sorted(ids)


def test_page_size_above_500_is_rejected_with_400(shipstation, account):
    response = get(shipstation, "/orders", pageSize=501)
    assert response.status_code == 400
    body = parse(response)
    assert body["Message"] == "The request is invalid."
    assert "pageSize" in body["ModelState"]
    assert get(shipstation, "/orders", pageSize=500).status_code == 200
    assert get(shipstation, "/shipments", pageSize=501).status_code == 400
    assert get(shipstation, "/fulfillments", pageSize=0).status_code == 400


def test_empty_result_has_zero_pages(shipstation, account):
    body = get_json(shipstation, "/orders", orderNumber="no-such-number")
    assert body == {"orders": [], "total": 0, "page": 1, "pages": 0}


def test_order_status_filter_returns_only_that_status(shipstation, account):
    everything = all_pages(shipstation, "/orders", "orders", pageSize=500)
    for status in ("shipped", "awaiting_shipment", "cancelled"):
        expected = {o["orderId"] for o in everything if o["orderStatus"] == status}
        got = all_pages(shipstation, "/orders", "orders", orderStatus=status, pageSize=500)
        assert expected, status
        assert {o["orderId"] for o in got} == expected


def test_unknown_order_status_is_rejected(shipstation, account):
    assert get(shipstation, "/orders", orderStatus="lost").status_code == 400


def test_store_filter_and_order_number_prefix(shipstation, account):
    everything = all_pages(shipstation, "/orders", "orders", pageSize=500)
    store_id = everything[0]["advancedOptions"]["storeId"]
    by_store = all_pages(shipstation, "/orders", "orders", storeId=store_id, pageSize=500)
    assert {o["orderId"] for o in by_store} == {
        o["orderId"] for o in everything if o["advancedOptions"]["storeId"] == store_id
    }
    number = everything[5]["orderNumber"]
    prefix = number[:2]
    got = all_pages(shipstation, "/orders", "orders", orderNumber=prefix, pageSize=500)
    assert {o["orderId"] for o in got} == {
        o["orderId"] for o in everything if o["orderNumber"].startswith(prefix)
    }
    assert number in {o["orderNumber"] for o in got}


def test_order_id_customer_name_and_item_keyword_filters(shipstation, account):
    """Changed (issue 16): ``orderId`` is no filter of List Orders; ShipStation ignores it,
    as it ignores any parameter it does not know, and ``GET /orders/{id}`` reads one order."""
    everything = all_pages(shipstation, "/orders", "orders", pageSize=500)
    target = everything[17]
    by_id = get_json(shipstation, "/orders", orderId=target["orderId"], pageSize=500)
    assert by_id["total"] == len(everything)
    one = get_json(shipstation, f"/orders/{target['orderId']}")
    assert one["orderId"] == target["orderId"]

    surname = target["shipTo"]["name"].split()[-1]
    by_name = all_pages(shipstation, "/orders", "orders", customerName=surname.upper())
    assert target["orderId"] in {o["orderId"] for o in by_name}
    assert all(surname.lower() in (o["shipTo"]["name"] or "").lower() for o in by_name)

    got = all_pages(shipstation, "/orders", "orders", itemKeyword="mug", pageSize=500)
    assert got
    for order in got:
        assert any(
            "mug" in (i["sku"] or "").lower() or "mug" in i["name"].lower() for i in order["items"]
        )


@pytest.mark.parametrize("field", ["orderDate", "createDate", "modifyDate", "paymentDate"])
def test_order_date_range_filters_are_inclusive_pacific_bounds(shipstation, account, field):
    everything = all_pages(shipstation, "/orders", "orders", pageSize=500)
    stamps = sorted(_pacific(o[field]) for o in everything if o[field])
    lo, hi = stamps[50], stamps[120]
    got = all_pages(
        shipstation,
        "/orders",
        "orders",
        pageSize=500,
        **{
            f"{field}Start": lo.strftime("%Y-%m-%d %H:%M:%S"),
            f"{field}End": hi.strftime("%Y-%m-%d %H:%M:%S"),
        },
    )
    lo_s, hi_s = lo.replace(microsecond=0), hi.replace(microsecond=0)
    expected = {o["orderId"] for o in everything if o[field] and lo_s <= _pacific(o[field]) <= hi_s}
    assert {o["orderId"] for o in got} == expected
    assert len(expected) >= 60


def test_date_only_filter_means_pacific_midnight(shipstation, account):
    everything = all_pages(shipstation, "/orders", "orders", pageSize=500)
    day = sorted(o["createDate"][:10] for o in everything)[150]
    got = all_pages(shipstation, "/orders", "orders", createDateStart=day, pageSize=500)
    assert {o["orderId"] for o in got} == {
        o["orderId"] for o in everything if o["createDate"][:10] >= day
    }


def test_malformed_date_filter_is_rejected(shipstation, account):
    response = get(shipstation, "/orders", modifyDateStart="yesterday")
    assert response.status_code == 400
    assert "modifyDateStart" in parse(response)["ModelState"]


@pytest.mark.parametrize("sort_by", ["OrderDate", "ModifyDate", "CreateDate"])
def test_orders_sort_by_each_date_in_both_directions(shipstation, account, sort_by):
    field = sort_by[0].lower() + sort_by[1:]
    asc = all_pages(shipstation, "/orders", "orders", sortBy=sort_by, sortDir="ASC", pageSize=500)
    desc = all_pages(shipstation, "/orders", "orders", sortBy=sort_by, sortDir="DESC", pageSize=97)
    assert [o[field] for o in asc] == sorted(o[field] for o in asc)
    assert [o[field] for o in desc] == sorted((o[field] for o in desc), reverse=True)
    assert len(asc) == len(desc) == 300


def test_sort_with_filter_on_another_date_keeps_order(shipstation, account):
    everything = all_pages(shipstation, "/orders", "orders", pageSize=500)
    start = sorted(o["createDate"] for o in everything)[100][:19].replace("T", " ")
    got = all_pages(
        shipstation,
        "/orders",
        "orders",
        createDateStart=start,
        sortBy="ModifyDate",
        sortDir="DESC",
        pageSize=50,
    )
    stamps = [o["modifyDate"] for o in got]
    assert stamps == sorted(stamps, reverse=True)
    assert len(got) == 200


def test_unknown_sort_field_is_rejected(shipstation, account):
    assert get(shipstation, "/orders", sortBy="Total").status_code == 400
    assert get(shipstation, "/orders", sortDir="UP").status_code == 400


def test_parameter_names_and_paths_are_case_insensitive(shipstation, account):
    lower = get_json(shipstation, "/orders", pagesize=3, orderstatus="shipped")
    upper = get_json(shipstation, "/Orders", PageSize=3, OrderStatus="shipped")
    assert lower == upper
    assert len(lower["orders"]) == 3


def test_shipments_filters_and_items_only_when_requested(shipstation, account):
    shipments = all_pages(shipstation, "/shipments", "shipments", pageSize=500)
    assert shipments
    assert all(s["shipmentItems"] is None for s in shipments)
    with_items = get_json(shipstation, "/shipments", includeShipmentItems="true", pageSize=5)
    assert all(isinstance(s["shipmentItems"], list) for s in with_items["shipments"])
    assert all(s["shipmentItems"] for s in with_items["shipments"])

    target = shipments[3]
    cases = {
        "orderId": lambda s: s["orderId"] == target["orderId"],
        "orderNumber": lambda s: s["orderNumber"] == target["orderNumber"],
        "trackingNumber": lambda s: s["trackingNumber"] == target["trackingNumber"],
        "carrierCode": lambda s: s["carrierCode"] == target["carrierCode"],
        "serviceCode": lambda s: s["serviceCode"] == target["serviceCode"],
    }
    for param, keep in cases.items():
        params = {param: target[param], "pageSize": 500}
        got = all_pages(shipstation, "/shipments", "shipments", **params)
        assert {s["shipmentId"] for s in got} == {s["shipmentId"] for s in shipments if keep(s)}, (
            param
        )
    store_id = target["advancedOptions"]["storeId"]
    by_store = all_pages(shipstation, "/shipments", "shipments", storeId=store_id, pageSize=500)
    assert {s["shipmentId"] for s in by_store} == {
        s["shipmentId"] for s in shipments if s["advancedOptions"]["storeId"] == store_id
    }
    name = target["shipTo"]["name"]
    by_name = all_pages(shipstation, "/shipments", "shipments", recipientName=name)
    assert target["shipmentId"] in {s["shipmentId"] for s in by_name}


def test_shipments_void_and_ship_date_filters(shipstation, account):
    shipments = all_pages(shipstation, "/shipments", "shipments", pageSize=500)
    voided = [s for s in shipments if s["voided"]]
    assert voided and all(s["voidDate"] for s in voided)
    assert all(s["voidDate"] is None for s in shipments if not s["voided"])
    got = all_pages(
        shipstation, "/shipments", "shipments", voidDateStart="2000-01-01", pageSize=500
    )
    assert {s["shipmentId"] for s in got} == {s["shipmentId"] for s in voided}

    day = sorted(s["shipDate"] for s in shipments)[len(shipments) // 2]
    same_day = all_pages(
        shipstation, "/shipments", "shipments", shipDateStart=day, shipDateEnd=day, pageSize=500
    )
    assert same_day
    assert {s["shipmentId"] for s in same_day} == {
        s["shipmentId"] for s in shipments if s["shipDate"] == day
    }
    by_ship = all_pages(shipstation, "/shipments", "shipments", sortBy="ShipDate", sortDir="DESC")
    dates = [s["shipDate"] for s in by_ship]
    assert dates == sorted(dates, reverse=True)


def test_fulfillments_list_and_filters(shipstation, account):
    fulfillments = all_pages(shipstation, "/fulfillments", "fulfillments", pageSize=500)
    assert fulfillments
    target = fulfillments[0]
    for param in ("fulfillmentId", "orderId", "orderNumber", "trackingNumber"):
        if target[param] is None:
            continue
        got = get_json(shipstation, "/fulfillments", **{param: target[param]})
        assert target["fulfillmentId"] in {f["fulfillmentId"] for f in got["fulfillments"]}
        assert all(f[param] == target[param] for f in got["fulfillments"]), param
    # Changed (issue 16): a fulfillment's shipDate is a full stamp, as in a recorded response
    # ("2020-06-24T10:32:33.6870000"), and it names its seller-fill provider.
    assert len(target["shipDate"]) == 27 and target["shipDate"][10] == "T"
    assert {"sellerFillProviderId", "sellerFillProviderName"} <= set(target)
    assert any(f["sellerFillProviderName"] == "ShipBob" for f in fulfillments)
    day = target["shipDate"][:10]
    got = all_pages(
        shipstation, "/fulfillments", "fulfillments", shipDateStart=day, shipDateEnd=day
    )
    assert {f["fulfillmentId"] for f in got} == {
        f["fulfillmentId"] for f in fulfillments if f["shipDate"][:10] == day
    }


def test_stores_is_a_bare_array_hiding_inactive_unless_asked(shipstation, account):
    active = get_json(shipstation, "/stores")
    assert isinstance(active, list)
    assert len(active) == 5 and all(s["active"] for s in active)
    everything = get_json(shipstation, "/stores", showInactive="true")
    assert len(everything) == 6
    assert [s for s in everything if not s["active"]]
    amazon = get_json(shipstation, "/stores", marketplaceId=2)
    assert [s["marketplaceName"] for s in amazon] == ["Amazon"]


def test_list_tags_shape(shipstation, account):
    tags = get_json(shipstation, "/accounts/listtags")
    assert tags and all(set(t) == {"tagId", "name", "color"} for t in tags)
