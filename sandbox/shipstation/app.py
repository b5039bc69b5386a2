"""The ShipStation API v1 stand-in: routes, auth, filters, paging, webhooks, control API.

Faithfulness notes (see /work/shared/reference/shipstation-v1.md):

- HTTP Basic, key as user name and secret as password; a missing, wrong or expired pair gets
  a 401 whose body is a short HTML page, not JSON.
- Paths and query parameter names are case-insensitive (ShipStation runs on IIS/ASP.NET,
  and its own webhook URLs say ``storeID``); empty parameters count as absent.
- List envelope ``{"orders": [...], "total", "page", "pages"}``; ``pages`` is
  ``ceil(total / pageSize)`` (0 when nothing matches); a page past the end is an empty list
  with the same total. ``pageSize`` defaults to 100; above 500 (or below 1) is a 400 in
  ASP.NET's model-validation shape ``{"Message": "The request is invalid.", "ModelState":
  {...}}`` (assumed; the real message text is not documented).
- Date filters are Pacific ``yyyy-mm-dd hh:mm:ss`` (or ``yyyy-mm-dd`` = midnight), or ISO 8601
  with ``Z`` or an offset (that exact instant; the docs' samples use ``...T14:15:22Z``), both
  ends inclusive, compared with full precision. ``shipDate`` filters compare calendar days.
- Default order when ``sortBy`` is absent: by id ascending (design; ShipStation does not
  document it). ``sortBy``/``sortDir`` values outside the documented ones are a 400.
- ``orderNumber`` is a case-insensitive prefix match on /orders and an exact match on
  /shipments and /fulfillments; ``customerName``, ``itemKeyword`` and ``recipientName`` are
  case-insensitive substring matches (``itemKeyword`` searches SKU, name and option values).
- Only ``ORDER_NOTIFY`` and ``SHIP_NOTIFY`` webhooks are ever sent; the other documented
  events can be subscribed to but never fire here.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from werkzeug.exceptions import Unauthorized
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.framework import (
    ControlError,
    FaultRule,
    FixedWindowRateLimiter,
    JsonListPage,
    JsonPayload,
    RateLimitDecision,
    RequestContext,
    StandIn,
    WebhookDispatcher,
    control_body,
    json_bytes,
    json_loads,
    json_response,
    paused_gc,
)
from sandbox.generator import generate_merchant
from sandbox.indexing import QueryResult, RangeFilter, time_key
from sandbox.shipstation import wire
from sandbox.shipstation.account import Account, now_millis
from sandbox.shipstation.catalog import CatalogMixin, store_body
from sandbox.shipstation.dates import FilterDateError, parse_filter_datetime
from sandbox.shipstation.models import ORDER_STATUSES, WEBHOOK_EVENTS, Webhook
from sandbox.shipstation.realism import RealismMixin

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100

_UNAUTHORIZED_PAGE = (
    "<html><head><title>401 - Unauthorized</title></head><body>"
    "<h1>401 - Unauthorized: Access is denied due to invalid credentials.</h1>"
    "</body></html>"
)


class InvalidParameter(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def _params(request: Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.args.items() if v.strip() != ""}


def _int(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name.lower())
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidParameter(name, f"The value '{raw}' is not valid for {name}.") from None


def _bool(params: Mapping[str, str], name: str) -> bool:
    raw = params.get(name.lower())
    if raw is None:
        return False
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise InvalidParameter(name, f"The value '{raw}' is not valid for {name}.")


def _paging(params: Mapping[str, str]) -> tuple[int, int]:
    page = _int(params, "page") or 1
    page_size = _int(params, "pageSize")
    page_size = DEFAULT_PAGE_SIZE if page_size is None else page_size
    if page < 1:
        raise InvalidParameter("page", "The field page must be greater than or equal to 1.")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidParameter(
            "pageSize", f"The field pageSize must be between 1 and {MAX_PAGE_SIZE}."
        )
    return page, page_size


def _ranges(params: Mapping[str, str], fields: tuple[str, ...]) -> list[RangeFilter]:
    out = []
    for field in fields:
        bounds: list[int | None] = []
        for suffix in ("Start", "End"):
            name = f"{field}{suffix}"
            raw = params.get(name.lower())
            if raw is None:
                bounds.append(None)
                continue
            try:
                bounds.append(time_key(parse_filter_datetime(raw)))
            except FilterDateError:
                raise InvalidParameter(
                    name, f"The value '{raw}' is not valid for {name}."
                ) from None
        if bounds[0] is not None or bounds[1] is not None:
            out.append(RangeFilter(field, bounds[0], bounds[1]))
    return out


def _sorting(params: Mapping[str, str], allowed: dict[str, str]) -> tuple[str | None, bool]:
    sort_by = params.get("sortby")
    field = None
    if sort_by is not None:
        field = allowed.get(sort_by.lower())
        if field is None:
            choices = ", ".join(sorted(allowed.values()))
            raise InvalidParameter("sortBy", f"sortBy must be one of {choices}.")
    sort_dir = params.get("sortdir", "ASC").upper()
    if sort_dir not in ("ASC", "DESC"):
        raise InvalidParameter("sortDir", "sortDir must be ASC or DESC.")
    return field, sort_dir == "DESC"


def _page_envelope(
    list_key: str, result: QueryResult, page: int, page_size: int, render: Callable[[int], bytes]
) -> JsonListPage:
    return JsonListPage(
        items=[render(i) for i in result.ids],
        list_key=list_key,
        extra={
            "total": result.total,
            "page": page,
            "pages": math.ceil(result.total / page_size),
        },
    )


def _parse_day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _parse_at(value: Any) -> datetime | None:
    """A control API moment: an aware datetime or ISO 8601 text with an offset."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ControlError(f"{value!r}: give an offset (e.g. 2024-03-10T09:30:00Z)")
    return moment.astimezone(UTC)


