"""Differences between an order's lines and its payment that have a proper home, so they
never land on the reconciliation account.

- **Marketplace-facilitator tax.** Amazon, eBay, Walmart, Etsy... collect the sales tax from
  the buyer and remit it themselves; the source then reports the order's tax but an amount
  paid without it (FBA orders: without tax and shipping). That tax is not the
  merchant's liability. Per store ("Marketplace collects tax", on by default for the known
  marketplaces, read from the store's marketplace name) the sale is posted without the tax,
  or the tax is netted on a clearing account the merchant chooses (collected, then remitted).
- **Coupons without a discount line.** A source may report an order discount the store did
  not send as a line only apart from the lines (its provider's
  ``order_unitemised_discount``, read from the order's record). When an order has no
  discount line and the difference equals that figure, it is a discount (never when it
  equals the tax exactly: see above).

Both rules are pure: they read the order, its amounts and the posting settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from accounting.ledgers.base import ZERO, ItemRef, SaleLine
from accounting.models import MarketplaceTaxTreatment

if TYPE_CHECKING:
    from accounting.models import PostingSettings
    from sales.models import Order

# Marketplaces that collect and remit US sales tax as marketplace facilitators, matched in
# the source store's marketplace name ("Amazon", "Amazon CA", "eBay", "Walmart",
# "Etsy", "TikTok Shop", "Target Plus", "Newegg").
FACILITATOR_MARKETPLACES = ("amazon", "ebay", "walmart", "etsy", "tiktok", "target", "newegg")

# Cached on a PostingSettings instance for the life of a drain (one query per drain).
_CACHE_ATTR = "_unify_marketplace_tax_stores"


def collects_tax_by_default(marketplace_name: str) -> bool:
    """Whether a store of this marketplace starts with "Marketplace collects tax" on."""
    name = (marketplace_name or "").casefold()
    return any(market in name for market in FACILITATOR_MARKETPLACES)


def store_collects_tax(
    posting_settings: PostingSettings, store_id: int, marketplace_name: str
) -> bool:
    """The store's setting: its saved choice, else the default for its marketplace."""
    saved = (posting_settings.marketplace_tax_by_store or {}).get(str(store_id))
    return collects_tax_by_default(marketplace_name) if saved is None else bool(saved)


def collecting_stores(posting_settings: PostingSettings) -> dict[int, str]:
    """SourceStore id -> marketplace name of every store whose marketplace collects tax."""
    cached = getattr(posting_settings, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    from connections.models import SourceStore

    rows = SourceStore.objects.for_org(posting_settings.organization_id).values_list(
        "pk", "marketplace_name"
    )
    stores = {
        pk: market or ""
        for pk, market in rows
        if store_collects_tax(posting_settings, pk, market or "")
    }
    setattr(posting_settings, _CACHE_ATTR, stores)
    return stores


def forget_stores(posting_settings: PostingSettings) -> None:
    """Drop the cached stores (after the settings or the stores changed)."""
    if hasattr(posting_settings, _CACHE_ATTR):
        delattr(posting_settings, _CACHE_ATTR)


@dataclass(frozen=True, slots=True)
class Settlement:
    """What the rules found in an order's difference (positive amounts)."""

    marketplace_tax: Decimal = ZERO
    marketplace: str = ""
    coupon: Decimal = ZERO


def settle(
    order: Order,
    posting_settings: PostingSettings,
    *,
    tax: Decimal,
    difference: Decimal,
    paid: Decimal,
    has_discount: bool,
) -> Settlement:
    """Which part of ``difference`` (paid minus lines + shipping + tax - discounts) is tax
    the marketplace remitted, and which an unitemised coupon."""
    if not difference:
        return Settlement()
    market = collecting_stores(posting_settings).get(order.source_store_id or 0)
    # The buyer's payment to the merchant excludes exactly the tax; an order the marketplace
    # fulfilled (FBA) may exclude its shipping too, which stays a difference.
    excluded = difference == -tax or (order.externally_fulfilled and difference < -tax)
    if tax > ZERO and market is not None and excluded:
        return Settlement(marketplace_tax=tax, marketplace=market)
    if has_discount or difference >= ZERO or paid <= ZERO or order.externally_fulfilled:
        # Nothing paid is an unpaid order; an order the marketplace fulfilled (FBA) is paid
        # without its shipping and tax: neither is a coupon.
        return Settlement()
    if tax > ZERO and difference == -tax:
        # Paid exactly the tax less: likely marketplace tax with the store's setting off,
        # never guessed to be a coupon.
        return Settlement()
    figure = unitemised_discount(order)
    if figure is not None and figure > ZERO and figure == -difference:
        return Settlement(coupon=figure)
    return Settlement()


def unitemised_discount(order: Order) -> Decimal | None:
    """The order's discount as its source reports it apart from the lines (None when the
    source has no such figure, e.g. an order file, whose discounts are itemised per line)."""
    from connections.sources.registry import UnknownSourceProvider, source_provider

    try:
        provider = source_provider(order.source)
    except UnknownSourceProvider:
        return None
    raw = order.raw if isinstance(order.raw, dict) else {}
    return provider.order_unitemised_discount(raw)


def coupon_description() -> str:
    return _("Coupon or discount not itemised on the order")


def marketplace_label(settlement: Settlement) -> str:
    return settlement.marketplace or _("the marketplace")


def nets_on_clearing(posting_settings: PostingSettings) -> bool:
    """Whether marketplace tax is netted on the clearing account (else left out)."""
    return posting_settings.marketplace_tax_treatment == MarketplaceTaxTreatment.CLEARING


def clearing_lines(
    tax: Decimal, marketplace: str, clearing_account_id: str, refs: Mapping[str, str]
) -> tuple[SaleLine, ...]:
    """The tax the marketplace collected, then remitted, both on the clearing account: the
    account nets to zero and shows what each marketplace handled."""
    key = "item:marketplace-tax"
    item = ItemRef(
        name=_("Marketplace facilitator tax"),
        external_id=refs.get(key, ""),
        create_if_missing=True,
        income_account_id=clearing_account_id,
        match_key=key,
    )
    return tuple(
        SaleLine(
            description=text % {"marketplace": marketplace},
            item=item,
            quantity=Decimal(1),
            unit_price=amount,
            amount=amount,
        )
        for text, amount in (
            (_("Sales tax collected by %(marketplace)s"), tax),
            (_("Sales tax remitted by %(marketplace)s"), -tax),
        )
    )


def describe(amounts, posting_settings: PostingSettings, *, source: str) -> str:
    """What posting does with the order's tax or unitemised coupon, for the order page
    (``amounts``: :func:`accounting.services.documents.sale_amounts` with the settings;
    ``source``: the name of the order's source)."""
    if amounts.marketplace_tax:
        values = {"marketplace": amounts.marketplace, "tax": amounts.marketplace_tax}
        if nets_on_clearing(posting_settings):
            return (
                _(
                    "%(marketplace)s collected and remitted the tax of %(tax)s: the sale is "
                    "posted without sales tax liability, the tax netted on the marketplace tax "
                    "clearing account."
                )
                % values
            )
        return (
            _(
                "%(marketplace)s collected and remitted the tax of %(tax)s: the sale is posted "
                "without it (no sales tax liability)."
            )
            % values
        )
    if amounts.coupon:
        return _(
            "The difference of %(coupon)s equals the order's discount in %(source)s (order "
            "total less amount paid) and there is no discount line: it is posted to the "
            "discount account as a coupon."
        ) % {"coupon": amounts.coupon, "source": source}
    return ""
