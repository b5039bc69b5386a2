"""The ShipStation source adapter's failures (rate limits, errors, unreadable answers) against
the ShipStation stand-in, over real HTTP, and its keys never logged."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connections.sources.shipstation import mapping
from connections.sources.shipstation.client import api_key_fingerprint
from tests.connections.conftest import SS_KEY, SS_SECRET
from tests.connections.test_shipstation_client import LONG_AGO, adapter
from unify.core.exceptions import (
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from unify.core.http import parse_json


class RecordingLimiter:
    """A stand-in for the shared limiter: records what the client tells it."""

    def __init__(self) -> None:
        self.acquired: list[str] = []
        self.observed: list[tuple[str, dict[str, str]]] = []

    def acquire(self, key: str) -> None:
        self.acquired.append(key)

    def observe(self, key: str, headers: Mapping[str, str]) -> None:
        self.observed.append((key, dict(headers)))


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
