"""Webhooks the ShipStation stand-in sends, and the Python handle tests use: accounts,
orders, labels, subscriptions."""

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sandbox.framework import ControlError, json_bytes, json_loads, paused_gc
from sandbox.generator import generate_merchant
from sandbox.shipstation.account import Account, now_millis
from sandbox.shipstation.models import WEBHOOK_EVENTS
from sandbox.shipstation.params import _parse_at, _parse_day


class ShipStationHandle:
    """Handle part of :class:`~sandbox.shipstation.app.ShipStationSandbox` (the control API
    calls it too)."""

    # -- webhooks out -------------------------------------------------------------------------

    def _notify(self, account: Account, event: str, store_id: int, ids: list[int]) -> None:
        """Register a batch for new records and notify its subscribers, as ShipStation does:
        ORDER_NOTIFY for orders imported from a store (``/orders?storeID=..&importBatch=
        <guid>``), SHIP_NOTIFY for labels bought (``/shipments?batchId=<int>&
        includeShipmentItems=False``). Edits, merges, splits and voids send nothing."""
        kind = "orders" if event == "ORDER_NOTIFY" else "shipments"
        batch = account.new_batch(kind, ids)
        targets = [
            w
            for w in account.webhooks.values()
            if w.event == event and (w.store_id is None or w.store_id == store_id)
        ]
        if not targets:
            return
        if kind == "orders":
            resource_url = f"{self.public_base_url}/orders?storeID={store_id}&importBatch={batch}"
        else:
            resource_url = (
                f"{self.public_base_url}/shipments?batchId={batch}&includeShipmentItems=False"
            )
        body = json_bytes({"resource_url": resource_url, "resource_type": event})
        for hook in targets:
            self.webhooks.post(
                hook.target_url, body, account=account.key, webhook_id=hook.webhook_id, event=event
            )

    def flush_webhooks(self, timeout: float = 10.0) -> bool:
        """Wait until every queued webhook delivery was attempted."""
        return self.webhooks.flush(timeout)

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        return self.events("webhook")

    # -- Python handle ------------------------------------------------------------------------

    def add_account(
        self,
        key: str,
        secret: str,
        *,
        seed: int = 0,
        orders: int = 0,
        days: int = 45,
        stores: int = 5,
        now: datetime | None = None,
        realistic: bool = False,
    ) -> Account:
        """Create an account (key pair) with generated data; replaces one with the same key.
        ``realistic``: merges, splits, quick-ship labels, ... at real rates
        (``sandbox.shipstation.realistic``; ``make run``'s demo account has them)."""
        with paused_gc():
            data, generator = generate_merchant(
                seed=seed, orders=orders, days=days, stores=stores, now=now
            )
            account = Account(
                key=key,
                secret=secret,
                data=data,
                generator=generator,
                orders_requested=orders,
                days=days,
            )
            if realistic:
                from sandbox.shipstation.realistic import apply_realism

                account.realism = apply_realism(account, seed=seed)
        with self.lock:
            self.accounts[key] = account
        return account

    def account(self, key: str) -> Account:
        try:
            return self.accounts[key]
        except KeyError:
            raise ControlError(f"no account with key {key!r}", 404) from None

    def remove_account(self, key: str) -> None:
        with self.lock:
            self.account(key)
            del self.accounts[key]

    def expire_account(self, key: str, expired: bool = True) -> None:
        """Make the key pair answer 401 (ShipStation keys expire after 3/6/12 months)."""
        with self.lock:
            self.account(key).expired = expired

    def account_meta(self, key: str) -> dict[str, Any]:
        with self.lock:
            return self.account(key).meta()

    def get_order(self, key: str, order_id: int) -> dict[str, Any]:
        with self.lock:
            account = self.account(key)
            if order_id not in account.orders.records:
                raise ControlError(f"order {order_id} not found", 404)
            return json_loads(account.order_bytes(order_id))

    def get_shipment(self, key: str, shipment_id: int) -> dict[str, Any]:
        with self.lock:
            account = self.account(key)
            if shipment_id not in account.shipments.records:
                raise ControlError(f"shipment {shipment_id} not found", 404)
            return json_loads(account.shipment_bytes(shipment_id, True))

    def add_order(
        self,
        key: str,
        *,
        store_id: int | None = None,
        status: str = "awaiting_shipment",
        items: list[Mapping[str, Any]] | None = None,
        shipping_amount: Decimal | str | None = None,
        amount_paid: Decimal | str | None = None,
        customer_name: str | None = None,
        order_number: str | None = None,
        order_date: datetime | None = None,
        at: datetime | None = None,
        order_total: Decimal | str | None = None,
    ) -> dict[str, Any]:
        """A new order created "now" (``at``; default the real clock) and ORDER_NOTIFY.

        ``items``: wire-style dicts (``sku``, ``name``, ``quantity``, ``unitPrice``,
        ``taxAmount``, ``shippingAmount``, ``adjustment``, ``lineItemKey``); default:
        generated lines. ``amountPaid`` defaults to the order total. ``order_total`` with
        ``items=[]``: an order that lists no items but has that total (ShipStation has them).
        """
        moment = _parse_at(at) or now_millis()
        with self.lock:
            account = self.account(key)
            order = account.add_order(
                at=moment,
                store_id=store_id,
                status=status,
                order_date=_parse_at(order_date),
                items=items,
                shipping_amount=None if shipping_amount is None else Decimal(shipping_amount),
                amount_paid=None if amount_paid is None else Decimal(amount_paid),
                customer_name=customer_name,
                order_number=order_number,
                order_total=None if order_total is None else Decimal(order_total),
            )
            self._notify(account, "ORDER_NOTIFY", order.store_id, [order.order_id])
            return json_loads(account.order_bytes(order.order_id))

    def edit_order(
        self, key: str, order_id: int, *, at: datetime | None = None, **changes: Any
    ) -> dict[str, Any]:
        """Change wire fields (``orderStatus``, ``internalNotes``, ``amountPaid``, ``shipTo``,
        ...) as a ShipStation user would; bumps ``modifyDate`` to ``at`` (default now). Sends
        no webhook (ShipStation has no "order modified" event)."""
        moment = _parse_at(at) or now_millis()
        with self.lock:
            account = self.account(key)
            account.edit_order(order_id, changes, at=moment)
            # No webhook: ORDER_NOTIFY is for new orders only; polling finds edits.
            return json_loads(account.order_bytes(order_id))

    def add_label(
        self,
        key: str,
        order_id: int,
        *,
        shipment_cost: Decimal | str | None = None,
        insurance_cost: Decimal | str | None = None,
        carrier_code: str | None = None,
        service_code: str | None = None,
        is_return: bool = False,
        at: datetime | None = None,
        bill_to_party: str | None = None,
        ship_date: date | str | None = None,
    ) -> dict[str, Any]:
        """Buy a label for an order now: the order becomes shipped; SHIP_NOTIFY fires.
        ``bill_to_party``: "recipient", "third_party", ... (the carrier bills them);
        ``ship_date``: the date printed on the label, when not the day it is bought."""
        moment = _parse_at(at) or now_millis()
        with self.lock:
            account = self.account(key)
            label = account.add_label(
                order_id,
                at=moment,
                shipment_cost=None if shipment_cost is None else Decimal(shipment_cost),
                insurance_cost=None if insurance_cost is None else Decimal(insurance_cost),
                carrier_code=carrier_code,
                service_code=service_code,
                is_return=is_return,
                bill_to_party=bill_to_party,
                ship_date=_parse_day(ship_date),
            )
            self._notify(account, "SHIP_NOTIFY", label.store_id, [label.shipment_id])
            return json_loads(account.shipment_bytes(label.shipment_id, True))

    def void_label(
        self, key: str, shipment_id: int, *, at: datetime | None = None
    ) -> dict[str, Any]:
        """Void a label now (its cost is refunded). No webhook: SHIP_NOTIFY is for labels
        bought; polling by ``voidDate`` finds voids."""
        moment = _parse_at(at) or now_millis()
        with self.lock:
            account = self.account(key)
            account.void_label(shipment_id, at=moment)
            return json_loads(account.shipment_bytes(shipment_id, True))

    def subscribe_webhook(
        self,
        key: str,
        target_url: str,
        event: str = "ORDER_NOTIFY",
        *,
        store_id: int | None = None,
        friendly_name: str | None = None,
    ) -> int:
        if event not in WEBHOOK_EVENTS:
            raise ControlError(f"event must be one of {', '.join(WEBHOOK_EVENTS)}")
        with self.lock:
            hook = self._subscribe(self.account(key), target_url, event, store_id, friendly_name)
            return hook.webhook_id