class ShipStationSandbox(RealismMixin, CatalogMixin, StandIn):
    """ShipStation API v1 stand-in and its handle (see ``sandbox/README.md``)."""

    name = "shipstation"
    rate_limiter_class = FixedWindowRateLimiter

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self._next_webhook_id = 41_000
        super().__init__()
        self.webhooks = WebhookDispatcher(self.event_log)

    # -- framework hooks ------------------------------------------------------------------------

    def reset_state(self) -> None:
        self.accounts.clear()

    def api_path(self, request: Request) -> str:
        return request.path.lower()

    def authenticate(self, request: Request) -> tuple[str | None, Response | None]:
        auth = request.authorization
        key = auth.username if auth is not None and auth.type == "basic" else None
        account = self.accounts.get(key) if key is not None else None
        if (
            auth is None
            or account is None
            or account.expired
            or auth.password is None
            or not hmac.compare_digest(auth.password.encode(), account.secret.encode())
        ):
            return key, Response(_UNAUTHORIZED_PAGE, status=401, content_type="text/html")
        return key, None

    def error_response(self, status: int, message: str) -> Response:
        if status == 401:
            return Response(_UNAUTHORIZED_PAGE, status=401, content_type="text/html")
        if status >= 500:
            return json_response(
                {
                    "Message": "An error has occurred.",
                    "ExceptionMessage": message,
                    "ExceptionType": "System.Exception",
                    "StackTrace": None,
                },
                status,
            )
        return json_response({"Message": message}, status)

    def fault_server_error(self, rule: FaultRule) -> Response:
        return self.error_response(
            500, "Object reference not set to an instance of an object. (injected fault)"
        )

    def rate_limited_response(self, decision: RateLimitDecision) -> Response:
        return json_response({"message": "Too Many Requests"}, 429)

    def _invalid(self, exc: InvalidParameter) -> Response:
        return json_response(
            {"Message": "The request is invalid.", "ModelState": {exc.name: [exc.message]}}, 400
        )

    def api_rules(self) -> list[Rule]:
        # Matched against the lower-cased path (see api_path).
        return [
            Rule("/stores", endpoint="api_stores", methods=["GET"]),
            Rule("/accounts/listtags", endpoint="api_tags", methods=["GET"]),
            Rule("/orders", endpoint="api_orders", methods=["GET"]),
            Rule("/shipments", endpoint="api_shipments", methods=["GET"]),
            Rule("/fulfillments", endpoint="api_fulfillments", methods=["GET"]),
            Rule("/webhooks", endpoint="api_webhooks", methods=["GET"]),
            Rule("/webhooks/subscribe", endpoint="api_webhook_subscribe", methods=["POST"]),
            Rule("/webhooks/<int:webhook_id>", endpoint="api_webhook_delete", methods=["DELETE"]),
            *self.realism_api_rules(),
            *self.catalog_api_rules(),
        ]

    # -- API endpoints --------------------------------------------------------------------------

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

    # -- control API (provider part) ------------------------------------------------------------

    def control_rules(self) -> list[Rule]:
        return [
            Rule("/accounts", endpoint="control_accounts", methods=["GET", "POST"]),
            Rule("/accounts/<key>", endpoint="control_account", methods=["GET", "DELETE"]),
            Rule("/accounts/<key>/meta", endpoint="control_account_meta", methods=["GET"]),
            Rule("/accounts/<key>/expire", endpoint="control_expire", methods=["POST"]),
            Rule("/accounts/<key>/orders", endpoint="control_add_order", methods=["POST"]),
            Rule(
                "/accounts/<key>/orders/<int:order_id>",
                endpoint="control_order",
                methods=["GET", "PATCH"],
            ),
            Rule(
                "/accounts/<key>/orders/<int:order_id>/labels",
                endpoint="control_add_label",
                methods=["POST"],
            ),
            Rule(
                "/accounts/<key>/shipments/<int:shipment_id>",
                endpoint="control_shipment",
                methods=["GET"],
            ),
            Rule(
                "/accounts/<key>/shipments/<int:shipment_id>/void",
                endpoint="control_void_label",
                methods=["POST"],
            ),
            Rule("/webhooks/flush", endpoint="control_flush_webhooks", methods=["POST"]),
            *self.realism_control_rules(),
        ]

    def control_accounts(self, request: Request) -> Any:
        if request.method == "POST":
            body = control_body(request)
            if not body.get("key") or not body.get("secret"):
                raise ControlError("key and secret are required")
            account = self.add_account(
                str(body["key"]),
                str(body["secret"]),
                seed=int(body.get("seed", 0)),
                orders=int(body.get("orders", 0)),
                days=int(body.get("days", 45)),
                stores=int(body.get("stores", 5)),
                now=_parse_at(body.get("now")),
                realistic=bool(body.get("realistic", False)),
            )
            with self.lock:
                return json_response(account.meta(), 201)
        with self.lock:
            return {"accounts": [a.meta() for a in self.accounts.values()]}

    def control_account(self, request: Request, key: str) -> Any:
        if request.method == "DELETE":
            self.remove_account(key)
            return {"deleted": key}
        return self.account_meta(key)

    def control_account_meta(self, request: Request, key: str) -> Any:
        return self.account_meta(key)

    def control_expire(self, request: Request, key: str) -> Any:
        expired = bool(control_body(request).get("expired", True))
        self.expire_account(key, expired)
        return self.account_meta(key)

    def control_add_order(self, request: Request, key: str) -> Any:
        body = control_body(request)
        order = self.add_order(
            key,
            store_id=body.get("storeId"),
            status=body.get("orderStatus", "awaiting_shipment"),
            items=body.get("items"),
            shipping_amount=body.get("shippingAmount"),
            amount_paid=body.get("amountPaid"),
            customer_name=body.get("customerName"),
            order_number=body.get("orderNumber"),
            order_date=_parse_at(body.get("orderDate")),
            at=_parse_at(body.get("at")),
            order_total=body.get("orderTotal"),
        )
        return json_response(order, 201)

    def control_order(self, request: Request, key: str, order_id: int) -> Any:
        if request.method == "PATCH":
            body = control_body(request)
            at = _parse_at(body.pop("at", None))
            return self.edit_order(key, order_id, at=at, **body)
        return self.get_order(key, order_id)

    def control_add_label(self, request: Request, key: str, order_id: int) -> Any:
        body = control_body(request)
        label = self.add_label(
            key,
            order_id,
            shipment_cost=body.get("shipmentCost"),
            insurance_cost=body.get("insuranceCost"),
            carrier_code=body.get("carrierCode"),
            service_code=body.get("serviceCode"),
            is_return=bool(body.get("isReturnLabel", False)),
            at=_parse_at(body.get("at")),
            bill_to_party=body.get("billToParty"),
            ship_date=body.get("shipDate"),
        )
        return json_response(label, 201)

    def control_shipment(self, request: Request, key: str, shipment_id: int) -> Any:
        return self.get_shipment(key, shipment_id)

    def control_void_label(self, request: Request, key: str, shipment_id: int) -> Any:
        body = control_body(request)
        return self.void_label(key, shipment_id, at=_parse_at(body.get("at")))

    def control_flush_webhooks(self, request: Request) -> Any:
        return {"flushed": self.flush_webhooks(float(control_body(request).get("timeout", 10)))}
