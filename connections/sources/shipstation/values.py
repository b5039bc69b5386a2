"""ShipStation's values read one at a time: naive Pacific wall-time timestamps (both ways,
see ``mapping`` for the rules), money, quantities, text, ids and addresses."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from connections.sources.base import ZERO
from unify.core.stored_text import gettext as _

PACIFIC = ZoneInfo("America/Los_Angeles")
FILTER_FORMAT = "%Y-%m-%d %H:%M:%S"


class MappingError(ValueError):
    """One record does not have the shape we rely on."""


# --- time -----------------------------------------------------------------------------------


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("filter instants must be timezone-aware")


def format_filter_start(moment: datetime) -> str:
    """An aware instant as the *start* of a ShipStation filter window (Pacific wall time).

    Seconds are truncated, so the window can only start earlier. An instant in the repeated
    hour is written as its wall time, which ShipStation reads as the first occurrence: also
    earlier. Both only widen the window.
    """
    _require_aware(moment)
    return moment.astimezone(PACIFIC).strftime(FILTER_FORMAT)


def format_filter_end(moment: datetime) -> str:
    """An aware instant as the *end* of a filter window: never earlier than ``moment``."""
    _require_aware(moment)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    local = moment.astimezone(PACIFIC)
    if pacific_to_utc(local.replace(tzinfo=None)) < moment.astimezone(UTC):
        # Second occurrence of the repeated hour: its wall time would be read an hour early.
        # One hour later is past the repeat and unambiguous.
        local = (moment + timedelta(hours=1)).astimezone(PACIFIC)
    return local.strftime(FILTER_FORMAT)


def pacific_to_utc(local: datetime) -> datetime:
    return local.replace(tzinfo=PACIFIC, fold=0).astimezone(UTC)


# Pacific's UTC offset by local "yyyy-mm-ddThh": DST changes on the hour, and the hour of a
# wall time decides its offset (fold=0 included), so a cached offset equals the zone lookup.
_HOUR_OFFSETS: dict[str, timedelta] = {}
_HOUR_OFFSETS_MAX = 50_000


def _parse_wire_timestamp(value: str) -> datetime | None:
    """The common shape, ``yyyy-mm-ddThh:mm:ss[.fffffff]`` (no offset), fast; ``None`` for
    anything else (the general parser below decides)."""
    if len(value) < 19 or value[10] != "T" or (len(value) > 19 and value[19] != "."):
        return None
    try:
        local = datetime.fromisoformat(value)  # truncates past 6 fractional digits, as below
    except ValueError:
        return None
    if local.tzinfo is not None:
        return None
    hour = value[:13]
    offset = _HOUR_OFFSETS.get(hour)
    if offset is None:
        if len(_HOUR_OFFSETS) >= _HOUR_OFFSETS_MAX:
            _HOUR_OFFSETS.clear()
        offset = _HOUR_OFFSETS[hour] = local.replace(tzinfo=PACIFIC, fold=0).utcoffset()
    return (local - offset).replace(tzinfo=UTC)


def parse_timestamp(value: Any) -> datetime | None:
    """``2024-05-02T13:02:45.1270000`` (naive Pacific) -> aware UTC. ``None`` stays ``None``.

    Accepts 0-7 fractional digits; a value that carries its own offset (``Z``/``+hh:mm``) is
    honoured as such.
    """
    if value is None:
        return None
    if type(value) is str:
        moment = _parse_wire_timestamp(value)
        if moment is not None:
            return moment
    if not isinstance(value, str) or not value.strip():
        raise MappingError(_("not a timestamp: %(value)s") % {"value": f"{value!r:.60}"})
    text = value.strip()
    offset_part = ""
    if text.endswith("Z"):
        text, offset_part = text[:-1], "+00:00"
    elif len(text) > 19 and text[-6] in "+-" and text[-3] == ":":
        text, offset_part = text[:-6], text[-6:]
    head, _dot, fraction = text.partition(".")
    if fraction and not fraction.isdigit():
        raise MappingError(_("not a timestamp: %(value)s") % {"value": f"{value!r:.60}"})
    try:
        base = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        try:
            base = datetime.strptime(head, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            try:
                base = datetime.strptime(head, "%Y-%m-%d")
            except ValueError:
                raise MappingError(
                    _("not a timestamp: %(value)s") % {"value": f"{value!r:.60}"}
                ) from None
    if fraction:
        base = base.replace(microsecond=int((fraction + "000000")[:6]))
    if offset_part:
        aware = datetime.fromisoformat(base.isoformat() + offset_part)
        return aware.astimezone(UTC)
    return pacific_to_utc(base)


def parse_day(value: Any) -> date | None:
    """``shipDate`` is a calendar day (``2024-05-02``); a full timestamp keeps its date part."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MappingError(_("not a date: %(value)s") % {"value": f"{value!r:.60}"})
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise MappingError(_("not a date: %(value)s") % {"value": f"{value!r:.60}"}) from None


# --- scalars --------------------------------------------------------------------------------


def money(value: Any, *, field: str) -> Decimal:
    """A money amount as ``Decimal``; ``null`` counts as zero (ShipStation omits zeros)."""
    if value is None:
        return ZERO
    if isinstance(value, bool):
        raise MappingError(
            _("%(field)s is not an amount: %(value)s") % {"field": field, "value": f"{value!r}"}
        )
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            raise MappingError(
                _("%(field)s is not an amount: %(value)s")
                % {"field": field, "value": f"{value!r:.40}"}
            ) from None
    elif isinstance(value, float):
        # Only reachable when a caller parsed JSON without parse_float=Decimal.
        if not math.isfinite(value):
            raise MappingError(
                _("%(field)s is not an amount: %(value)s") % {"field": field, "value": f"{value!r}"}
            )
        amount = Decimal(repr(value))
    else:
        raise MappingError(
            _("%(field)s is not an amount: %(value)s") % {"field": field, "value": f"{value!r:.40}"}
        )
    if not amount.is_finite():
        raise MappingError(
            _("%(field)s is not an amount: %(value)s") % {"field": field, "value": f"{value!r:.40}"}
        )
    return amount


def quantity(value: Any) -> Decimal:
    if value is None or isinstance(value, bool):
        raise MappingError(_("quantity is not a number: %(value)s") % {"value": f"{value!r}"})
    return money(value, field="quantity")


def text(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def optional_text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)


def required_text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise MappingError(_("%(key)s is missing") % {"key": key})
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MappingError(
            _("%(key)s is not a string or number: %(value)s")
            % {"key": key, "value": f"{value!r:.40}"}
        )
    return str(value)


def required_timestamp(record: Mapping[str, Any], key: str) -> datetime:
    moment = parse_timestamp(record.get(key))
    if moment is None:
        raise MappingError(_("%(key)s is missing") % {"key": key})
    return moment


def optional_int(value: Any, *, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise MappingError(
            _("%(field)s is not a number: %(value)s") % {"field": field, "value": f"{value!r}"}
        )
    try:
        return int(value)
    except (TypeError, ValueError):
        raise MappingError(
            _("%(field)s is not a number: %(value)s") % {"field": field, "value": f"{value!r:.40}"}
        ) from None


def address(value: Any, *, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MappingError(_("%(field)s is not an object") % {"field": field})
    return dict(value)
