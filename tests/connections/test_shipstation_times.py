"""ShipStation's Pacific timestamps and filter strings, and the JSON parser the adapter reads
its answers with."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from connections.sources.shipstation import mapping
from unify.core.http import parse_json

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
    from connections.sources.shipstation import values

    monkeypatch.setattr(values, "_HOUR_OFFSETS", {})
    monkeypatch.setattr(values, "_HOUR_OFFSETS_MAX", 1000)  # the cache is emptied on the way
    start = datetime(2024, 1, 1)
    for hour in range(24 * 366):
        local = start + timedelta(hours=hour, minutes=hour % 60, seconds=(7 * hour) % 60)
        plain = local.strftime("%Y-%m-%dT%H:%M:%S")
        for wire in (plain, plain + ".5", plain + ".123456", plain + ".1279999"):
            assert mapping.parse_timestamp(wire) == _reference_timestamp(wire), wire
    assert len(values._HOUR_OFFSETS) <= 1000
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
