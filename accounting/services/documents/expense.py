"""A label cost into an expense or a bill (the carrier its vendor)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from accounting.ledgers.base import (
    DocumentKind,
    ExpenseDocument,
    ExpenseLine,
    PartyRef,
)
from accounting.models import (
    LabelCostMode,
    LabelVendorMode,
)
from accounting.services import return_labels
from accounting.services.documents.common import (
    DocumentBuildError,
    LedgerFacts,
    _checked,
    _marker,
    _require,
    money,
)
from accounting.services.labels import label_expense_date
from unify.core.stored_text import gettext as _

if TYPE_CHECKING:
    from accounting.models import PostingSettings
    from sales.models import Order, ShippingCost


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


def carrier_name(code: str, fallback: str = "") -> str:
    """The carrier's name for its code; ``fallback`` (who sold the label) when there is none."""
    code = (code or "").strip()
    return _CARRIERS.get(code.lower(), code.replace("_", " ").title() or fallback)


def label_seller_name(cost: ShippingCost) -> str:
    """The source the label was bought in, by its provider's name (source registry)."""
    return cost.connection.get_provider_display()


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
    seller = label_seller_name(cost)
    vendor_name = (
        carrier_name(cost.carrier, seller)
        if ps.label_vendor_mode == LabelVendorMode.CARRIER
        else seller
    )
    vendor_key = f"vendor:{vendor_name.casefold()}"
    if cost.billed_to_others:
        raise DocumentBuildError(
            _("The carrier bills this label to the recipient or a third party, not to you.")
        )
    issued_on = label_expense_date(cost, tz)
    number = order.display_number if order else cost.order_number
    label = " ".join(
        part
        for part in (carrier_name(cost.carrier, seller), cost.service, cost.tracking_number)
        if part
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
