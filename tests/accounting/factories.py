"""Builders over the factories in ``tests/factories.py``: orders with derived amounts, mapped
posting settings, postings (organization passed in)."""

from __future__ import annotations

from decimal import Decimal

from accounting.models import LedgerConnection, PostingSettings
from sales.models import Order
from tests.factories import LedgerConnectionFactory, OrderFactory, OrderLineFactory


def make_order(organization, *, lines, shipping="0", tax="0", paid=None, **kwargs) -> Order:
    """An order with ``lines`` = [(sku, name, qty, price, is_discount)...]; amounts derived
    the way the import derives them, ``paid`` defaulting to the expected total."""
    from accounting.services.documents import money

    order = OrderFactory(organization=organization, **kwargs)
    subtotal = Decimal("0")
    discounts = Decimal("0")
    for position, (sku, name, qty, price, is_discount) in enumerate(lines, start=1):
        OrderLineFactory(
            order=order,
            position=position,
            sku=sku or "",
            name=name,
            quantity=Decimal(str(qty)),
            unit_price=Decimal(str(price)),
            is_discount=is_discount,
            is_adjustment=is_discount,
        )
        amount = Decimal(str(qty)) * Decimal(str(price))
        if is_discount:
            discounts += -amount
        else:
            subtotal += amount
    order.lines_subtotal = money(subtotal)
    order.discount_total = money(discounts)
    order.shipping_charged = Decimal(shipping)
    order.tax_total = Decimal(tax)
    expected = (
        order.lines_subtotal - order.discount_total + order.shipping_charged + order.tax_total
    )
    order.order_total = expected
    order.amount_paid = Decimal(paid) if paid is not None else expected
    order.reconciliation_difference = order.amount_paid - expected
    order.items_count = len(lines)
    order.save()
    return order


def mapped_settings(connection: LedgerConnection, **overrides) -> PostingSettings:
    """Posting settings with every account mapped to the QBO stand-in's seeded accounts."""
    values = {
        "product_income_account_id": "79",  # Sales of Product Income
        "shipping_income_account_id": "83",  # Shipping Income
        "discount_account_id": "86",  # Discounts given
        "tax_liability_account_id": "89",  # Sales Tax Payable
        "deposit_account_id": "4",  # Undeposited Funds
        "shipping_expense_account_id": "90",  # Shipping and Postage
        "label_payment_account_id": "35",  # Checking
        "reconciliation_account_id": "92",  # Reconciliation Discrepancies
        "document_number_prefix": "SS-",
    }
    values.update(overrides)
    settings_obj, _ = PostingSettings.all_orgs.update_or_create(
        ledger_connection=connection,
        defaults={"organization": connection.organization, **values},
    )
    return settings_obj


def make_store_connection(organization):
    from connections.models import StoreConnection

    return StoreConnection.all_orgs.create(organization=organization, name="ShipStation")


def make_posting(organization, *, status="failed", connection=None, **kwargs):
    """A sale posting of a new order, in a batch (isolation and UI tests)."""
    from accounting.models import Posting, PostingBatch

    connection = connection or LedgerConnectionFactory(organization=organization)
    order = make_order(organization, lines=[("SKU-1", "Thing", 1, "10.00", False)])
    batch = PostingBatch.all_orgs.create(
        organization=organization, ledger_connection=connection, origin="selected", total=1
    )
    return Posting.all_orgs.create(
        organization=organization,
        ledger_connection=connection,
        kind="sale",
        source_reference=f"order:{order.pk}",
        order=order,
        batch=batch,
        status=status,
        idempotency_key=f"unify-test-{order.pk}",
        document_number=f"SS-{order.number}",
        **{"error": "QuickBooks refused it." if status == "failed" else "", **kwargs},
    )
