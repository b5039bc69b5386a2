"""Splitting an order as a ShipStation user does (issue 16, item 2).

Sources (``docs/reference/provider-facts.md``): only orders awaiting shipment can be split
(ShipStation help, "Split Orders Into Multiple Shipments"); every part keeps the order's
``orderNumber`` and ``orderKey`` ("always required when updating a split order",
kjaenicke/shipstation-node ``src/types/resources/orders.ts``); a part's
``advancedOptions.parentId`` is "the Parent ID of the order with which it has been split"
(same client, ``src/types/models/AdvancedOptions.ts``), and both carry
``mergedOrSplit: true``.

Assumed, not documented: each moved line takes its price, tax and line shipping with it;
the order's own shipping charge stays on the original; what was paid is divided the same
way (the part is paid its lines and their tax).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sandbox.framework import ControlError
from sandbox.generator import money
from sandbox.shipstation.models import ZERO, Order

SPLITTABLE = ("awaiting_shipment", "on_hold")


def split_order(account: Any, order_id: int, item_ids: list[int], *, at: datetime) -> Order:
    """Move the order's lines ``item_ids`` (``orderItemId``) to a new order: the split part.
    Returns the part (a new ``orderId``, the same number and key, ``parentId`` the
    original's id)."""
    order = account._order(order_id)
    if order.status not in SPLITTABLE:
        raise ControlError(f"order {order_id} is {order.status}; only open orders split")
    moving = [i for i in order.items if i.order_item_id in set(item_ids)]
    staying = [i for i in order.items if i.order_item_id not in set(item_ids)]
    if not moving or not staying:
        raise ControlError("name some, but not all, of the order's orderItemIds to split off")
    gen = account.generator
    gen._next_order_id += 1
    part = dataclasses.replace(
        order,
        order_id=gen._next_order_id,
        items=moving,
        create_date=at,
        modify_date=at,
        shipping_amount=ZERO,
        amount_paid=ZERO,
        merged_or_split=True,
        merged_ids=(),
        parent_id=order.order_id,
        tag_ids=None if order.tag_ids is None else tuple(order.tag_ids),
    )
    part.amount_paid = money(min(order.amount_paid, part.order_total))
    before = account.orders.keys_of(order)
    order.items = staying
    order.amount_paid = money(order.amount_paid - part.amount_paid)
    order.merged_or_split = True
    order.modify_date = at
    account.orders.reindex(order_id, before)
    account._order_json.pop(order_id, None)
    account.orders.add(part.order_id, part)
    return part


def split_at_random(account: Any, rng: Any, *, rate: float, at_of: Any) -> list[Order]:
    """Split about ``rate`` of the account's open orders with more than one line (the
    generator's realistic rate); ``at_of(order)`` gives the moment of each split."""
    parts = []
    for order in list(account.orders.records.values()):
        if order.status not in SPLITTABLE or len(order.items) < 2 or order.parent_id:
            continue
        if any(i.adjustment for i in order.items) or rng.random() >= rate:
            continue
        moving = [order.items[-1].order_item_id]
        parts.append(split_order(account, order.order_id, moving, at=at_of(order)))
    return parts
