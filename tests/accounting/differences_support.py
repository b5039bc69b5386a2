"""What an independent read-back expects of an order's difference (issue 17, items 6 and 7),
from the ShipStation stand-in's own account of why an order's payment differs
(``mismatch_reasons`` of its control API) rather than from Unify's code."""

from __future__ import annotations

# The stand-in's marketplaces that collect and remit sales tax (``sandbox/generator.py``).
COLLECTING_MARKETPLACES = {"Amazon", "eBay", "Etsy"}


def mismatch_reasons(ss, key: str) -> dict[str, str]:
    """ShipStation order id (text) -> why its payment differs (coupon, marketplace_tax...)."""
    return dict(ss.account_meta(key)["mismatch_reasons"])


def reconciliation_expected(order, reason: str) -> bool:
    """Whether the order's sale carries a reconciliation line: only a difference without a
    proper home does. A coupon goes to the discount account; tax a collecting marketplace
    remitted is left out (with it, an FBA order's unpaid shipping stays a difference)."""
    if not order.reconciliation_difference:
        return False
    market = order.source_store.marketplace_name if order.source_store_id else ""
    collects = market in COLLECTING_MARKETPLACES
    if reason == "coupon":
        return bool(order.discount_total)  # with a discount line, nothing is guessed
    if collects and reason == "marketplace_tax":
        return False
    if collects and reason == "fba":
        return bool(order.shipping_charged)
    return True
