"""ShipStation's clock: naive Pacific wall times on the wire, DST-aware filters."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from sandbox.shipstation.dates import format_timestamp, parse_filter_datetime
from tests.sandbox.support import KEY, get, get_json, seed_account

WIRE_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$")


def test_timestamps_are_naive_pacific_with_seven_fractional_digits():
    moment = datetime(2024, 5, 2, 20, 2, 45, 127000, tzinfo=UTC)
    assert format_timestamp(moment) == "2024-05-02T13:02:45.1270000"  # PDT, UTC-7
    winter = datetime(2024, 1, 15, 20, 0, tzinfo=UTC)
    assert format_timestamp(winter) == "2024-01-15T12:00:00.0000000"  # PST, UTC-8


def test_filter_parsing_handles_both_offsets_and_date_only():
    assert parse_filter_datetime("2024-05-02 13:02:45") == datetime(
        2024, 5, 2, 20, 2, 45, tzinfo=UTC
    )
    assert parse_filter_datetime("2024-01-15") == datetime(2024, 1, 15, 8, 0, tzinfo=UTC)


def test_ambiguous_and_nonexistent_local_times_follow_the_documented_rule():
    # 01:30 on 2024-11-03 happens twice: the first (PDT) is used.
    assert parse_filter_datetime("2024-11-03 01:30:00") == datetime(2024, 11, 3, 8, 30, tzinfo=UTC)
    # 02:30 on 2024-03-10 never happens: read with the pre-gap offset (PST).
    assert parse_filter_datetime("2024-03-10 02:30:00") == datetime(2024, 3, 10, 10, 30, tzinfo=UTC)


@pytest.fixture
def dst_orders(shipstation):
    seed_account(shipstation, orders=0)
    before = shipstation.add_order(KEY, at=datetime(2024, 3, 10, 9, 30, tzinfo=UTC))
    after = shipstation.add_order(KEY, at=datetime(2024, 3, 10, 10, 30, tzinfo=UTC))
    return before, after


def test_orders_across_spring_forward_show_local_wall_times(dst_orders):
    before, after = dst_orders
    assert before["createDate"] == "2024-03-10T01:30:00.0000000"  # PST
    assert after["createDate"] == "2024-03-10T03:30:00.0000000"  # PDT, an hour later in UTC
    assert WIRE_TIMESTAMP.match(before["modifyDate"])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"createDateStart": "2024-03-10 02:00:00"}, ["after"]),  # nonexistent = 10:00 UTC
        ({"createDateStart": "2024-03-10 01:30:00"}, ["before", "after"]),
        ({"createDateEnd": "2024-03-10 01:59:59"}, ["before"]),
        ({"createDateEnd": "2024-03-10 03:29:59"}, ["before"]),
        (
            {"createDateStart": "2024-03-10 03:00:00", "createDateEnd": "2024-03-10 03:30:00"},
            ["after"],
        ),
        ({"createDateStart": "2024-03-10", "createDateEnd": "2024-03-11"}, ["before", "after"]),
        ({"modifyDateStart": "2024-03-10 01:30:01"}, ["after"]),
    ],
)
def test_filters_at_the_dst_boundary(shipstation, dst_orders, params, expected):
    names = {dst_orders[0]["orderId"]: "before", dst_orders[1]["orderId"]: "after"}
    body = get_json(shipstation, "/orders", sortBy="CreateDate", **params)
    assert [names[o["orderId"]] for o in body["orders"]] == expected


def test_ship_date_is_a_pacific_calendar_day(shipstation):
    seed_account(shipstation, orders=0)
    order = shipstation.add_order(KEY, at=datetime(2024, 6, 1, 5, 0, tzinfo=UTC))
    # 05:30 UTC on June 2 is still June 1 in California.
    label = shipstation.add_label(KEY, order["orderId"], at=datetime(2024, 6, 2, 5, 30, tzinfo=UTC))
    assert label["shipDate"] == "2024-06-01"
    assert shipstation.get_order(KEY, order["orderId"])["shipDate"] == "2024-06-01"
    body = get_json(shipstation, "/shipments", shipDateStart="2024-06-01", shipDateEnd="2024-06-01")
    assert [s["shipmentId"] for s in body["shipments"]] == [label["shipmentId"]]
    assert get_json(shipstation, "/shipments", shipDateStart="2024-06-02")["total"] == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-08-24T14:15:22Z", datetime(2019, 8, 24, 14, 15, 22, tzinfo=UTC)),  # the docs' own
        ("2024-05-02T13:02:45-07:00", datetime(2024, 5, 2, 20, 2, 45, tzinfo=UTC)),
        ("2024-05-02T13:02:45.1270000-07:00", datetime(2024, 5, 2, 20, 2, 45, 127000, tzinfo=UTC)),
        ("2024-05-02 20:02:45+00:00", datetime(2024, 5, 2, 20, 2, 45, tzinfo=UTC)),
        ("2024-05-02T22:02:45 02:00", datetime(2024, 5, 2, 20, 2, 45, tzinfo=UTC)),  # raw "+"
        ("2024-05-02T13:02:45-0700", datetime(2024, 5, 2, 20, 2, 45, tzinfo=UTC)),
    ],
)
def test_filters_with_z_or_an_offset_are_that_exact_instant(text, expected):
    assert parse_filter_datetime(text) == expected


def test_an_offset_filter_over_http_selects_like_the_pacific_one(shipstation, dst_orders):
    names = {dst_orders[0]["orderId"]: "before", dst_orders[1]["orderId"]: "after"}
    # 10:00 UTC == the nonexistent 02:00 Pacific of the DST parametrization above.
    for start in ("2024-03-10T10:00:00Z", "2024-03-10T03:00:00-07:00", "2024-03-10 02:00:00"):
        body = get_json(shipstation, "/orders", sortBy="CreateDate", createDateStart=start)
        assert [names[o["orderId"]] for o in body["orders"]] == ["after"], start
    response = get(shipstation, "/orders", createDateStart="2024-03-10T25:00:00Z")
    assert response.status_code == 400
