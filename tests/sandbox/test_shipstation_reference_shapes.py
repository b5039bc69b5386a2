"""A third party's view: does the stand-in emit what ShipStation documents?

``data/shipstation_orders_page_example.json`` is the example list page copied verbatim from
the provider reference (shared/reference/shipstation-v1.md). The stand-in must emit every
key of it, with the same JSON types and date formats, plus every key the reference lists.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.support import all_pages, get, seed_account

EXAMPLE = Path(__file__).parent / "data" / "shipstation_orders_page_example.json"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$")
DAY = re.compile(r"^\d{4}-\d\d-\d\d$")

ORDER_KEYS = {
    "orderId", "orderNumber", "orderKey", "orderDate", "createDate", "modifyDate",
    "paymentDate", "shipByDate", "shipDate", "holdUntilDate", "orderStatus", "customerId",
    "customerUsername", "customerEmail", "billTo", "shipTo", "items", "orderTotal",
    "amountPaid", "taxAmount", "shippingAmount", "customerNotes", "internalNotes", "gift",
    "giftMessage", "paymentMethod", "requestedShippingService", "carrierCode", "serviceCode",
    "packageCode", "confirmation", "weight", "dimensions", "insuranceOptions",
    "internationalOptions", "advancedOptions", "tagIds", "userId", "externallyFulfilled",
    "externallyFulfilledBy", "externallyFulfilledById", "externallyFulfilledByName",
}  # fmt: skip
ADDRESS_KEYS = {
    "name", "company", "street1", "street2", "street3", "city", "state", "postalCode",
    "country", "phone", "residential", "addressVerified",
}  # fmt: skip
ITEM_KEYS = {
    "orderItemId", "lineItemKey", "sku", "name", "imageUrl", "weight", "quantity", "unitPrice",
    "taxAmount", "shippingAmount", "warehouseLocation", "options", "productId",
    "fulfillmentSku", "adjustment", "upc", "createDate", "modifyDate",
}  # fmt: skip
ADVANCED_KEYS = {
    "warehouseId", "nonMachinable", "saturdayDelivery", "containsAlcohol", "storeId",
    "customField1", "customField2", "customField3", "source", "mergedOrSplit", "mergedIds",
    "parentId", "billToParty", "billToAccount", "billToPostalCode", "billToCountryCode",
    "billToMyOtherAccount",
}  # fmt: skip
SHIPMENT_KEYS = {
    "shipmentId", "orderId", "orderKey", "userId", "customerEmail", "orderNumber",
    "createDate", "shipDate", "shipmentCost", "insuranceCost", "trackingNumber",
    "isReturnLabel", "batchNumber", "carrierCode", "serviceCode", "packageCode",
    "confirmation", "warehouseId", "voided", "voidDate", "marketplaceNotified",
    "notifyErrorMessage", "shipTo", "weight", "dimensions", "insuranceOptions",
    "advancedOptions", "shipmentItems", "labelData", "formData",
}  # fmt: skip
FULFILLMENT_KEYS = {
    "fulfillmentId", "orderId", "orderNumber", "userId", "customerEmail", "trackingNumber",
    "createDate", "shipDate", "voidDate", "deliveryDate", "carrierCode",
    "fulfillmentProviderCode", "fulfillmentServiceCode", "fulfillmentFee", "voidRequested",
    "voided", "marketplaceNotified", "notifyErrorMessage", "shipTo",
    # in a recorded response (agritheory/shipstation-client tests/api_data.py)
    "sellerFillProviderId", "sellerFillProviderName",
}  # fmt: skip
MONEY = {"unitPrice", "taxAmount", "shippingAmount", "orderTotal", "amountPaid"}


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def walk(value: Any, path: str = "") -> dict[str, Any]:
    """Flatten to {path: value}; list elements share the path ``key[]``."""
    out: dict[str, list[Any]] = {}

    def visit(v: Any, p: str) -> None:
        out.setdefault(p, []).append(v)
        if isinstance(v, dict):
            for k, child in v.items():
                visit(child, f"{p}.{k}" if p else k)
        elif isinstance(v, list):
            for child in v:
                visit(child, f"{p}[]")

    visit(value, path)
    return out


@pytest.fixture
def example() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text(), parse_float=Decimal)


@pytest.fixture
def our_page(shipstation) -> dict[str, Any]:
    shipstation.disable_rate_limit()
    seed_account(shipstation, orders=400)
    orders = all_pages(shipstation, "/orders", "orders", pageSize=500)
    response = get(shipstation, "/orders", pageSize=500)
    page = json.loads(response.content, parse_float=Decimal)
    page["orders"] = orders
    return page


def test_every_key_of_the_reference_example_is_emitted_with_the_same_json_type(example, our_page):
    ours = walk(our_page)
    theirs = walk(example)
    for path, values in theirs.items():
        assert path in ours, f"{path} missing from the stand-in's output"
        their_types = {json_type(v) for v in values} - {"null"}
        our_types = {json_type(v) for v in ours[path]} - {"null"}
        if their_types:
            assert our_types == their_types, path
        # An array in the example (items, mergedIds) is never null in ours.
        if "array" in their_types:
            assert None not in ours[path], path


def test_every_documented_key_is_present_on_every_record(our_page, shipstation):
    for order in our_page["orders"]:
        assert set(order) >= ORDER_KEYS
        assert set(order["billTo"]) == set(order["shipTo"]) == ADDRESS_KEYS
        assert set(order["advancedOptions"]) == ADVANCED_KEYS
        assert set(order["insuranceOptions"]) == {"provider", "insureShipment", "insuredValue"}
        assert set(order["internationalOptions"]) == {"contents", "customsItems", "nonDelivery"}
        for item in order["items"]:
            assert set(item) == ITEM_KEYS
    shipments = all_pages(shipstation, "/shipments", "shipments", includeShipmentItems="true")
    assert shipments
    for shipment in shipments:
        assert set(shipment) == SHIPMENT_KEYS
        assert set(shipment["shipTo"]) == ADDRESS_KEYS
        assert "storeId" in shipment["advancedOptions"]
        for item in shipment["shipmentItems"]:
            assert set(item) == ITEM_KEYS
    fulfillments = all_pages(shipstation, "/fulfillments", "fulfillments")
    assert fulfillments
    for fulfillment in fulfillments:
        assert set(fulfillment) == FULFILLMENT_KEYS


def test_dates_and_ids_have_the_reference_formats(example, our_page):
    for page in (example, our_page):
        for order in page["orders"]:
            assert isinstance(order["orderId"], int)
            assert isinstance(order["orderNumber"], str)
            for key in ("orderDate", "createDate", "modifyDate"):
                assert TIMESTAMP.match(order[key]), (key, order[key])
            if order.get("paymentDate"):
                assert TIMESTAMP.match(order["paymentDate"])
            if order.get("shipDate"):
                assert DAY.match(order["shipDate"])
            for item in order["items"]:
                assert isinstance(item["orderItemId"], int)
                assert isinstance(item["quantity"], int)


def test_money_is_written_as_numbers_with_two_decimals(our_page, shipstation):
    raw = get(shipstation, "/orders", pageSize=50).text
    assert re.search(r'"orderTotal":-?\d+\.\d\d[,}]', raw)
    assert not re.search(r'"(orderTotal|amountPaid|unitPrice)":"', raw)  # never strings
    for order in our_page["orders"]:
        for key in ("orderTotal", "amountPaid", "taxAmount", "shippingAmount"):
            assert order[key].as_tuple().exponent == -2, key
        for item in order["items"]:
            assert item["unitPrice"].as_tuple().exponent == -2


def order_total(order: dict[str, Any]) -> Decimal:
    lines = sum((i["unitPrice"] * i["quantity"] for i in order["items"]), Decimal(0))
    return lines + order["shippingAmount"] + order["taxAmount"]


def test_reference_example_and_stand_in_obey_the_same_total_relationship(example, our_page):
    (theirs,) = example["orders"]
    assert order_total(theirs) == theirs["orderTotal"] == theirs["amountPaid"]
    discount = theirs["items"][1]
    assert (discount["lineItemKey"], discount["adjustment"]) == ("discount", True)
    assert discount["unitPrice"] < 0
    ours = our_page["orders"]
    assert all(order_total(o) == o["orderTotal"] for o in ours)
    discounted = [o for o in ours if any(i["lineItemKey"] == "discount" for i in o["items"])]
    assert discounted
    for order in discounted:
        line = next(i for i in order["items"] if i["lineItemKey"] == "discount")
        assert line["adjustment"] is True and line["unitPrice"] < 0 and line["quantity"] == 1
