"""Deterministic merchant data for the ShipStation stand-in, the demo and the benchmarks.

``generate_merchant(seed=..., orders=..., days=..., stores=..., now=...)`` returns a
:class:`~sandbox.shipstation.models.MerchantData`; the same arguments always give the same
data (``now`` defaults to the real clock, so pass it when comparing runs).

What an account looks like
--------------------------
- ``stores`` active stores cycling through Shopify, Amazon, eBay, Etsy, a manual store,
  a second Shopify store (whose order numbers collide with the first: ``orderNumber`` is not
  unique across stores), WooCommerce, ...; plus one inactive Shopify store without orders.
  Marketplace ids are illustrative, not ShipStation's real ones.
- Orders spread over the last ``days`` days before ``now``; ids grow with time. Statuses
  are mostly ``shipped``; recent orders are often ``awaiting_shipment``; a few ``on_hold``
  (with ``holdUntilDate``), ``cancelled``, ``awaiting_payment`` (no ``paymentDate``),
  ``pending_fulfillment`` and ``rejected_fulfillment``.
- 1-6 product lines from a seeded catalogue; some SKUs are null or ``""`` (personalised
  Etsy items); unicode and very long names for products and people; guest buyers without
  email/customer id; ~8% international addresses (with customs items).
- Discount lines: ``lineItemKey "discount"``, ``adjustment true``, quantity 1, negative
  ``unitPrice``, null ``sku`` and null ``taxAmount``.

Money relationships (every amount is a 2-place ``Decimal``)
-----------------------------------------------------------
- line tax = round_half_up(quantity * unitPrice * state rate) on product lines; discount
  lines carry null tax (counted as 0).
- ``order.taxAmount = sum(line.taxAmount)``.
- ``order.shippingAmount`` is what the buyer paid for shipping. Stores that report shipping
  per line (Amazon) put it on the lines' ``shippingAmount`` and the order's
  ``shippingAmount`` is their sum; for the other stores every line says 0.00.
  Never add both.
- ``order.orderTotal = sum(quantity * unitPrice over all lines, discounts included)
  + order.shippingAmount + order.taxAmount``.
- ``order.amountPaid = orderTotal``, except for orders listed in
  ``MerchantData.mismatched`` (order id -> reason), which the control API exposes as
  ``mismatched_order_ids`` / ``mismatch_reasons``:
  ``coupon`` (Shopify: an unitemised coupon, paid less), ``marketplace_tax`` (Amazon, eBay,
  Etsy: the marketplace collected and remitted the tax, paid = total - tax), ``fba``
  (Amazon, fulfilled by Amazon: paid = lines only, no shipping or tax),
  ``awaiting_payment`` (paid 0.00).

Shipping (labels and fulfillments)
----------------------------------
- Shipped orders get one label, sometimes two (split parcels); ~5% have a voided label
  (``voided``, ``voidDate``) followed by a replacement; ~3% later get a return label
  (``isReturnLabel``). A label's cost is ``shipmentCost + insuranceCost``.
- ~11% of shipped orders were marked shipped outside ShipStation: no label, only a
  fulfillment with a ``fulfillmentFee`` (0.00 for the merchant's own, a fee for 3PLs).
  FBA orders likewise have only a fulfillment (provider ``amazon_fba``).
- Order ``shipDate`` is the Pacific date of its first non-voided outbound label;
  ``carrierCode``/``serviceCode`` follow that label.

Dates
-----
``orderDate`` (whole seconds, the marketplace's clock) < ``createDate`` (import into
ShipStation, millisecond precision) <= ``modifyDate`` <= ``now``. ``modifyDate`` equals
``createDate`` until something happens: a label, a cancellation, or one of the ~10% later
edits (notes, tags) that bump it.

Modules: ``vocabulary`` (the fixed word lists and products), ``merchant`` (stores, customers,
orders), ``shipping`` (labels, returns, fulfillments). Import from this package.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sandbox.framework import paused_gc
from sandbox.generator.merchant import MerchantGenerator
from sandbox.generator.vocabulary import _millis, money
from sandbox.shipstation.models import MerchantData

__all__ = ["MerchantGenerator", "generate_merchant", "money"]


def generate_merchant(
    *,
    seed: int,
    orders: int,
    days: int = 45,
    stores: int = 5,
    now: datetime | None = None,
) -> tuple[MerchantData, MerchantGenerator]:
    """Generate one account's data; also return the generator for later additions."""
    with paused_gc():
        return _generate(seed=seed, orders=orders, days=days, stores=stores, now=now)


def _generate(
    *, seed: int, orders: int, days: int, stores: int, now: datetime | None
) -> tuple[MerchantData, MerchantGenerator]:
    gen = MerchantGenerator(seed=seed, stores=stores, now=now)
    rng = gen.rng
    now = gen.now
    span = max(days * 86_400, 3_600)
    # Oldest first so ids grow with time; at least 40 min old so every later date fits.
    offsets = sorted((rng.uniform(2_400, span) for _ in range(orders)), reverse=True)
    data = MerchantData(
        seller_id=gen.seller_id,
        stores=gen.stores,
        tags=gen.tags,
        orders=[],
        shipments=[],
        fulfillments=[],
        user_ids=gen.user_ids,
    )
    for offset in offsets:
        order_date = (now - timedelta(seconds=offset)).replace(microsecond=0)
        create_date = _millis(order_date + timedelta(seconds=rng.uniform(60, 1_800)))
        status = gen._status(offset / 86_400)
        order, reason = gen.new_order(order_date=order_date, create_date=create_date, status=status)
        if reason:
            data.mismatched[order.order_id] = reason
        if status == "shipped":
            labels, fulfillments = gen.ship_order_history(order, now)
            data.shipments.extend(labels)
            data.fulfillments.extend(fulfillments)
        elif status == "cancelled":
            cancelled = order.create_date + timedelta(hours=rng.uniform(0.1, 20))
            order.modify_date = _millis(min(cancelled, now - timedelta(seconds=30)))
        if rng.random() < 0.10:
            # A later edit (notes, tags): modifyDate moves, nothing else a sync needs changes.
            later = order.modify_date + (now - order.modify_date) * rng.random()
            order.modify_date = _millis(later)
            order.internal_notes = "Customer asked about delivery window"
        data.orders.append(order)
    return data, gen
