"""Fulfillment fees in the ledger (issue 16, item 8): each fee that is not voided is posted
once as a shipping/fulfillment expense, exactly like a label cost (same mode: an expense
paid from the label-paying account, or a bill), on the posting settings' fulfillment fee
account (else the shipping expense account), from the fulfillment fee vendor (else the
provider that charged it: ShipBob, Amazon FBA, ..., else the source it came from). Every
ledger posts it through the shared expense document path."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db.models import QuerySet

from accounting.ledgers.base import DocumentKind, ExpenseDocument, ExpenseLine, PartyRef
from accounting.models import LabelCostMode, PostingKind, PostingSettings
from accounting.services.documents import (
    DocumentBuildError,
    LedgerFacts,
    _checked,
    _marker,
    _require,
    money,
)
from sales.models import FulfillmentFee, Order
from unify.core.stored_text import gettext as _

_PROVIDERS = {"amazon_fba": "Amazon FBA", "shipbob": "ShipBob"}


def fees_for(organization, order_ids: Iterable[int]) -> QuerySet:
    """The fees of these orders that are owed: not voided, above zero, order not ignored."""
    return FulfillmentFee.objects.filter(
        organization=organization,
        order_id__in=list(order_ids),
        voided=False,
        fee__gt=0,
        order__is_ignored=False,
    )


def fee_vendor_name(fee: FulfillmentFee, ps: PostingSettings) -> str:
    if ps.fulfillment_fee_vendor.strip():
        return ps.fulfillment_fee_vendor.strip()[:100]
    provider = (fee.provider or "").strip()
    # No fulfillment provider named: the source the fee came from (its connection's).
    return _PROVIDERS.get(provider.casefold(), provider) or fee.connection.get_provider_display()


def build_fee_document(
    *,
    fee: FulfillmentFee,
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
    account = ps.fulfillment_fee_account_id or _require(
        ps.shipping_expense_account_id, _("shipping expense")
    )
    kind = DocumentKind.BILL if ps.label_cost_mode == LabelCostMode.BILL else DocumentKind.EXPENSE
    payment_account = ""
    if kind == DocumentKind.EXPENSE:
        payment_account = _require(ps.label_payment_account_id, _("account that pays label costs"))
    vendor_name = fee_vendor_name(fee, ps)
    vendor_key = f"vendor:{vendor_name.casefold()}"
    moment = fee.create_date
    issued_on = moment.astimezone(tz).date() if moment else fee.ship_date
    number = order.display_number if order else fee.order_number
    text = _("Fulfillment fee of %(provider)s for order %(number)s") % {
        "provider": vendor_name,
        "number": number,
    }
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
        lines=(ExpenseLine(account_id=account, amount=money(fee.fee), description=text),),
        payment_account_id=payment_account,
        memo=f"{_marker(facts, source_reference)} {text}".strip(),
    )
    _checked(doc)
    return doc


def fee_specs(fees: Iterable[FulfillmentFee], spec_type) -> list:
    """Posting specs (``engine.PostingSpec``) for these fees: one document each, numbered
    after its order ("<order>-F")."""
    specs = []
    for fee in fees:
        number = fee.order.display_number if fee.order_id else fee.order_number
        specs.append(
            spec_type(
                kind=PostingKind.FULFILLMENT_FEE,
                source_reference=f"fee:{fee.pk}",
                base_number=f"{number or fee.external_id}-F",
                order_id=fee.order_id,
                fulfillment_fee_id=fee.pk,
            )
        )
    return specs
