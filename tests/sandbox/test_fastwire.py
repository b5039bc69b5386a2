"""The fast serialiser writes exactly the bytes of the readable one (``wire`` + json_bytes)."""

from __future__ import annotations

from datetime import timedelta

from sandbox.framework import json_bytes
from sandbox.generator import generate_merchant
from sandbox.shipstation import fastwire, wire
from tests.sandbox.support import NOW


def test_fast_serialiser_is_byte_identical_on_generated_records():
    data, _ = generate_merchant(seed=11, orders=2500, days=40, stores=7, now=NOW)
    # Exercise the paths generation rarely takes: edited line dates, missing weights.
    data.orders[0].items[0].modify_date = data.orders[0].items[0].create_date + timedelta(1)
    data.orders[1].weight_oz = None
    for order in data.orders:
        assert fastwire.order(order).encode() == json_bytes(wire.order(order)), order.order_id
    for shipment in data.shipments:
        for include in (False, True):
            expected = json_bytes(wire.shipment(shipment, include_items=include))
            assert fastwire.shipment(shipment, include_items=include).encode() == expected
    for fulfillment in data.fulfillments:
        assert fastwire.fulfillment(fulfillment).encode() == json_bytes(
            wire.fulfillment(fulfillment)
        )
