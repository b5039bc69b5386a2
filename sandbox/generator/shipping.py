"""Labels, returns and fulfillments of generated orders, and the shipping history of an
order that is already shipped."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sandbox.generator.vocabulary import (
    _DOMESTIC_SERVICES,
    _INTL_SERVICES,
    _millis,
    _randrange,
    money,
)
from sandbox.shipstation.dates import pacific_date
from sandbox.shipstation.models import ZERO, Address, Fulfillment, Order, OrderItem, Shipment


class ShippingHistory:
    """Label and fulfillment part of :class:`~sandbox.generator.merchant.MerchantGenerator`
    (same RNG and id counters)."""

    def new_label(
        self,
        order: Order,
        *,
        at: datetime,
        items: tuple[tuple[OrderItem, int], ...] | None = None,
        is_return: bool = False,
        shipment_cost: Decimal | None = None,
        insurance_cost: Decimal | None = None,
        carrier_code: str | None = None,
        service_code: str | None = None,
    ) -> Shipment:
        rng = self.rng
        if items is None:
            items = tuple((i, i.quantity) for i in order.items if not i.adjustment)
        weight = sum((i.weight_oz * q for i, q in items if i.weight_oz), ZERO) or Decimal("8")
        international = (order.ship_to.country or "US") != "US"
        services = _INTL_SERVICES if international else _DOMESTIC_SERVICES
        carrier, service, package, base, per_lb = services[int(rng.random() * len(services))]
        if carrier_code is not None:
            carrier = carrier_code
        if service_code is not None:
            service = service_code
        if shipment_cost is None:
            pounds = (weight / 16).to_integral_value()
            shipment_cost = money(Decimal(base) + Decimal(per_lb) * pounds)
        insured = (
            insurance_cost
            if insurance_cost is not None
            else (
                money(Decimal("1.05") + Decimal(_randrange(rng, 0, 250)) / 100)
                if rng.random() < 0.05
                else ZERO
            )
        )
        self._next_shipment_id += _randrange(rng, 1, 5)
        sid = self._next_shipment_id
        if carrier.startswith("ups"):
            tracking = f"1Z{rng.getrandbits(40):010X}{sid % 10**6:06d}"
        elif carrier == "fedex":
            tracking = f"{7700 + sid % 100:04d}{sid % 10**8:08d}"
        elif carrier.startswith("dhl"):
            tracking = f"{sid % 10**10:010d}"
        else:
            tracking = f"9400{_randrange(rng, 10**9, 10**10)}{sid:09d}"[:22]
        batch = None
        if rng.random() < 0.3:
            self._next_batch += 1
            batch = str(self._next_batch)
        ship_to = order.ship_to
        if is_return:
            # A return label travels from the buyer back to the merchant's warehouse.
            ship_to = Address(
                "Northwind Returns",
                "Northwind Goods LLC",
                "500 Warehouse Way",
                None,
                None,
                "Austin",
                "TX",
                "78744",
                "US",
                "512-555-0100",
                False,
                "Address validated successfully",
            )
        return Shipment(
            shipment_id=sid,
            order_id=order.order_id,
            order_key=order.order_key,
            order_number=order.order_number,
            store_id=order.store_id,
            user_id=self.user_ids[int(rng.random() * len(self.user_ids))],
            customer_email=order.customer_email,
            create_date=at,
            ship_date=pacific_date(at),
            shipment_cost=shipment_cost,
            insurance_cost=insured,
            tracking_number=tracking,
            is_return_label=is_return,
            batch_number=batch,
            carrier_code=carrier,
            service_code=service,
            package_code=package,
            confirmation="delivery" if rng.random() < 0.2 else None,
            warehouse_id=self.warehouse_id,
            ship_to=ship_to,
            weight_oz=weight,
            dimensions=order.dimensions,
            insured_value=order.lines_total if insured > ZERO else ZERO,
            items=items,
            marketplace_notified=not is_return,
        )

    def new_fulfillment(self, order: Order, *, at: datetime, fba: bool = False) -> Fulfillment:
        rng = self.rng
        self._next_fulfillment_id += _randrange(rng, 1, 4)
        if fba:
            provider, service, carrier = "amazon_fba", "standard", "amazon"
            fee = money(Decimal("3.22") + Decimal(_randrange(rng, 0, 300)) / 100)
        elif rng.random() < 0.3:
            provider, service, carrier = "shipbob", "shipbob_standard", "usps"
            fee = money(Decimal("2.00") + Decimal(_randrange(rng, 0, 250)) / 100)
        else:
            provider = service = None
            carrier = "usps" if rng.random() < 0.6 else "other"
            fee = ZERO
        tracking = f"92{_randrange(rng, 10**19, 10**20)}" if rng.random() < 0.8 else None
        return Fulfillment(
            fulfillment_id=self._next_fulfillment_id,
            order_id=order.order_id,
            order_number=order.order_number,
            store_id=order.store_id,
            user_id=None if fba else self.user_ids[0],
            customer_email=order.customer_email,
            tracking_number=tracking,
            create_date=at,
            ship_date=pacific_date(at),
            carrier_code=carrier,
            fulfillment_provider_code=provider,
            fulfillment_service_code=service,
            fulfillment_fee=fee,
            ship_to=order.ship_to,
            seller_fill_provider_id=None if provider != "shipbob" else 4012,
            seller_fill_provider_name=None if provider != "shipbob" else "ShipBob",
            delivery_date=at + timedelta(days=3) if at + timedelta(days=3) < self.now else None,
        )

    def ship_order_history(
        self, order: Order, now: datetime
    ) -> tuple[list[Shipment], list[Fulfillment]]:
        """Labels (or fulfillments) of an order generated as shipped, with their dates."""
        rng = self.rng
        latest = now - timedelta(seconds=30)
        if order.externally_fulfilled:
            at = min(order.create_date + timedelta(hours=rng.uniform(2, 30)), latest)
            fulfillment = self.new_fulfillment(order, at=max(at, order.create_date), fba=True)
            order.ship_date = fulfillment.ship_date
            order.modify_date = max(order.modify_date, fulfillment.create_date)
            return [], [fulfillment]
        if rng.random() < 0.11:
            at = min(order.create_date + timedelta(hours=rng.uniform(1, 48)), latest)
            fulfillment = self.new_fulfillment(order, at=max(at, order.create_date))
            order.ship_date = fulfillment.ship_date
            order.carrier_code = fulfillment.carrier_code
            order.modify_date = max(order.modify_date, fulfillment.create_date)
            return [], [fulfillment]

        def when(after: datetime, lo_hours: float, hi_hours: float) -> datetime:
            moment = after + timedelta(hours=rng.uniform(lo_hours, hi_hours))
            return _millis(max(after, min(moment, latest)))

        labels: list[Shipment] = []
        at = when(order.create_date, 0.5, 72)
        r = rng.random()
        physical = [i for i in order.items if not i.adjustment]
        if r < 0.05:
            voided = self.new_label(order, at=at)
            voided.voided = True
            voided.void_date = when(at, 0.2, 5)
            labels.append(voided)
            labels.append(self.new_label(order, at=when(voided.void_date, 0.05, 2)))
        elif r < 0.11 and (len(physical) > 1 or physical[0].quantity > 1):
            if len(physical) > 1:
                cut = max(1, len(physical) // 2)
                first = tuple((i, i.quantity) for i in physical[:cut])
                second = tuple((i, i.quantity) for i in physical[cut:])
            else:
                line = physical[0]
                first, second = ((line, 1),), ((line, line.quantity - 1),)
            labels.append(self.new_label(order, at=at, items=first))
            labels.append(self.new_label(order, at=when(at, 0, 30), items=second))
        else:
            labels.append(self.new_label(order, at=at))
        if rng.random() < 0.03:
            back = order.create_date + timedelta(days=rng.uniform(3, 20))
            if back < latest:
                labels.append(self.new_label(order, at=_millis(back), is_return=True))
        self.apply_labels_to_order(order, labels)
        return labels, []

    @staticmethod
    def apply_labels_to_order(order: Order, labels: list[Shipment]) -> None:
        outbound = [s for s in labels if not s.voided and not s.is_return_label]
        if outbound:
            first = min(outbound, key=lambda s: s.create_date)
            order.ship_date = first.ship_date
            order.carrier_code = first.carrier_code
            order.service_code = first.service_code
            order.package_code = first.package_code
            order.confirmation = first.confirmation
            order.user_id = first.user_id
            if first.insurance_cost > ZERO:
                order.insure_shipment = True
                order.insured_value = first.insured_value
        moments = [s.create_date for s in labels] + [s.void_date for s in labels if s.void_date]
        order.modify_date = max([order.modify_date, *moments])
