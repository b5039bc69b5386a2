"""An order into a sale document (sales receipt, or invoice + payment): its customer, items
and tax code, its amounts, and the difference to what the buyer paid."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from accounting.ledgers.base import (
    ZERO,
    AmountLine,
    DocumentKind,
    ItemRef,
    PartyRef,
    PaymentInfo,
    SaleDocument,
    SaleLine,
    customer_claims,
    document_marker,
)
from accounting.models import (
    CustomerStrategy,
    HoldReason,
    SaleDocumentType,
)
from accounting.services import differences
from accounting.services.addresses import postal_address
from accounting.services.documents.common import (
    DocumentBuildError,
    LedgerFacts,
    _checked,
    _require,
    money,
    order_day,
    source_name,
)
from unify.core.money import line_amount
from unify.core.stored_text import gettext as _

if TYPE_CHECKING:
    from accounting.models import PostingSettings
    from sales.models import Order, OrderLine


def _store_or_source_name(order: Order) -> str:
    """Whose sales an order is: its store, else its source's name ("ShipStation customers"
    as before for a ShipStation order without a store name: the name is the customer's
    match key, so another would make merchants a second customer in their ledger)."""
    if order.store_name.strip():
        return order.store_name.strip()
    return source_name(order.source)


def _customer_for(order: Order, posting_settings: PostingSettings, limit: int) -> PartyRef:
    """The order's customer; ``limit``: the ledger's name length."""
    if posting_settings.customer_strategy == CustomerStrategy.PER_STORE:
        store = _store_or_source_name(order)[: limit - 10]
        name = _("%(store)s customers") % {"store": store}
        return PartyRef(display_name=name, match_key=f"customer:store:{store.casefold()}")
    name = " ".join((order.customer_name or "").split())[:limit]
    email = (order.customer_email or "").strip()[:limit]
    if not name and not email and order.store_name:
        # Order numbers repeat across stores: the store keeps two such buyers apart.
        name = _("%(store)s order %(number)s buyer") % {
            "store": order.store_name.strip()[:60],
            "number": order.display_number,
        }
    if not name:
        name = email or _("Order %(number)s buyer") % {"number": order.display_number}
    # One customer per buyer: the email tells buyers apart (two "Jane Doe"s are two people);
    # only a buyer without an email is known by name alone.
    key = f"customer:email:{email.casefold()}" if email else f"customer:name:{name.casefold()}"
    return PartyRef(display_name=name, email=email, match_key=key)


def _item_for(
    line: OrderLine, posting_settings: PostingSettings, refs: Mapping[str, str], limit: int
) -> ItemRef:
    sku = (line.sku or "").strip()
    ps = posting_settings
    if sku and ps.item_match_sku:
        key = f"item:sku:{sku.casefold()}"
        return ItemRef(
            name=sku[:limit],
            sku=sku,
            external_id=refs.get(key, ""),
            create_if_missing=ps.item_create_missing,
            income_account_id=ps.product_income_account_id,
            match_key=key,
        )
    if ps.default_item_id:
        return ItemRef(name=line.name or sku, external_id=ps.default_item_id)
    if ps.item_create_missing:
        name = " ".join((line.name or sku or _("Product")).split())[:limit]
        key = f"item:name:{name.casefold()}"
        return ItemRef(
            name=name,
            external_id=refs.get(key, ""),
            create_if_missing=True,
            income_account_id=ps.product_income_account_id,
            match_key=key,
        )
    raise DocumentBuildError(
        _(
            "The line “%(line)s” has no SKU to match and no default item is set. "
            "Choose a default item or allow creating items in the posting settings."
        )
        % {"line": line.name or "?"}
    )


def _own_item(name: str, account_id: str, key: str, refs: Mapping[str, str]) -> ItemRef:
    """Unify's item for one mapped account (shipping, sales tax, reconciliation). ``key`` is
    what Unify's reference map knows it by; the map forgets it when the mapping changes
    (``accounting.services.mappings``), so the next posting uses the new account's item."""
    return ItemRef(
        name=name,
        external_id=refs.get(key, ""),
        create_if_missing=True,
        income_account_id=account_id,
        match_key=key,
        account_bound=True,
    )


