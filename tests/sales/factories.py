"""Orders, lines and label costs for the Sales-tab tests, built directly (the import has its
own tests): ``make_order`` for a few hand-made rows, ``bulk_orders`` for thousands."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from connections.models import SourceStore, StoreConnection
from sales.models import LabelStatus, Order, OrderLine, ShippingCost
from unify.tenancy.models import Organization

_seq = itertools.count(1)
BASE_DATE = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)


def make_connection(organization: Organization, name: str = "ShipStation") -> StoreConnection:
    return StoreConnection.all_orgs.create(
        organization=organization, name=name, credentials_hint="abcd"
    )


def make_store(
    connection: StoreConnection, name: str = "Shop", external_id: int | None = None
) -> SourceStore:
    return SourceStore.all_orgs.create(
        organization_id=connection.organization_id,
        connection=connection,
        external_id=external_id if external_id is not None else 70000 + next(_seq),
        name=name,
        marketplace_name="Shopify",
    )


def order_values(organization: Organization, **overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    total = Decimal(overrides.pop("order_total", Decimal("50.00")))
    shipping = Decimal(overrides.pop("shipping_charged", Decimal("5.00")))
    values: dict[str, Any] = {
        "organization": organization,
        "external_id": str(900000 + n),
        "order_key": f"key-{n}",
        "number": f"N{n:06d}",
        "status": "shipped",
        "order_date": BASE_DATE - timedelta(hours=n),
        "customer_name": f"Customer {n}",
        "customer_email": f"customer{n}@example.com",
        "currency": "USD",
        "lines_subtotal": total - shipping,
        "shipping_charged": shipping,
        "order_total": total,
        "amount_paid": total,
        "items_count": 1,
    }
    values.update(overrides)
    store = values.get("source_store")
    if store is not None:
        values.setdefault("connection", store.connection)
        values.setdefault("store_name", store.name)
    return values


def make_order(
    organization: Organization, *, lines: list[dict] | None = None, **overrides
) -> Order:
    order = Order.all_orgs.create(**order_values(organization, **overrides))
    for position, spec in enumerate(lines or [], start=1):
        OrderLine.all_orgs.create(
            organization=organization,
            order=order,
            position=position,
            sku=spec.get("sku", f"SKU-{position}"),
            name=spec.get("name", "Product"),
            quantity=Decimal(spec.get("quantity", "1")),
            unit_price=Decimal(spec.get("unit_price", "10.00")),
            tax=Decimal(spec.get("tax", "0.00")),
            is_discount=spec.get("is_discount", False),
            is_adjustment=spec.get("is_adjustment", False),
        )
    return order


def add_label(order: Order, *, cost: str = "4.10", **fields: Any) -> ShippingCost:
    label = ShippingCost.all_orgs.create(
        organization_id=order.organization_id,
        connection=order.connection,
        external_id=str(500000 + next(_seq)),
        order=order,
        order_external_id=order.external_id,
        order_number=order.number,
        carrier=fields.pop("carrier", "usps"),
        service=fields.pop("service", "usps_priority_mail"),
        tracking_number=fields.pop("tracking_number", f"9400{next(_seq):012d}"),
        cost=Decimal(cost),
        **fields,
    )
    Order.all_orgs.filter(pk=order.pk).update(
        label_cost_total=Decimal(cost), label_status=LabelStatus.HAS_LABEL
    )
    return label


def bulk_orders(
    organization: Organization, count: int, *, batch_size: int = 5000, **overrides: Any
) -> None:
    """``count`` orders in few INSERTs (no lines): for pagination, export and query-count tests.
    A callable override is called with the row's index."""
    batch: list[Order] = []
    for i in range(count):
        values = {k: (v(i) if callable(v) else v) for k, v in overrides.items()}
        batch.append(Order(**order_values(organization, **values)))
        if len(batch) >= batch_size:
            Order.all_orgs.bulk_create(batch)
            batch = []
    if batch:
        Order.all_orgs.bulk_create(batch)


def sql_orders(organization: Organization, count: int, *, prefix: str = "S") -> None:
    """``count`` orders in one INSERT .. SELECT generate_series (PostgreSQL): seconds for
    100,000 rows. Amounts vary with the row number so sums are not trivially round."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO sales_order (
                created_at, updated_at, organization_id, source, store_name, external_id,
                order_key, number, status, order_date, customer_name, customer_email, bill_to,
                ship_to, currency, lines_subtotal, discount_total, tax_total, shipping_charged,
                order_total, amount_paid, reconciliation_difference, label_cost_total,
                return_label_cost_total, label_status, items_count, is_cancelled,
                externally_fulfilled, changed_after_posting, is_ignored, posting_status, raw,
                raw_hash, content_hash, lines_hash)
            SELECT now(), now(), %(org)s, 'shipstation', 'Shop', %(prefix)s || g, 'k' || g,
                %(prefix)s || lpad(g::text, 7, '0'), 'shipped',
                %(base)s::timestamptz - (g || ' minutes')::interval, 'Customer ' || g,
                'c' || g || '@example.com', '{}', '{}', 'USD',
                (g %% 997) + 0.37 - ((g %% 13) + 0.05), 0, 0, (g %% 13) + 0.05,
                (g %% 997) + 0.37, (g %% 997) + 0.37, 0, (g %% 11) + 0.10, 0, 'has_label', 1,
                false, false, false, false, 'not_posted', '{}', '', '', ''
            FROM generate_series(1, %(count)s) AS g
            """,
            {"org": organization.pk, "prefix": prefix, "base": BASE_DATE, "count": count},
        )
