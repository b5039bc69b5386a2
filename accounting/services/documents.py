"""Orders, label costs and days into ledger-neutral documents, in ``Decimal``, to the cent.

Rules:

- a line's amount is ``quantity x unit price`` rounded half-up to cents (what QBO checks);
- discount lines (and any other negative line) become discount amounts;
- the document's total is what the buyer paid. When the lines, shipping and tax do not add
  up to it, the difference goes to the reconciliation account if the settings allow it, or
  the build fails with a message that names both amounts. Never silently off by a cent.
  Tax a marketplace remitted and a coupon the order did not itemise are not differences
  (:mod:`accounting.services.differences`);
- an order shipped with nothing paid is an open invoice (a receivable, no payment) in
  invoice + payment mode, and is held with the reason in sales-receipt mode (no 0.00 receipt);
- document numbers are the prefix plus the order number, fitted to the ledger's limit
  (:func:`fit_document_number`); uniqueness is the service's job (it keeps a table).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from accounting.ledgers.base import (
    ZERO,
    AmountLine,
    DocumentInvalid,
    DocumentKind,
    ExpenseDocument,
    ExpenseLine,
    ItemRef,
    JournalLine,
    PartyRef,
    PaymentInfo,
    PostingSide,
    SaleDocument,
    SaleLine,
    SummaryDocument,
    customer_claims,
    document_marker,
)
from accounting.models import (
    CustomerStrategy,
    HoldReason,
    LabelCostMode,
    LabelVendorMode,
    SaleDocumentType,
)
from accounting.services import differences, return_labels
from accounting.services.addresses import postal_address
from accounting.services.labels import label_expense_date
from unify.core.exceptions import DomainError
from unify.core.money import line_amount, to_cents
from unify.core.stored_text import gettext as _

if TYPE_CHECKING:
    from accounting.models import PostingSettings
    from sales.models import Order, OrderLine, ShippingCost


class DocumentBuildError(DomainError):
    """The document cannot be built as the settings stand; ``user_message`` says why."""

    def __init__(self, message: str, *, hold_reason: str = "") -> None:
        super().__init__(message, user_message=message)
        self.hold_reason = hold_reason  # accounting.models.HoldReason, or ""


def money(value: Decimal) -> Decimal:
    """Cents by the one rounding rule (:mod:`unify.core.money`)."""
    return to_cents(value)


def idempotency_key(*, connection_id: int, kind: str, source_reference: str, revision: int) -> str:
    """Deterministic and at most 50 characters (QBO ``requestid``'s limit)."""
    digest = hashlib.sha256(
        f"{connection_id}:{kind}:{source_reference}:{revision}".encode()
    ).hexdigest()
    return f"unify-{digest[:40]}"


def fit_document_number(prefix: str, number: str, limit: int, attempt: int = 0) -> str:
    """``prefix + number`` within ``limit`` characters; ``attempt`` > 0 gives the variants
    the service tries when the plain number is already taken (two stores' "#1001").

    A number too long keeps its tail (marketplace numbers differ at the end) and gets a
    short hash of the whole number, so two long numbers with the same tail still differ.
    """
    number = "".join(ch for ch in number.strip() if ch.isprintable()) or "0"
    suffix = f"-{attempt + 1}" if attempt else ""
    plain = f"{prefix}{number}{suffix}"
    if len(plain) <= limit:
        return plain
    tag = hashlib.sha256(number.encode()).hexdigest()[:4].upper()
    room = limit - len(prefix) - len(suffix) - len(tag) - 1
    if room < 1:
        raise DocumentBuildError(
            _("The document number prefix “%(prefix)s” leaves no room for order numbers.")
            % {"prefix": prefix}
        )
    return f"{prefix}{number[-room:]}~{tag}{suffix}"


def _marker(facts: LedgerFacts, source_reference: str) -> str:
    return document_marker(connection_id=facts.connection_id, source_reference=source_reference)


@dataclass(frozen=True, slots=True)
class LedgerFacts:
    """What the builder needs to know about the target ledger."""

    connection_id: int
    doc_number_max_length: int


def _customer_for(order: Order, posting_settings: PostingSettings) -> PartyRef:
    if posting_settings.customer_strategy == CustomerStrategy.PER_STORE:
        store = (order.store_name or "ShipStation").strip()[:90]
        name = _("%(store)s customers") % {"store": store}
        return PartyRef(display_name=name, match_key=f"customer:store:{store.casefold()}")
    name = " ".join((order.customer_name or "").split())[:100]
    email = (order.customer_email or "").strip()[:100]
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
    line: OrderLine, posting_settings: PostingSettings, refs: Mapping[str, str]
) -> ItemRef:
    sku = (line.sku or "").strip()
    ps = posting_settings
    if sku and ps.item_match_sku:
        key = f"item:sku:{sku.casefold()}"
        return ItemRef(
            name=sku[:100],
            sku=sku,
            external_id=refs.get(key, ""),
            create_if_missing=ps.item_create_missing,
            income_account_id=ps.product_income_account_id,
            match_key=key,
        )
    if ps.default_item_id:
        return ItemRef(name=line.name or sku, external_id=ps.default_item_id)
    if ps.item_create_missing:
        name = " ".join((line.name or sku or _("Product")).split())[:100]
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