def _tax_code_for(order: Order, posting_settings: PostingSettings) -> str:
    """The order's tax code: a rule for its ship-to state ("US-CA"), else for its country
    ("US"), else its store's code, else the default."""
    ps = posting_settings
    ship_to = order.ship_to or {}
    country = str(ship_to.get("country") or "").strip().upper()
    state = " ".join(str(ship_to.get("state") or "").split()).upper()
    # Keys are "COUNTRY-STATE" or "COUNTRY" ("COUNTRY-" as saved before country-wide rules).
    by_destination = {
        k.strip().upper().rstrip("-"): v for k, v in (ps.tax_code_by_destination or {}).items()
    }
    if country:
        for destination in (f"{country}-{state}" if state else "", country):
            if destination and by_destination.get(destination):
                return by_destination[destination]
    store_key = str(order.source_store_id or "")
    if store_key and (ps.tax_code_by_store or {}).get(store_key):
        return ps.tax_code_by_store[store_key]
    return ps.default_tax_code_id


@dataclass(frozen=True, slots=True)
class SaleAmounts:
    """An order's amounts as the ledger will see them."""

    lines: tuple[tuple[OrderLine, Decimal], ...]
    discounts: tuple[tuple[str, Decimal], ...]
    shipping: Decimal
    tax: Decimal
    paid: Decimal
    # Tax a marketplace collected and remitted (not in ``tax``): :mod:`.differences`.
    marketplace_tax: Decimal = ZERO
    marketplace: str = ""
    coupon: Decimal = ZERO  # an unitemised coupon, also in ``discounts``

    @property
    def computed(self) -> Decimal:
        lines = sum((amount for _line, amount in self.lines), ZERO)
        discounts = sum((amount for _name, amount in self.discounts), ZERO)
        return lines + self.shipping + self.tax - discounts

    @property
    def difference(self) -> Decimal:
        return self.paid - self.computed


def sale_amounts(
    order: Order, lines: Sequence[OrderLine], posting_settings: PostingSettings | None = None
) -> SaleAmounts:
    """The order's amounts; with ``posting_settings``, marketplace tax and an unitemised
    coupon are taken out of the difference (:func:`.differences.settle`)."""
    sold: list[tuple[OrderLine, Decimal]] = []
    discounts: list[tuple[str, Decimal]] = []
    for line in sorted(lines, key=lambda x: x.position):
        amount = line_amount(line.quantity, line.unit_price)
        if line.is_discount or amount < ZERO:
            if amount:
                discounts.append((line.name or _("Discount"), -amount))
        else:
            sold.append((line, amount))
    if not discounts and order.discount_total > ZERO:
        # An order file states a discount total without itemising it.
        discounts.append((_("Discount"), money(order.discount_total)))
    if not lines and order.lines_subtotal > ZERO:
        # The source lists no items for this order but its total says goods were sold: one
        # line on the default item (the import counted them as ``lines_subtotal``).
        from sales.models import OrderLine

        unitemised = OrderLine(
            order=order,
            position=0,
            name=_("Items not listed in %(source)s") % {"source": source_name(order.source)},
            quantity=Decimal(1),
            unit_price=money(order.lines_subtotal),
        )
        sold.append((unitemised, money(order.lines_subtotal)))
    amounts = SaleAmounts(
        lines=tuple(sold),
        discounts=tuple(discounts),
        shipping=money(order.shipping_charged),
        tax=money(order.tax_total),
        paid=money(order.amount_paid),
    )
    if posting_settings is None or not amounts.difference:
        return amounts
    found = differences.settle(
        order,
        posting_settings,
        tax=amounts.tax,
        difference=amounts.difference,
        paid=amounts.paid,
        has_discount=bool(discounts),
    )
    if found.marketplace_tax:
        return replace(
            amounts,
            tax=ZERO,
            marketplace_tax=found.marketplace_tax,
            marketplace=differences.marketplace_label(found),
        )
    if found.coupon:
        coupon = (differences.coupon_description(), found.coupon)
        return replace(amounts, discounts=(*amounts.discounts, coupon), coupon=found.coupon)
    return amounts


