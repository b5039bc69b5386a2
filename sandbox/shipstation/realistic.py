"""An account's history made as rough as a real one (issue 16): ``add_account(...,
realistic=True)`` and ``make run``'s demo account.

On top of the generator's orders, labels and fulfillments (ShipBob's and FBA's with their
``fulfillmentFee``), at about the rates a real account shows them:

- about 1% of open orders merged into another open order of the same store (they vanish;
  the survivor lists them in ``mergedIds``) and about 1% split (a part with its own order id,
  the same number and key, ``parentId`` the original), at least one of each;
- labels bought in quick ship without an order (``orderId`` null), one label billed to a
  third party, labels whose ``shipDate`` is a day or two after they were bought;
- shipped orders that list no items (``items: []``) but have a total;
- an order number repeated in another store.

Everything happens at moments inside the account's window and before its "now", so a first
import reads the result as it stands. Deterministic for a seed.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sandbox.generator import money
from sandbox.shipstation.dates import pacific_date
from sandbox.shipstation.splits import split_order

MERGE_RATE = 0.01
SPLIT_RATE = 0.01
OPEN = ("awaiting_shipment", "on_hold")


def _moment(order: Any, now: datetime, rng: random.Random) -> datetime:
    latest = now - timedelta(minutes=5)
    moment = order.modify_date + timedelta(minutes=rng.uniform(5, 90))
    moment = min(moment, latest)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def apply_realism(account: Any, *, seed: int) -> dict[str, list[int]]:
    """Change the freshly generated ``account`` as the module says; returns the ids touched
    (``merged``, ``split``, ``orderless``, ``third_party``, ``late_ship``, ``no_items``,
    ``repeated_number``), for tests and the demo's README figures."""
    rng = random.Random(seed * 16 + 1)
    now = account.generator.now
    touched: dict[str, list[int]] = {
        k: []
        for k in (
            "merged", "split", "orderless", "third_party", "late_ship", "no_items",
            "repeated_number",
        )
    }  # fmt: skip
    orders = sorted(account.orders.records.values(), key=lambda o: o.order_id)
    open_orders = [o for o in orders if o.status in OPEN and not any(i.adjustment for i in o.items)]

    # Merges: an open order takes in the next open order of its store.
    by_store: dict[int, list[Any]] = {}
    for order in open_orders:
        by_store.setdefault(order.store_id, []).append(order)
    merge_pairs = []
    for group in by_store.values():
        for first, second in zip(group[::2], group[1::2], strict=False):
            if rng.random() < MERGE_RATE * 2:
                merge_pairs.append((first, second))
    if not merge_pairs:
        group = max(by_store.values(), key=len, default=[])
        if len(group) >= 2:
            merge_pairs.append((group[0], group[1]))
    merged_away = set()
    for primary, other in merge_pairs:
        account.merge_orders(primary.order_id, [other.order_id], at=_moment(primary, now, rng))
        touched["merged"].append(primary.order_id)
        merged_away.update((primary.order_id, other.order_id))

    # Splits: the last line of an open order with several lines becomes its own order.
    candidates = [o for o in open_orders if o.order_id not in merged_away and len(o.items) >= 2]
    chosen = [o for o in candidates if rng.random() < SPLIT_RATE * len(orders) / max(
        1, len(candidates))]  # fmt: skip
    if not chosen and candidates:
        chosen = [candidates[0]]
    for order in chosen:
        part = split_order(
            account, order.order_id, [order.items[-1].order_item_id], at=_moment(order, now, rng)
        )
        touched["split"].append(part.order_id)

    # Quick-ship labels without an order.
    for _ in range(max(1, len(orders) // 150)):
        at = now - timedelta(days=rng.uniform(0.5, max(1.0, account.days - 1)))
        at = at.replace(microsecond=at.microsecond // 1000 * 1000)
        label = account.add_orderless_label(at=at, store_id=orders[0].store_id if orders else None)
        touched["orderless"].append(label.shipment_id)

    labels = sorted(
        (s for s in account.shipments.records.values() if s.order_id and not s.voided),
        key=lambda s: s.shipment_id,
    )
    # One label the carrier bills to a third party.
    if labels:
        label = labels[len(labels) // 3]
        label.bill_to_party = "third_party"
        touched["third_party"].append(label.shipment_id)
    # Labels printed ahead: the ship date a day or two after the label was bought.
    for label in labels[1::97]:
        before = account.shipments.keys_of(label)
        label.ship_date = pacific_date(label.create_date) + timedelta(days=rng.choice((1, 2)))
        account.shipments.reindex(label.shipment_id, before)
        touched["late_ship"].append(label.shipment_id)

    # Shipped orders that list no items but have a total (a recorded response has one).
    shipped = [o for o in orders if o.status == "shipped" and o.order_id in account.orders.records]
    for order in shipped[5::250]:
        goods = order.lines_total
        order.items = []
        order.unitemised_total = money(goods)
        touched["no_items"].append(order.order_id)

    # One order number used again by another store.
    stores = {}
    for order in orders:
        if order.order_id in account.orders.records and order.order_id not in merged_away:
            stores.setdefault(order.store_id, order)
    if len(stores) >= 2:
        first, second = list(stores.values())[:2]
        before = account.orders.keys_of(second)
        second.order_number = first.order_number
        account.orders.reindex(second.order_id, before)
        for label_id in account.shipments_by_order.get(second.order_id, []):
            account.shipments.records[label_id].order_number = first.order_number
        for f_id in account.fulfillments_by_order.get(second.order_id, []):
            account.fulfillments.records[f_id].order_number = first.order_number
        touched["repeated_number"].extend((first.order_id, second.order_id))

    account._order_json.clear()
    account._shipment_json.clear()
    account._fulfillment_json.clear()
    return touched