def order_day(order: Order, tz) -> date:
    """The day an order belongs to: its payment (else order, else creation) date in the
    organization's time zone. Sale documents carry it; daily summaries group by it."""
    when = order.payment_date or order.order_date or order.create_date or order.created_at
    return when.astimezone(tz).date()


def summary_store_key(order: Order) -> str:
    """Which daily summary an order goes to, besides its day: its store."""
    if order.source_store_id:
        return str(order.source_store_id)
    # No store record (an order file, or a store ShipStation no longer lists): the
    # connection and the store name as the order carries it, so two connections' orders
    # never share a journal. ``max_length`` of the key is 64.
    return f"conn:{order.connection_id or ''}:" + (order.store_name or "")[:STORE_NAME_IN_KEY]


STORE_NAME_IN_KEY = 40


def _require(value: str, label: str) -> str:
    if not value:
        raise DocumentBuildError(
            _("Map the “%(account)s” account in the posting settings first.") % {"account": label}
        )
    return value


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
        # ShipStation lists no items for this order but its total says goods were sold: one
        # line on the default item (the import counted them as ``lines_subtotal``).
        from sales.models import OrderLine

        unitemised = OrderLine(
            order=order,
            position=0,
            name=_("Items not listed in ShipStation"),
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
            item=_item_for(line, ps, refs),
            quantity=line.quantity.normalize() if line.quantity else ZERO,
            unit_price=line.unit_price.normalize() if line.unit_price else ZERO,
            amount=amount,
            tax_code_id=tax_code,
        )
        for line, amount in amounts.lines
    )
    # Quantities like 0.3333 with prices that do not land on a cent: send the rounded amount
    # with a unit price that multiplies to it exactly, as QBO wants Amount = Qty x UnitPrice.
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
                "money received, so Unify holds it: post it once ShipStation shows the payment, "
                "or choose “Invoice + payment” in the posting settings to post unpaid orders as "
                "open invoices."
            )
            % {"what": what, "total": amounts.computed},
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
    customer = _customer_for(order, ps)
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
            reference=order.display_number[:21],
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


def _checked(doc) -> None:
    try:
        doc.check()
    except DocumentInvalid as exc:
        raise DocumentBuildError(
            _("This document cannot be posted as it stands: %(problem)s") % {"problem": exc}
        ) from None


def _exact_line(line: SaleLine) -> SaleLine:
    if line.quantity and line.quantity * line.unit_price != line.amount:
        # Keep the quantity; the unit price becomes amount / quantity, precise enough that
        # the product rounds to the amount (QBO keeps up to 7 decimals on unit prices).
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


_CARRIERS = {
    "stamps_com": "USPS",
    "usps": "USPS",
    "endicia": "USPS",
    "ups": "UPS",
    "ups_walleted": "UPS",
    "fedex": "FedEx",
    "fedex_walleted": "FedEx",
    "dhl_express": "DHL Express",
    "dhl_express_worldwide": "DHL Express",
    "dhl_ecommerce": "DHL eCommerce",
    "canada_post": "Canada Post",
    "royal_mail": "Royal Mail",
    "ontrac": "OnTrac",
}


def carrier_name(code: str) -> str:
    code = (code or "").strip()
    return _CARRIERS.get(code.lower(), code.replace("_", " ").title() or "ShipStation")


def build_expense_document(
    *,
    cost: ShippingCost,
    order: Order | None,
    posting_settings: PostingSettings,
    facts: LedgerFacts,
    document_number: str,
    idempotency_key: str,
    source_reference: str,
    refs: Mapping[str, str],
    tz,
) -> ExpenseDocument:
    ps = posting_settings
    if ps.label_cost_mode == LabelCostMode.OFF:
        raise DocumentBuildError(_("Posting label costs is turned off in the posting settings."))
    expense_account = _require(ps.shipping_expense_account_id, _("shipping expense"))
    kind = DocumentKind.BILL if ps.label_cost_mode == LabelCostMode.BILL else DocumentKind.EXPENSE
    payment_account = ""
    if kind == DocumentKind.EXPENSE:
        payment_account = _require(ps.label_payment_account_id, _("account that pays label costs"))
    vendor_name = (
        carrier_name(cost.carrier)
        if ps.label_vendor_mode == LabelVendorMode.CARRIER
        else "ShipStation"
    )
    vendor_key = f"vendor:{vendor_name.casefold()}"
    if cost.billed_to_others:
        raise DocumentBuildError(
            _("The carrier bills this label to the recipient or a third party, not to you.")
        )
    issued_on = label_expense_date(cost, tz)
    number = order.display_number if order else cost.order_number
    label = " ".join(
        part for part in (carrier_name(cost.carrier), cost.service, cost.tracking_number) if part
    )
    if cost.is_return:
        label_text, insurance_text = return_labels.line_texts(label=label, number=number)
    elif cost.linked_to_order or number:
        label_text = _("Shipping label %(label)s for order %(number)s") % {
            "label": label,
            "number": number,
        }
        insurance_text = _("Shipping insurance for order %(number)s") % {"number": number}
    else:
        label_text = _("Shipping label %(label)s (not linked to an order)") % {"label": label}
        insurance_text = _("Shipping insurance (not linked to an order)")
    expense_account = return_labels.expense_account(cost, ps, expense_account)
    lines = [
        ExpenseLine(account_id=expense_account, amount=money(cost.cost), description=label_text)
    ]
    if cost.insurance:
        lines.append(
            ExpenseLine(
                account_id=expense_account,
                amount=money(cost.insurance),
                description=insurance_text,
            )
        )
    doc = ExpenseDocument(
        idempotency_key=idempotency_key,
        reference=document_number,
        source_reference=source_reference,
        kind=kind,
        vendor=PartyRef(
            display_name=vendor_name, match_key=vendor_key, external_id=refs.get(vendor_key, "")
        ),
        issued_on=issued_on,
        currency=(order.currency if order else "") or "USD",
        lines=tuple(line for line in lines if line.amount),
        payment_account_id=payment_account,
        memo=f"{_marker(facts, source_reference)} {label}".strip(),
    )
    _checked(doc)
    return doc