def _difference_line(
    difference: Decimal, posting_settings: PostingSettings, *, what: str, total: Decimal
) -> AmountLine | None:
    if not difference:
        return None
    ps = posting_settings
    if ps.reconciliation_enabled and ps.reconciliation_account_id:
        return AmountLine(
            description=_("Reconciliation difference (paid %(paid)s, lines give %(lines)s)")
            % {"paid": total, "lines": total - difference},
            amount=difference,
            account_id=ps.reconciliation_account_id,
        )
    raise DocumentBuildError(
        _(
            "%(what)s: the buyer paid %(paid)s but lines, shipping and tax add up to "
            "%(computed)s (difference %(difference)s). Turn on the reconciliation account in "
            "the posting settings to post the difference, or correct the order."
        )
        % {"what": what, "paid": total, "computed": total - difference, "difference": difference}
    )


def build_sale_document(
    *,
    order: Order,
    lines: Sequence[OrderLine],
    posting_settings: PostingSettings,
    facts: LedgerFacts,
    document_number: str,
    idempotency_key: str,
    source_reference: str,
    refs: Mapping[str, str],
    tz,
    claims: Mapping[str, str] | None = None,
) -> SaleDocument:
    """``claims``: ledger id -> buyer key of Unify's customer map (computed from ``refs`` when
    not given; the engine keeps it up to date across a run)."""
    ps = posting_settings
    amounts = sale_amounts(order, lines, ps)
    what = _("Order %(number)s") % {"number": order.display_number}
    _require(ps.product_income_account_id, _("product income"))
    deposit = _require(ps.deposit_account_id, _("deposit to"))
    tax_code = _tax_code_for(order, ps) if amounts.tax else ""
    sale_lines = tuple(
        SaleLine(
            description=(line.name or line.sku or "")[:4000],
            item=_item_for(line, ps, refs, facts.name_max_length),
            quantity=line.quantity.normalize() if line.quantity else ZERO,
            unit_price=line.unit_price.normalize() if line.unit_price else ZERO,
            amount=amount,
            tax_code_id=tax_code,
        )
        for line, amount in amounts.lines
    )
    # Quantities like 0.3333 with prices that do not land on a cent: send the rounded amount
    # with a unit price that multiplies to it exactly, as ledgers check Amount = Qty x Price.
    sale_lines = tuple(_exact_line(line) for line in sale_lines)
    if amounts.marketplace_tax and differences.nets_on_clearing(ps):
        clearing = _require(ps.marketplace_tax_account_id, _("marketplace tax clearing"))
        sale_lines += differences.clearing_lines(
            amounts.marketplace_tax, amounts.marketplace, clearing, refs
        )
    shipping = None
    if amounts.shipping:
        shipping_account = _require(ps.shipping_income_account_id, _("shipping income"))
        shipping = AmountLine(
            description=_("Shipping"),
            amount=amounts.shipping,
            account_id=shipping_account,
            item=ItemRef(name=_("Shipping"), external_id=ps.shipping_item_id)
            if ps.shipping_item_id
            else _own_item(_("Shipping"), shipping_account, "item:shipping", refs),
        )
    discount_account = ""
    if amounts.discounts:
        discount_account = _require(ps.discount_account_id, _("discounts"))
    discounts = tuple(
        AmountLine(description=name[:4000], amount=amount, account_id=discount_account)
        for name, amount in amounts.discounts
    )
    tax_account = ""
    if amounts.tax and not tax_code:
        tax_account = _require(ps.tax_liability_account_id, _("sales tax liability"))
    kind = (
        DocumentKind.INVOICE_PAYMENT
        if ps.document_type == SaleDocumentType.INVOICE_PAYMENT
        else DocumentKind.SALES_RECEIPT
    )
    # Shipped but not paid: an open invoice (a receivable) and no payment; a sales receipt
    # records money received, so none is posted for 0.00.
    unpaid = amounts.paid == ZERO and amounts.computed > ZERO
    if unpaid and kind == DocumentKind.SALES_RECEIPT:
        raise DocumentBuildError(
            _(
                "%(what)s is not paid (amount paid 0.00 of %(total)s). A sales receipt records "
                "money received, so Unify holds it: post it once %(source)s shows the payment, "
                "or choose “Invoice + payment” in the posting settings to post unpaid orders as "
                "open invoices."
            )
            % {"what": what, "total": amounts.computed, "source": source_name(order.source)},
            hold_reason=HoldReason.UNPAID,
        )
    total = amounts.computed if unpaid else amounts.paid
    difference = (
        None if unpaid else _difference_line(amounts.difference, ps, what=what, total=amounts.paid)
    )
    if difference is not None:
        difference = AmountLine(
            description=difference.description,
            amount=difference.amount,
            account_id=difference.account_id,
            item=_own_item(
                _("Reconciliation difference"),
                difference.account_id,
                "item:reconciliation",
                refs,
            ),
        )
    issued_on = order_day(order, tz)
    customer = _customer_for(order, ps, facts.name_max_length)
    external_id = refs.get(customer.match_key, "")
    customer = PartyRef(
        display_name=customer.display_name,
        email=customer.email,
        match_key=customer.match_key,
        external_id=external_id,
        claims=(claims if claims is not None else customer_claims(refs))
        if customer.email and not external_id
        else {},
    )
    doc = SaleDocument(
        idempotency_key=idempotency_key,
        reference=document_number,
        source_reference=source_reference,
        kind=kind,
        customer=customer,
        issued_on=issued_on,
        currency=order.currency or "USD",
        lines=sale_lines,
        shipping=shipping,
        discounts=discounts,
        tax=amounts.tax,
        tax_code_id=tax_code,
        tax_account_id=tax_account,
        tax_item=_own_item(_("Sales tax collected"), tax_account, "item:sales-tax", refs)
        if tax_account
        else None,
        difference=difference,
        total=total,
        ship_to=postal_address(order.ship_to),
        payment=PaymentInfo(
            deposit_account_id=deposit,
            amount=amounts.paid,
            paid_on=issued_on,
            payment_method_id=ps.payment_method_id,
            reference=order.display_number[: facts.payment_reference_max_length],
        ),
        memo=" ".join(
            part
            for part in (
                document_marker(
                    connection_id=facts.connection_id, source_reference=source_reference
                ),
                _("Order %(number)s") % {"number": order.display_number},
                order.store_name or "",
            )
            if part
        ),
    )
    if not sale_lines and not shipping and not difference and not amounts.tax:
        raise DocumentBuildError(_("%(what)s has nothing to post.") % {"what": what})
    _checked(doc)
    return doc


def _exact_line(line: SaleLine) -> SaleLine:
    if line.quantity and line.quantity * line.unit_price != line.amount:
        # Keep the quantity; the unit price becomes amount / quantity, precise enough that
        # the product rounds to the amount (7 decimals: what the strictest ledger keeps).
        unit = (line.amount / line.quantity).quantize(Decimal("0.0000001"), rounding=ROUND_HALF_UP)
        if money(unit * line.quantity) != line.amount:
            # No exact unit price exists: sell one unit at the amount.
            return SaleLine(
                description=f"{line.description} ({line.quantity} x {line.unit_price})",
                item=line.item,
                quantity=Decimal(1),
                unit_price=line.amount,
                amount=line.amount,
                tax_code_id=line.tax_code_id,
            )
        return SaleLine(
            description=line.description,
            item=line.item,
            quantity=line.quantity,
            unit_price=unit.normalize(),
            amount=line.amount,
            tax_code_id=line.tax_code_id,
        )
    return line
