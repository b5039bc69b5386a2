"""The ShipStation source adapter against the ShipStation stand-in, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connections.sources.base import SourceOrder
from connections.sources.registry import adapter_for, check_source_providers, source_adapters
from connections.sources.shipstation import mapping
from connections.sources.shipstation.adapter import ShipStationAdapter
from tests.connections.conftest import SS_KEY, SS_SECRET
from unify.core.exceptions import ProviderAuthError

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def adapter(key: str = SS_KEY, secret: str = SS_SECRET, **kwargs) -> ShipStationAdapter:
    return ShipStationAdapter.from_credentials({"api_key": key, "api_secret": secret}, **kwargs)


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
