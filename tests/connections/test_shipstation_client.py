"""The ShipStation source adapter against the ShipStation stand-in, over real HTTP."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from connections.sources.base import SourceOrder, UntrustedResourceUrl
from connections.sources.registry import adapter_for, check_source_providers, source_adapters
from connections.sources.shipstation import mapping
from connections.sources.shipstation.adapter import ShipStationAdapter, is_trusted_resource_url
from connections.sources.shipstation.client import api_key_fingerprint
from tests.connections.conftest import SS_KEY, SS_SECRET
from unify.core.exceptions import (
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from unify.core.http import parse_json

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def adapter(key: str = SS_KEY, secret: str = SS_SECRET, **kwargs) -> ShipStationAdapter:
    return ShipStationAdapter.from_credentials({"api_key": key, "api_secret": secret}, **kwargs)


class RecordingLimiter:
    """A stand-in for the shared limiter: records what the client tells it."""

    def __init__(self) -> None:
        self.acquired: list[str] = []
        self.observed: list[tuple[str, dict[str, str]]] = []

    def acquire(self, key: str) -> None:
        self.acquired.append(key)

    def observe(self, key: str, headers: Mapping[str, str]) -> None:
        self.observed.append((key, dict(headers)))


# --- registry -------------------------------------------------------------------------------


def test_registry_lists_shipstation_from_settings():
    assert source_adapters() == {"shipstation": ShipStationAdapter}
    assert check_source_providers() == []


def test_registry_check_reports_a_bad_dotted_path(settings):
    settings.UNIFY_SOURCE_PROVIDERS = ["connections.sources.nope.Adapter"]
    errors = check_source_providers()
    assert [e.id for e in errors] == ["connections.E002"]
    settings.UNIFY_SOURCE_PROVIDERS = ["connections.sources.base.SourceStore"]
    assert [e.id for e in check_source_providers()] == ["connections.E002"]


def test_adapter_for_builds_a_working_adapter(ss):
    built = adapter_for("shipstation", {"api_key": SS_KEY, "api_secret": SS_SECRET})
    assert len(built.verify().stores) == len(ss.account_meta(SS_KEY)["stores"]) == 4


# --- verify / stores ------------------------------------------------------------------------


def test_verify_returns_the_accounts_stores(ss):
    expected = ss.account_meta(SS_KEY)["stores"]
    account = adapter().verify()
    assert account.provider == "shipstation"
    assert [(s.external_id, s.name, s.marketplace_name, s.active) for s in account.stores] == [
        (s["storeId"], s["storeName"], s["marketplaceName"], s["active"]) for s in expected
    ]
    assert all(isinstance(s.marketplace_id, int) for s in account.stores)


def test_wrong_secret_is_an_auth_error(ss):
    with pytest.raises(ProviderAuthError) as info:
        adapter(secret="wrong-secret").verify()
    assert info.value.status_code == 401
    assert info.value.provider == "shipstation"
    assert ss.requests_log()[-1].status == 401


def test_expired_keys_are_an_auth_error(ss):
    ss.expire_account(SS_KEY)
    with pytest.raises(ProviderAuthError):
        adapter().list_stores()


# --- orders: paging, dates, mapping ---------------------------------------------------------


@pytest.mark.shipstation_rate_limit(None)
def test_order_pages_cover_every_order_once_oldest_change_first(ss):
    ss.add_account(SS_KEY, SS_SECRET, seed=11, orders=130, days=20, stores=3)
    pages = list(adapter().iter_order_pages(modified_since=LONG_AGO, page_size=50))
    assert [(p.page, p.pages) for p in pages] == [(1, 3), (2, 3), (3, 3)]
    orders = [o for p in pages for o in p.items]
    assert len(orders) == pages[0].total == ss.account_meta(SS_KEY)["order_count"] == 130
    assert len({o.external_id for o in orders}) == 130
    stamps = [o.modify_date for o in orders]
    assert stamps == sorted(stamps)
    assert all(o.modify_date.tzinfo is UTC for o in orders)
    assert not any(p.errors for p in pages)
    requests = [r for r in ss.requests_log() if r.path == "/orders"]
    assert "sortBy=ModifyDate" in requests[0].query and "sortDir=ASC" in requests[0].query


@pytest.mark.shipstation_rate_limit(None)
def test_order_pages_resume_from_a_checkpointed_page(ss):
    ss.add_account(SS_KEY, SS_SECRET, seed=11, orders=130, days=20, stores=3)
    all_ids = [
        o.external_id
        for p in adapter().iter_order_pages(modified_since=LONG_AGO, page_size=50)
        for o in p.items
    ]
    resumed = list(adapter().iter_order_pages(modified_since=LONG_AGO, page_size=50, start_page=2))
    assert [p.page for p in resumed] == [2, 3]
    assert [o.external_id for p in resumed for o in p.items] == all_ids[50:]


def test_empty_result_is_one_empty_last_page(ss):
    pages = list(adapter().iter_order_pages(modified_since=LONG_AGO))
    assert len(pages) == 1
    assert pages[0].items == () and pages[0].total == 0 and pages[0].is_last


def test_order_maps_money_as_decimal_and_pacific_times_to_utc(ss):
    store_id = ss.account_meta(SS_KEY)["stores"][0]["storeId"]
    summer = datetime(2024, 7, 1, 19, 0, 0, tzinfo=UTC)  # 12:00 PDT (UTC-7)
    raw = ss.add_order(
        SS_KEY,
        store_id=store_id,
        status="shipped",
        items=[
            {
                "sku": "TSHIRT-BLK-M",
                "name": "T-Shirt",
                "quantity": 2,
                "unitPrice": "19.99",
                "taxAmount": "3.30",
                "shippingAmount": "0",
            },
            {
                "sku": None,
                "name": "SPRING10",
                "quantity": 1,
                "unitPrice": "-4.00",
                "adjustment": True,
                "lineItemKey": "discount",
            },
        ],
        shipping_amount="7.99",
        customer_name="Jane Doe",
        order_number="1001",
        order_date=summer,
        at=summer,
    )
    assert raw["createDate"] == "2024-07-01T12:00:00.0000000"
    [page] = list(adapter().iter_order_pages(modified_since=summer - timedelta(minutes=1)))
    [order] = page.items
    assert isinstance(order, SourceOrder)
    assert order.external_id == str(raw["orderId"])
    assert order.number == "1001" and order.status == "shipped"
    assert order.create_date == summer and order.order_date == summer
    assert order.store_id == store_id
    assert order.customer_name == "Jane Doe"
    assert [
        (line.sku, line.quantity, line.unit_price, line.tax_amount) for line in order.lines
    ] == [
        ("TSHIRT-BLK-M", Decimal("2"), Decimal("19.99"), Decimal("3.30")),
        (None, Decimal("1"), Decimal("-4.00"), Decimal("0")),
    ]
    assert order.lines[1].is_discount and order.discount_total == Decimal("4.00")
    assert order.shipping_amount == Decimal("7.99")
    assert order.tax_amount == Decimal("3.30")
    # 2 x 19.99 - 4.00 + 7.99 + 3.30
    assert order.order_total == Decimal("47.27")
    assert all(type(v) is Decimal for v in (order.order_total, order.amount_paid))
    assert order.raw["orderTotal"] == Decimal("47.27")


def test_filter_windows_are_sent_in_pacific_time_across_dst(ss):
    store_id = ss.account_meta(SS_KEY)["stores"][0]["storeId"]
    winter = datetime(2024, 1, 15, 20, 0, 0, tzinfo=UTC)  # 12:00 PST (UTC-8)
    summer = datetime(2024, 7, 1, 19, 0, 0, tzinfo=UTC)  # 12:00 PDT (UTC-7)
    w = ss.add_order(SS_KEY, store_id=store_id, order_number="W1", at=winter)
    s = ss.add_order(SS_KEY, store_id=store_id, order_number="S1", at=summer)
    assert w["modifyDate"] == "2024-01-15T12:00:00.0000000"
    assert s["modifyDate"] == "2024-07-01T12:00:00.0000000"
    ss.clear_requests_log()
    one_second = timedelta(seconds=1)
    for moment, wanted in ((winter, "W1"), (summer, "S1")):
        pages = list(
            adapter().iter_order_pages(
                modified_since=moment - one_second, modified_until=moment + one_second
            )
        )
        assert [o.number for p in pages for o in p.items] == [wanted]
        assert pages[0].items[0].modify_date == moment
    queries = [r.query for r in ss.requests_log() if r.path == "/orders"]
    assert "modifyDateStart=2024-01-15+11%3A59%3A59" in queries[0]
    assert "modifyDateEnd=2024-01-15+12%3A00%3A01" in queries[0]
    assert "modifyDateStart=2024-07-01+11%3A59%3A59" in queries[1]


def test_window_ending_in_the_repeated_hour_still_includes_its_orders(ss):
    # 2024-11-03 09:30 UTC is 01:30 PST, the second 01:30 of that night. ShipStation reads
    # "01:30" as the first one (08:30 UTC), so the end bound is moved past the repeated hour.
    store_id = ss.account_meta(SS_KEY)["stores"][0]["storeId"]
    second_130 = datetime(2024, 11, 3, 9, 30, tzinfo=UTC)
    ss.add_order(SS_KEY, store_id=store_id, order_number="FALLBACK", at=second_130)
    assert mapping.format_filter_end(second_130) == "2024-11-03 02:30:00"
    pages = list(
        adapter().iter_order_pages(
            modified_since=second_130 - timedelta(hours=2), modified_until=second_130
        )
    )
    assert [o.number for p in pages for o in p.items] == ["FALLBACK"]


def test_several_statuses_are_filtered_locally_in_one_page_sequence(ss):
    store_id = ss.account_meta(SS_KEY)["stores"][0]["storeId"]
    at = datetime(2024, 5, 1, 12, tzinfo=UTC)
    for n, status in enumerate(["shipped", "awaiting_shipment", "cancelled", "shipped"]):
        ss.add_order(
            SS_KEY,
            store_id=store_id,
            status=status,
            order_number=f"N{n}",
            at=at + timedelta(minutes=n),
        )
    pages = list(
        adapter().iter_order_pages(
            modified_since=at - timedelta(hours=1), statuses=["shipped", "cancelled"]
        )
    )
    assert [o.number for p in pages for o in p.items] == ["N0", "N2", "N3"]
    assert pages[0].total == 4
    single = list(adapter().iter_order_pages(modified_since=at, statuses=["shipped"]))
    assert [o.number for p in single for o in p.items] == ["N0", "N3"]
    assert "orderStatus=shipped" in ss.requests_log()[-1].query


def test_unknown_status_is_refused_before_any_request(ss):
    ss.clear_requests_log()
    with pytest.raises(ValueError):
        adapter().iter_order_pages(modified_since=LONG_AGO, statuses=["sent"])
    assert ss.requests_log() == []


# --- shipments and fulfillments -------------------------------------------------------------


@pytest.mark.shipstation_rate_limit(None)
def test_shipment_pages_carry_label_costs(ss):
    ss.add_account(SS_KEY, SS_SECRET, seed=5, orders=80, days=20, stores=2)
    meta = ss.account_meta(SS_KEY)
    pages = list(adapter().iter_shipment_pages(created_since=LONG_AGO, page_size=40))
    shipments = [s for p in pages for s in p.items]
    assert len(shipments) == meta["shipment_count"] > 0
    first = shipments[0]
    raw = ss.get_shipment(SS_KEY, int(first.external_id))
    assert first.cost == raw["shipmentCost"] and type(first.cost) is Decimal
    assert first.insurance_cost == raw["insuranceCost"]
    assert first.order_id == str(raw["orderId"]) and first.tracking_number == raw["trackingNumber"]
    assert first.ship_date == date.fromisoformat(raw["shipDate"])
    assert first.voided is raw["voided"]
    assert [s.create_date for s in shipments] == sorted(s.create_date for s in shipments)


def test_voided_labels_are_found_by_void_date(ss):
    store_id = ss.account_meta(SS_KEY)["stores"][0]["storeId"]
    t0 = datetime(2024, 6, 1, 15, tzinfo=UTC)
    order = ss.add_order(SS_KEY, store_id=store_id, at=t0)
    label = ss.add_label(
        SS_KEY,
        order["orderId"],
        shipment_cost="8.45",
        insurance_cost="1.05",
        at=t0 + timedelta(hours=1),
    )
    ss.void_label(SS_KEY, label["shipmentId"], at=t0 + timedelta(days=2))
    pages = list(
        adapter().iter_shipment_pages(
            voided_since=t0 + timedelta(days=1), voided_until=t0 + timedelta(days=3)
        )
    )
    [shipment] = [s for p in pages for s in p.items]
    assert shipment.external_id == str(label["shipmentId"])
    assert shipment.voided is True and shipment.void_date == t0 + timedelta(days=2)
    assert shipment.total_cost == Decimal("9.50")


@pytest.mark.shipstation_rate_limit(None)
def test_fulfillment_pages_map_every_fulfillment(ss):
    ss.add_account(SS_KEY, SS_SECRET, seed=5, orders=200, days=20, stores=2)
    meta = ss.account_meta(SS_KEY)
    pages = list(adapter().iter_fulfillment_pages(created_since=LONG_AGO, page_size=100))
    fulfillments = [f for p in pages for f in p.items]
    assert len(fulfillments) == meta["fulfillment_count"]
    assert all(type(f.fulfillment_fee) is Decimal for f in fulfillments)
    assert not any(p.errors for p in pages)


# --- failures -------------------------------------------------------------------------------


@pytest.mark.shipstation_rate_limit(2, window_seconds=60)
def test_rate_limit_raises_with_the_reset_delay_and_feeds_the_limiter(ss):
    limiter = RecordingLimiter()
    client = adapter(rate_limiter=limiter)
    client.list_stores()
    client.list_stores()
    with pytest.raises(ProviderRateLimited) as info:
        client.list_stores()
    assert 1 <= info.value.retry_after <= 60
    assert info.value.status_code == 429
    key = f"shipstation:{api_key_fingerprint(SS_KEY)}"
    assert limiter.acquired == [key, key, key]
    assert [k for k, _ in limiter.observed] == [key, key, key]
    assert [h["X-Rate-Limit-Remaining"] for _, h in limiter.observed] == ["1", "0", "0"]
    assert SS_KEY not in key and SS_SECRET not in key


@pytest.mark.parametrize(
    ("fault", "status"), [("server_error", 500), ("bad_gateway", 502), ("service_unavailable", 503)]
)
def test_server_errors_are_unavailable(ss, fault, status):
    ss.inject_faults(fault, count=1)
    with pytest.raises(ProviderUnavailable) as info:
        adapter().verify()
    assert info.value.status_code == status
    assert info.value.retryable is True
    # The fault was one request; the next one works.
    assert len(adapter().verify().stores) == 4


def test_timeout_is_unavailable(ss, settings):
    settings.SHIPSTATION_TIMEOUT_READ = 0.3
    ss.inject_faults("slow", count=1, delay_seconds=1.5)
    with pytest.raises(ProviderUnavailable) as info:
        adapter().verify()
    assert "timed out" in str(info.value)


def test_refused_connection_is_unavailable(settings):
    settings.SHIPSTATION_API_BASE_URL = "http://127.0.0.1:9"
    with pytest.raises(ProviderUnavailable):
        adapter().verify()


@pytest.mark.parametrize("fault", ["malformed_json", "truncated_json"])
def test_unreadable_body_is_response_invalid(ss, fault):
    ss.inject_faults(fault, count=1, path_prefix="/orders")
    with pytest.raises(ProviderResponseInvalid):
        list(adapter().iter_order_pages(modified_since=LONG_AGO))


def test_bad_request_is_rejected_with_shipstations_message(ss):
    client = adapter()
    with pytest.raises(ProviderRejected) as info:
        # A page size above 500 is refused by ShipStation; bypass our own check to see it.
        client._client.list_orders({"pageSize": 900})
    assert info.value.status_code == 400
    assert info.value.user_message == "The request is invalid."
    assert "ModelState" in info.value.field_errors


def test_null_entries_are_skipped_and_counted(ss):
    store_id = ss.account_meta(SS_KEY)["stores"][0]["storeId"]
    at = datetime(2024, 5, 1, 12, tzinfo=UTC)
    for n in range(5):
        ss.add_order(SS_KEY, store_id=store_id, order_number=f"X{n}", at=at + timedelta(seconds=n))
    ss.inject_faults("null_entries", count=1, path_prefix="/orders", seed=3)
    [page] = list(adapter().iter_order_pages(modified_since=at - timedelta(minutes=1)))
    assert [o.number for o in page.items] == ["X0", "X1", "X2", "X3", "X4"]
    assert page.skipped_nulls >= 1
    assert page.errors == ()


def test_one_unreadable_record_does_not_lose_its_page():
    good = {
        "orderId": 1,
        "orderNumber": "A-1",
        "orderKey": "k1",
        "orderStatus": "shipped",
        "orderDate": "2024-05-01T09:14:00.0000000",
        "createDate": "2024-05-01T09:20:11.3970000",
        "modifyDate": "2024-05-02T13:02:45.1270000",
        "items": [None],
        "orderTotal": 1.5,
    }
    bad_date = {**good, "orderId": 2, "modifyDate": "yesterday"}
    bad_money = {**good, "orderId": 3, "orderTotal": "12,50"}
    missing_number = {**good, "orderId": 4, "orderNumber": None}
    envelope = parse_json(
        json.dumps(
            {
                "orders": [good, None, bad_date, "oops", bad_money, missing_number],
                "total": 6,
                "page": 1,
                "pages": 1,
            }
        )
    )
    page = mapping.map_page("order", envelope, list_key="orders", page=1, mapper=mapping.map_order)
    assert [o.external_id for o in page.items] == ["1"]
    assert page.items[0].order_total == Decimal("1.5")
    assert page.items[0].lines == ()
    assert page.skipped_nulls == 1
    assert [(e.kind, e.external_ref) for e in page.errors] == [
        ("order", "2"),
        ("order", ""),
        ("order", "3"),
        ("order", "4"),
    ]
    assert page.errors[0].reason == "not a timestamp: 'yesterday'"
    assert page.errors[2].reason == "orderTotal is not an amount: '12,50'"
    assert '"orderId": 2' in page.errors[0].raw_text
    assert page.errors[3].reason == "orderNumber is missing"


# --- time conversion ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "utc"),
    [
        ("2024-05-02T13:02:45.1270000", datetime(2024, 5, 2, 20, 2, 45, 127000, tzinfo=UTC)),
        ("2024-01-02T13:02:45.1", datetime(2024, 1, 2, 21, 2, 45, 100000, tzinfo=UTC)),
        ("2024-01-02T13:02:45", datetime(2024, 1, 2, 21, 2, 45, tzinfo=UTC)),
        # DST starts 2024-03-10 02:00 PST -> 03:00 PDT
        ("2024-03-10T01:59:59.0000000", datetime(2024, 3, 10, 9, 59, 59, tzinfo=UTC)),
        ("2024-03-10T03:00:00.0000000", datetime(2024, 3, 10, 10, 0, 0, tzinfo=UTC)),
        # the repeated hour at DST end reads as the first occurrence (PDT)
        ("2024-11-03T01:30:00.0000000", datetime(2024, 11, 3, 8, 30, tzinfo=UTC)),
        ("2024-11-03T02:30:00.0000000", datetime(2024, 11, 3, 10, 30, tzinfo=UTC)),
        ("2024-05-02T13:02:45Z", datetime(2024, 5, 2, 13, 2, 45, tzinfo=UTC)),
    ],
)
def test_pacific_timestamps_become_utc(wire, utc):
    assert mapping.parse_timestamp(wire) == utc


def _reference_timestamp(wire: str) -> datetime:
    """The zone rules applied the long way (strptime, then the zone database)."""
    head, _, fraction = wire.partition(".")
    local = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S")
    if fraction:
        local = local.replace(microsecond=int((fraction + "000000")[:6]))
    return local.replace(tzinfo=mapping.PACIFIC, fold=0).astimezone(UTC)


def test_the_fast_timestamp_path_gives_the_zone_rules_answer_for_every_hour(monkeypatch):
    """Wire timestamps are read with a cached offset per local hour; every hour of a year
    with both DST changes (the skipped and the repeated hour included), at 0, 1, 6 and 7
    fractional digits, must give what the zone database gives."""
    monkeypatch.setattr(mapping, "_HOUR_OFFSETS", {})
    monkeypatch.setattr(mapping, "_HOUR_OFFSETS_MAX", 1000)  # the cache is emptied on the way
    start = datetime(2024, 1, 1)
    for hour in range(24 * 366):
        local = start + timedelta(hours=hour, minutes=hour % 60, seconds=(7 * hour) % 60)
        plain = local.strftime("%Y-%m-%dT%H:%M:%S")
        for wire in (plain, plain + ".5", plain + ".123456", plain + ".1279999"):
            assert mapping.parse_timestamp(wire) == _reference_timestamp(wire), wire
    assert len(mapping._HOUR_OFFSETS) <= 1000
    # Shapes the fast path leaves to the general parser.
    assert mapping.parse_timestamp("2024-05-02T13:02:45+02:00") == datetime(
        2024, 5, 2, 11, 2, 45, tzinfo=UTC
    )
    assert mapping.parse_timestamp(" 2024-05-02T13:02:45 ") == datetime(
        2024, 5, 2, 20, 2, 45, tzinfo=UTC
    )
    with pytest.raises(mapping.MappingError):
        mapping.parse_timestamp("2024-05-02T13:02:45.12x")


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1.10, "b": [1, 2.5e3, -0.0, 1e400], "c": 123456789012345678901234567890}',
        '{"name": "Zo\\u00eb \\u2028 \\ud83d\\ude00", "n": null, "t": true, "a": 1, "a": 2}',
        '{"amount": NaN, "other": -Infinity}',  # the standard library reads these
        '{"name": "lone \\ud800 surrogate", "x": 0.1}',  # and this
        "[]",
    ],
)
def test_parse_json_gives_the_standard_librarys_values(text):
    expected = json.loads(text, parse_float=Decimal)
    for data in (text, text.encode()):
        parsed = parse_json(data)
        assert repr(parsed) == repr(expected)  # same types too: Decimal, never float


@pytest.mark.parametrize("text", ['{"a": 1,', '{"a": 01}', "{'a': 1}", '{"a": 1} x'])
def test_parse_json_refuses_what_the_standard_library_refuses(text):
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        parse_json(text)


def test_filter_strings_are_pacific_and_never_narrow_the_window():
    moment = datetime(2024, 7, 4, 7, 0, 0, 500000, tzinfo=UTC)  # 00:00:00.5 PDT
    assert mapping.format_filter_start(moment) == "2024-07-04 00:00:00"
    assert mapping.format_filter_end(moment) == "2024-07-04 00:00:01"
    assert (
        mapping.format_filter_start(datetime(2024, 12, 1, 8, tzinfo=UTC)) == "2024-12-01 00:00:00"
    )
    with pytest.raises(ValueError):
        mapping.format_filter_start(datetime(2024, 1, 1))
    assert mapping.parse_day("2024-05-02") == date(2024, 5, 2)


# --- webhooks -------------------------------------------------------------------------------


def test_webhook_subscribe_list_and_unsubscribe(ss):
    client = adapter()
    hook_id = client.subscribe_webhook(
        target_url="http://127.0.0.1:9/hooks/abc", event="ORDER_NOTIFY", friendly_name="Unify"
    )
    [hook] = client.list_webhooks()
    assert (hook.external_id, hook.event, hook.target_url, hook.name) == (
        hook_id,
        "ORDER_NOTIFY",
        "http://127.0.0.1:9/hooks/abc",
        "Unify",
    )
    client.unsubscribe_webhook(hook_id)
    assert client.list_webhooks() == []
    client.unsubscribe_webhook(hook_id)  # already gone: not an error
    with pytest.raises(ValueError):
        client.unsubscribe_webhook("../orders")


def test_fetch_resource_reads_the_batch_a_webhook_names(ss):
    store_id = ss.account_meta(SS_KEY)["stores"][0]["storeId"]
    client = adapter()
    client.subscribe_webhook(
        target_url="http://127.0.0.1:9/hooks/abc", event="ORDER_NOTIFY", friendly_name="Unify"
    )
    order = ss.add_order(SS_KEY, store_id=store_id, order_number="HOOK-1")
    assert ss.flush_webhooks(timeout=10)
    [delivery] = ss.webhook_deliveries()
    body = parse_json(delivery["body"])
    assert body["resource_url"].startswith(ss.base_url)
    page = client.fetch_resource(body["resource_url"], resource_type=body["resource_type"])
    assert [o.external_id for o in page.items] == [str(order["orderId"])]


def test_fetch_resource_refuses_other_hosts_without_sending_anything(ss):
    ss.clear_requests_log()
    client = adapter()
    for url in (
        "https://evil.example/orders?importBatch=1",
        "http://127.0.0.1:1/orders",
        ss.base_url.replace("http://", "http://user:pw@") + "/orders",
    ):
        with pytest.raises(UntrustedResourceUrl):
            client.fetch_resource(url, resource_type="ORDER_NOTIFY")
    assert ss.requests_log() == []


@pytest.mark.parametrize(
    ("url", "trusted"),
    [
        ("https://ssapi.shipstation.com/orders?importBatch=1", True),
        ("https://ssapi11.shipstation.com/shipments?storeID=1&importBatch=2", True),
        ("https://shipstation.com/x", True),
        ("http://ssapi11.shipstation.com/orders", False),  # credentials over plain http
        ("https://ssapi.shipstation.com:8443/orders", False),
        ("https://shipstation.com.evil.test/orders", False),
        ("https://evilshipstation.com/orders", False),
        ("https://user@ssapi.shipstation.com/orders", False),
        ("ftp://ssapi.shipstation.com/orders", False),
    ],
)
def test_resource_url_rule_against_the_real_api(url, trusted):
    assert is_trusted_resource_url(url, api_base_url="https://ssapi.shipstation.com") is trusted


def test_resource_url_rule_against_a_local_base_is_exact_origin():
    base = "http://127.0.0.1:8765"
    assert is_trusted_resource_url("http://127.0.0.1:8765/orders?x=1", api_base_url=base)
    assert not is_trusted_resource_url("http://127.0.0.1:8766/orders", api_base_url=base)
    assert not is_trusted_resource_url("https://ssapi.shipstation.com/orders", api_base_url=base)


# --- secrets never logged -------------------------------------------------------------------


def test_credentials_never_reach_logs_or_reprs(ss, caplog, settings):
    caplog.set_level(logging.DEBUG)
    basic = base64.b64encode(f"{SS_KEY}:{SS_SECRET}".encode()).decode()
    client = adapter()
    client.verify()
    with pytest.raises(ProviderAuthError):
        adapter(secret=SS_SECRET + "x").verify()
    ss.inject_faults("server_error", count=1)
    with pytest.raises(ProviderUnavailable) as info:
        client.verify()
    settings.SHIPSTATION_TIMEOUT_READ = 0.2
    ss.inject_faults("slow", count=1, delay_seconds=1)
    with pytest.raises(ProviderUnavailable) as timeout_info:
        client.verify()
    text = "\n".join(
        [r.getMessage() for r in caplog.records]
        + [repr(client), repr(client._client), str(info.value), str(timeout_info.value)]
        + [repr(vars(client))]
    )
    assert any("/stores" in r.getMessage() for r in caplog.records)
    for secret in (SS_KEY, SS_SECRET, basic):
        assert secret not in text
