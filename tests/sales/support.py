"""Helpers shared by the import tests and the reliability tests: a connection to the
ShipStation stand-in, a sync run to its end in the test process, and the expected end state
computed from the stand-in's own data."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from connections.models import ConnectionMode, SourceStore, StoreConnection
from connections.sources.shipstation.client import api_key_fingerprint
from sales.models import Order, OrderLine, ShippingCost, SyncKind, SyncRun
from sales.services import sync_request, sync_run_execute
from unify.tenancy.scoping import org_scope

SS_KEY = "h4-import-key-51ac"
SS_SECRET = "h4-import-secret-e07d"
ZERO = Decimal("0.00")


def make_connection(
    organization,
    *,
    key: str = SS_KEY,
    secret: str = SS_SECRET,
    name: str = "ShipStation",
    mode: str = ConnectionMode.SALES_CHANNEL,
    statuses: Iterable[str] = (),
    start_date: date | None = None,
    stores: Iterable[tuple[int, str, bool]] = (),
    **fields: Any,
) -> StoreConnection:
    with org_scope(organization.pk):
        connection = StoreConnection.objects.create(
            organization=organization,
            name=name,
            mode=mode,
            credentials={"api_key": key, "api_secret": secret},
            credentials_hint=key[-4:],
            credentials_fingerprint=api_key_fingerprint(key),
            order_statuses=list(statuses),
            # A day more than the stand-in's 30 days: the start date counts from midnight in
            # the organization's time zone, which can be later than "now - 30 days".
            import_start_date=start_date or (timezone.now() - timedelta(days=31)).date(),
            **fields,
        )
        for external_id, store_name, included in stores:
            SourceStore.objects.create(
                organization=organization,
                connection=connection,
                external_id=external_id,
                name=store_name,
                included=included,
            )
    return connection


def expected_orders(account, *, statuses: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """What the import must hold for each sandbox order, from the stand-in's records."""
    wanted = set(statuses)
    labels: dict[int, list] = {}
    for shipment in account.shipments.records.values():
        labels.setdefault(shipment.order_id, []).append(shipment)
    result = {}
    for order in account.orders.records.values():
        if wanted and order.status not in wanted:
            continue
        mine = labels.get(order.order_id, [])
        result[str(order.order_id)] = {
            "number": order.order_number,
            "order_key": order.order_key,
            "status": order.status,
            "order_total": order.order_total,
            "amount_paid": order.amount_paid,
            "tax_total": order.tax_amount,
            "shipping_charged": order.shipping_amount,
            "label_cost_total": sum(
                (s.shipment_cost + s.insurance_cost for s in mine
                 if not s.voided and not s.is_return_label), ZERO),
            "return_label_cost_total": sum(
                (s.shipment_cost + s.insurance_cost for s in mine
                 if not s.voided and s.is_return_label), ZERO),
            "lines": tuple(
                (item.sku or "", Decimal(item.quantity), item.unit_price)
                for item in order.items
            ),
        }  # fmt: skip
    return result


def expected_costs(account) -> dict[str, tuple]:
    return {
        str(s.shipment_id): (
            str(s.order_id),
            s.shipment_cost,
            s.insurance_cost,
            s.voided,
            s.is_return_label,
        )
        for s in account.shipments.records.values()
    }


def imported_orders(organization) -> dict[str, dict[str, Any]]:
    with org_scope(organization.pk):
        lines: dict[int, list] = {}
        for line in OrderLine.objects.order_by("order_id", "position"):
            lines.setdefault(line.order_id, []).append(
                (line.sku, line.quantity.normalize(), line.unit_price)
            )
        result = {}
        for order in Order.objects.all():
            assert order.external_id not in result, f"order {order.external_id} twice"
            result[order.external_id] = {
                "number": order.number,
                "order_key": order.order_key,
                "status": order.status,
                "order_total": order.order_total,
                "amount_paid": order.amount_paid,
                "tax_total": order.tax_total,
                "shipping_charged": order.shipping_charged,
                "label_cost_total": order.label_cost_total,
                "return_label_cost_total": order.return_label_cost_total,
                "lines": tuple(lines.get(order.pk, [])),
            }
    return result


def normalized(expected: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Quantities as the database gives them back (Decimal, no trailing zeros)."""
    out = {}
    for ref, row in expected.items():
        row = dict(row)
        row["lines"] = tuple((sku, Decimal(q).normalize(), p) for sku, q, p in row["lines"])
        out[ref] = row
    return out


def imported_costs(organization) -> dict[str, tuple]:
    with org_scope(organization.pk):
        return {
            c.external_id: (c.order_external_id, c.cost, c.insurance, c.voided, c.is_return)
            for c in ShippingCost.objects.all()
        }


def table_snapshot(organization) -> dict[str, Any]:
    """Every imported row's identity and content, for "same end state" comparisons."""
    with org_scope(organization.pk):
        return {
            "orders": sorted(
                Order.objects.values_list(
                    "external_id", "raw_hash", "label_cost_total", "return_label_cost_total",
                    "label_status",
                )
            ),
            "lines": sorted(
                OrderLine.objects.values_list(
                    "order__external_id", "position", "sku", "quantity", "unit_price"
                )
            ),
            "costs": sorted(
                ShippingCost.objects.values_list(
                    "external_id", "order__external_id", "cost", "insurance", "voided"
                )
            ),
        }  # fmt: skip


def last_run(organization, connection) -> SyncRun:
    with org_scope(organization.pk):
        return SyncRun.objects.filter(connection=connection).order_by("-pk").first()


def run_sync(org, connection, *, kind=SyncKind.MANUAL):
    with org_scope(org.pk):
        connection.refresh_from_db()
        run = sync_request(organization=org, connection=connection, kind=kind)
        result = sync_run_execute(run_id=run.pk)
        while result.continue_later:
            result = sync_run_execute(run_id=run.pk)
        run.refresh_from_db()
    return run


def orders_by_ref(org) -> dict[str, Order]:
    with org_scope(org.pk):
        return {o.external_id: o for o in Order.objects.all()}


def api_requests(shipstation, path: str) -> list:
    return [r for r in shipstation.requests_log(SS_KEY) if r.path == path]
