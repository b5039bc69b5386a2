"""The ShipStation API v1 endpoints of the stand-in: stores, tags, orders, shipments,
fulfillments and webhook subscriptions."""

from collections.abc import Callable
from typing import Any

from werkzeug.exceptions import Unauthorized
from werkzeug.wrappers import Request, Response

from sandbox.framework import JsonListPage, JsonPayload, RequestContext, json_loads
from sandbox.shipstation import wire
from sandbox.shipstation.account import Account
from sandbox.shipstation.catalog import store_body
from sandbox.shipstation.models import ORDER_STATUSES, WEBHOOK_EVENTS, Webhook
from sandbox.shipstation.params import (
    InvalidParameter,
    _bool,
    _int,
    _page_envelope,
    _paging,
    _params,
    _ranges,
    _sorting,
)


class ApiEndpoints:
    """API part of :class:`~sandbox.shipstation.app.ShipStationSandbox`."""

    def _account(self, ctx: RequestContext) -> Account:
        assert ctx.account is not None
        account = self.accounts.get(ctx.account)
        if account is None:
            # Removed (or reset) while this request was in flight, e.g. during a slow fault.
            raise Unauthorized()
        return account

    def api_stores(self, request: Request, ctx: RequestContext) -> JsonPayload | Response:
        try:
            params = _params(request)
            show_inactive = _bool(params, "showInactive")
            marketplace = _int(params, "marketplaceId")
        except InvalidParameter as exc:
            return self._invalid(exc)
        with self.lock:
            stores = [
                store_body(s)  # stamps trimmed, as ShipStation writes a store's
                for s in self._account(ctx).stores.values()
                if (show_inactive or s.active)
                and (marketplace is None or s.marketplace_id == marketplace)
            ]
        return JsonPayload(stores)

    def api_tags(self, request: Request, ctx: RequestContext) -> JsonPayload:
        with self.lock:
            return JsonPayload([wire.tag(t) for t in self._account(ctx).tags])

    def api_orders(self, request: Request, ctx: RequestContext) -> JsonListPage | Response:
        try:
            params = _params(request)
            page, page_size = _paging(params)
            ranges = _ranges(params, ("orderDate", "createDate", "modifyDate", "paymentDate"))
            sort_field, descending = _sorting(
                params,
                {"orderdate": "orderDate", "modifydate": "modifyDate", "createdate": "createDate"},
            )
            status = params.get("orderstatus")
            if status is not None and status not in ORDER_STATUSES:
                raise InvalidParameter(
                    "orderStatus", f"orderStatus must be one of {', '.join(ORDER_STATUSES)}."
                )
            store_id = _int(params, "storeId")
        except InvalidParameter as exc:
            return self._invalid(exc)
        # ``orderId`` is no filter of List Orders: ShipStation ignores it, like any parameter
        # it does not know (``GET /orders/{orderId}`` reads one order).
        predicates: list[Callable[[Any], bool]] = []
        if status is not None:
            predicates.append(lambda o: o.status == status)
        if store_id is not None:
            predicates.append(lambda o: o.store_id == store_id)
        if (number := params.get("ordernumber")) is not None:
            prefix = number.lower()
            predicates.append(lambda o: o.order_number.lower().startswith(prefix))
        if (customer := params.get("customername")) is not None:
            needle = customer.lower()
            predicates.append(lambda o: needle in o.names_text())
        if (keyword := params.get("itemkeyword")) is not None:
            word = keyword.lower()
            predicates.append(lambda o: word in o.items_text())
        with self.lock:
            account = self._account(ctx)
            candidates: list[int] | None = None
            if (batch := params.get("importbatch")) is not None:
                # The batch an ORDER_NOTIFY names (its resource_url's ``importBatch``).
                candidates = list(account.order_batches.get(batch, []))
            result = account.orders.query(
                ranges=ranges,
                predicates=predicates,
                sort_field=sort_field,
                descending=descending,
                candidate_ids=candidates,
                offset=(page - 1) * page_size,
                limit=page_size,
            )
            failed = self.poisoned_page(account, result.ids)
            if failed is not None:
                return failed
            return _page_envelope("orders", result, page, page_size, account.order_bytes)

    def api_shipments(self, request: Request, ctx: RequestContext) -> JsonListPage | Response:
        try:
            params = _params(request)
            page, page_size = _paging(params)
            ranges = _ranges(params, ("createDate", "shipDate", "voidDate"))
            sort_field, descending = _sorting(
                params, {"shipdate": "shipDate", "createdate": "createDate"}
            )
            # Without sortBy, by create date (shipstation-node src/types/resources/*.ts).
            sort_field = sort_field or "createDate"
            store_id = _int(params, "storeId")
            order_id = _int(params, "orderId")
            include_items = _bool(params, "includeShipmentItems")
            batch_id = _int(params, "batchId")
        except InvalidParameter as exc:
            return self._invalid(exc)
        predicates: list[Callable[[Any], bool]] = []
        if store_id is not None:
            predicates.append(lambda s: s.store_id == store_id)
        if (number := params.get("ordernumber")) is not None:
            predicates.append(lambda s: s.order_number == number)
        for param, attr in (
            ("carriercode", "carrier_code"),
            ("servicecode", "service_code"),
            ("trackingnumber", "tracking_number"),
        ):
            if (wanted := params.get(param)) is not None:
                predicates.append(lambda s, a=attr, w=wanted: getattr(s, a) == w)
        if (name := params.get("recipientname")) is not None:
            needle = name.lower()
            predicates.append(lambda s: needle in (s.ship_to.name or "").lower())
        if (country := params.get("recipientcountrycode")) is not None:
            code = country.upper()
            predicates.append(lambda s: (s.ship_to.country or "").upper() == code)
        with self.lock:
            account = self._account(ctx)
            candidates: list[int] | None = None
            if order_id is not None:
                candidates = list(account.shipments_by_order.get(order_id, []))
            if batch_id is not None:
                # The batch a SHIP_NOTIFY names (``batchId``); ``importBatch`` is no filter of
                # List Shipments and is ignored, like any parameter ShipStation does not know.
                in_batch = account.shipment_batches.get(str(batch_id), [])
                candidates = [i for i in in_batch if candidates is None or i in candidates]
            result = account.shipments.query(
                ranges=ranges,
                predicates=predicates,
                sort_field=sort_field,
                descending=descending,
                candidate_ids=candidates,
                offset=(page - 1) * page_size,
                limit=page_size,
            )
            return _page_envelope(
                "shipments",
                result,
                page,
                page_size,
                lambda i: account.shipment_bytes(i, include_items),
            )

    def api_fulfillments(self, request: Request, ctx: RequestContext) -> JsonListPage | Response:
        try:
            params = _params(request)
            page, page_size = _paging(params)
            ranges = _ranges(params, ("createDate", "shipDate"))
            sort_field, descending = _sorting(
                params, {"shipdate": "shipDate", "createdate": "createDate"}
            )
            sort_field = sort_field or "createDate"  # without sortBy, by create date
            fulfillment_id = _int(params, "fulfillmentId")
            order_id = _int(params, "orderId")
        except InvalidParameter as exc:
            return self._invalid(exc)
        predicates: list[Callable[[Any], bool]] = []
        if (number := params.get("ordernumber")) is not None:
            predicates.append(lambda f: f.order_number == number)
        if (tracking := params.get("trackingnumber")) is not None:
            predicates.append(lambda f: f.tracking_number == tracking)
        if (name := params.get("recipientname")) is not None:
            needle = name.lower()
            predicates.append(lambda f: needle in (f.ship_to.name or "").lower())
        with self.lock:
            account = self._account(ctx)
            candidates: list[int] | None = None
            if fulfillment_id is not None:
                candidates = [fulfillment_id]
            if order_id is not None:
                by_order = account.fulfillments_by_order.get(order_id, [])
                candidates = [i for i in by_order if candidates is None or i in candidates]
            result = account.fulfillments.query(
                ranges=ranges,
                predicates=predicates,
                sort_field=sort_field,
                descending=descending,
                candidate_ids=candidates,
                offset=(page - 1) * page_size,
                limit=page_size,
            )
            return _page_envelope(
                "fulfillments", result, page, page_size, account.fulfillment_bytes
            )

    def api_webhooks(self, request: Request, ctx: RequestContext) -> JsonPayload:
        with self.lock:
            account = self._account(ctx)
            hooks = [wire.webhook(w, account.seller_id) for w in account.webhooks.values()]
        return JsonPayload({"webhooks": hooks})

    def api_webhook_subscribe(self, request: Request, ctx: RequestContext) -> Any:
        try:
            body = json_loads(request.get_data() or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self._invalid(InvalidParameter("request", "A request body is required."))
        target, event = body.get("target_url"), body.get("event")
        if not isinstance(target, str) or not target:
            return self._invalid(InvalidParameter("target_url", "target_url is required."))
        if event not in WEBHOOK_EVENTS:
            return self._invalid(
                InvalidParameter("event", f"event must be one of {', '.join(WEBHOOK_EVENTS)}.")
            )
        store_id = body.get("store_id")
        with self.lock:
            account = self._account(ctx)
            if store_id is not None and int(store_id) not in account.stores:
                return self._invalid(InvalidParameter("store_id", "Invalid store_id."))
            hook = self._subscribe(
                account,
                target,
                event,
                None if store_id is None else int(store_id),
                body.get("friendly_name"),
            )
        return JsonPayload({"id": hook.webhook_id})

    def api_webhook_delete(self, request: Request, ctx: RequestContext, webhook_id: int) -> Any:
        with self.lock:
            account = self._account(ctx)
            if account.webhooks.pop(webhook_id, None) is None:
                return self.error_response(404, f"Webhook {webhook_id} not found.")
        return Response(b"", status=200)

    def _subscribe(
        self,
        account: Account,
        target_url: str,
        event: str,
        store_id: int | None,
        friendly_name: str | None,
    ) -> Webhook:
        self._next_webhook_id += 1
        hook = Webhook(self._next_webhook_id, target_url, event, store_id, friendly_name)
        account.webhooks[hook.webhook_id] = hook
        return hook
