"""Factories for orders, label costs and ledger connections (organization passed in)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import factory

from accounting.models import LedgerConnection, PostingSettings
from sales.models import Order, OrderLine, ShippingCost


class OrgOwnedFactory(factory.django.DjangoModelFactory):
    """Creates through the unscoped manager: tests set the organization explicitly."""

    class Meta:
        abstract = True

    @classmethod
    def _get_manager(cls, model_class):
        return model_class.all_orgs


class OrderFactory(OrgOwnedFactory):
    class Meta:
        model = Order

    external_id = factory.Sequence(lambda n: str(900000 + n))
    number = factory.Sequence(lambda n: str(1000 + n))
    order_key = factory.LazyAttribute(lambda o: f"key-{o.external_id}")
    status = "shipped"
    store_name = "Web Store"
    order_date = factory.LazyFunction(lambda: datetime(2026, 5, 4, 15, 30, tzinfo=UTC))
    payment_date = factory.LazyAttribute(lambda o: o.order_date)
    customer_name = "Jane Doe"
    customer_email = "jane@example.com"
    currency = "USD"


class OrderLineFactory(OrgOwnedFactory):
    class Meta:
        model = OrderLine

    organization = factory.LazyAttribute(lambda o: o.order.organization)
    position = factory.Sequence(lambda n: n + 1)
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    name = factory.LazyAttribute(lambda o: f"Product {o.sku}")
    quantity = Decimal("1")
    unit_price = Decimal("10.00")


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


class ShippingCostFactory(OrgOwnedFactory):
    class Meta:
        model = ShippingCost

    external_id = factory.Sequence(lambda n: str(700000 + n))
    carrier = "stamps_com"
    service = "usps_priority_mail"
    tracking_number = factory.Sequence(lambda n: f"9400{n:018d}")
    cost = Decimal("7.45")
    insurance = Decimal("0.00")
    create_date = factory.LazyFunction(lambda: datetime(2026, 5, 4, 18, 0, tzinfo=UTC))


class LedgerConnectionFactory(OrgOwnedFactory):
    class Meta:
        model = LedgerConnection

    provider = "qbo"
    company_id = factory.Sequence(lambda n: str(9130350000000 + n))
    company_name = "Sandbox Company"
    tokens = factory.LazyFunction(lambda: {"access_token": "a-token", "refresh_token": "r-token"})


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