@dataclass(frozen=True, slots=True)
class SummaryTotals:
    paid: Decimal = ZERO
    lines: Decimal = ZERO
    shipping: Decimal = ZERO
    tax: Decimal = ZERO
    discounts: Decimal = ZERO
    difference: Decimal = ZERO
    orders: int = 0
    marketplace_tax: Decimal = ZERO


def summary_totals(
    orders: Iterable[tuple[Order, Sequence[OrderLine]]], posting_settings: PostingSettings
) -> SummaryTotals:
    paid = lines_total = shipping = tax = discounts = difference = marketplace_tax = ZERO
    count = 0
    for order, lines in orders:
        amounts = sale_amounts(order, lines, posting_settings)
        if amounts.difference and not (
            posting_settings.reconciliation_enabled and posting_settings.reconciliation_account_id
        ):
            _difference_line(
                amounts.difference,
                posting_settings,
                what=_("Order %(number)s") % {"number": order.display_number},
                total=amounts.paid,
            )
        paid += amounts.paid
        lines_total += sum((a for _l, a in amounts.lines), ZERO)
        shipping += amounts.shipping
        tax += amounts.tax
        discounts += sum((a for _n, a in amounts.discounts), ZERO)
        difference += amounts.difference
        marketplace_tax += amounts.marketplace_tax
        count += 1
    return SummaryTotals(
        paid, lines_total, shipping, tax, discounts, difference, count, marketplace_tax
    )


def build_summary_document(
    *,
    totals: SummaryTotals,
    day: date,
    store_name: str,
    currency: str,
    posting_settings: PostingSettings,
    facts: LedgerFacts,
    document_number: str,
    idempotency_key: str,
    source_reference: str,
) -> SummaryDocument:
    """Debit what came in (deposit account) and the discounts; credit income, shipping and
    tax; the reconciliation difference goes to whichever side keeps the entry balanced."""
    ps = posting_settings
    entries: list[JournalLine] = []

    def add(
        account_label: str, account: str, amount: Decimal, side: PostingSide, text: str
    ) -> None:
        if not amount:
            return
        account = _require(account, account_label)
        if amount < ZERO:
            side = PostingSide.CREDIT if side == PostingSide.DEBIT else PostingSide.DEBIT
            amount = -amount
        entries.append(JournalLine(account_id=account, side=side, amount=amount, description=text))

    label = _("%(store)s sales of %(day)s") % {"store": store_name, "day": day.isoformat()}
    add(_("deposit to"), ps.deposit_account_id, totals.paid, PostingSide.DEBIT, label)
    add(_("discounts"), ps.discount_account_id, totals.discounts, PostingSide.DEBIT, label)
    add(_("product income"), ps.product_income_account_id, totals.lines, PostingSide.CREDIT, label)
    add(
        _("shipping income"),
        ps.shipping_income_account_id,
        totals.shipping,
        PostingSide.CREDIT,
        label,
    )
    add(
        _("sales tax liability"), ps.tax_liability_account_id, totals.tax, PostingSide.CREDIT, label
    )
    if totals.marketplace_tax and differences.nets_on_clearing(ps):
        for side, text in (
            (PostingSide.CREDIT, _("Sales tax collected by the marketplace")),
            (PostingSide.DEBIT, _("Sales tax remitted by the marketplace")),
        ):
            add(
                _("marketplace tax clearing"),
                ps.marketplace_tax_account_id,
                totals.marketplace_tax,
                side,
                text,
            )
    add(
        _("reconciliation difference"),
        ps.reconciliation_account_id,
        totals.difference,
        PostingSide.CREDIT,
        _("Reconciliation difference"),
    )
    doc = SummaryDocument(
        idempotency_key=idempotency_key,
        reference=document_number,
        source_reference=source_reference,
        issued_on=day,
        currency=currency,
        lines=tuple(entries),
        memo=f"{_marker(facts, source_reference)} {label} ({totals.orders})",
    )
    _checked(doc)
    return doc
