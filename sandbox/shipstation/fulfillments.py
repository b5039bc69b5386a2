"""Fulfillments (orders marked shipped without a label bought in ShipStation) and their fees.

Sources (``docs/reference/provider-facts.md``): a fulfillment carries ``fulfillmentFee``,
``voided``/``voidDate``, a full ``shipDate`` stamp and ``sellerFillProviderId``/``Name``
(agritheory/shipstation-client ``tests/api_data.py``); List Fulfillments has no void-date
filter (shipstation.com/docs/api/fulfillments/list-fulfillments/). Assumed, not documented:
voiding a fulfillment moves its order's ``modifyDate``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.framework import ControlError
from sandbox.generator import money
from sandbox.shipstation.models import Fulfillment

PROVIDERS = {"shipbob": (4012, "ShipBob"), "amazon_fba": (None, None)}


def add_fulfillment(
    account: Any,
    order_id: int,
    *,
    at: datetime,
    fee: Decimal | None = None,
    provider: str | None = "shipbob",
) -> Fulfillment:
    """Mark an order shipped by a fulfillment provider (no label bought in ShipStation)."""
    order = account._order(order_id)
    f = account.generator.new_fulfillment(order, at=at, fba=provider == "amazon_fba")
    if provider is not None:
        f.fulfillment_provider_code = provider
        f.seller_fill_provider_id, f.seller_fill_provider_name = PROVIDERS.get(
            provider, (None, provider)
        )
    if fee is not None:
        f.fulfillment_fee = money(fee)
    account.fulfillments.add(f.fulfillment_id, f)
    account.fulfillments_by_order.setdefault(order_id, []).append(f.fulfillment_id)
    before = account.orders.keys_of(order)
    order.status = "shipped"
    order.ship_date = f.ship_date
    order.modify_date = at
    account.orders.reindex(order_id, before)
    account._order_json.pop(order_id, None)
    return f


def void_fulfillment(account: Any, fulfillment_id: int, *, at: datetime) -> Fulfillment:
    try:
        f = account.fulfillments.records[fulfillment_id]
    except KeyError:
        raise ControlError(f"fulfillment {fulfillment_id} not found", 404) from None
    if f.voided:
        raise ControlError(f"fulfillment {fulfillment_id} is already voided", 409)
    before = account.fulfillments.keys_of(f)
    f.voided, f.void_date = True, at
    account.fulfillments.reindex(fulfillment_id, before)
    account._fulfillment_json.pop(fulfillment_id, None)
    order = account.orders.records.get(f.order_id)
    if order is not None:
        before_order = account.orders.keys_of(order)
        order.modify_date = at
        account.orders.reindex(order.order_id, before_order)
        account._order_json.pop(order.order_id, None)
    return f
