"""Reading one cell of an order file: text, numbers, money and dates, or a ``RowError``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from connections.sources.csv.columns import MAX_CELL_CHARS, RowError
from unify.core.stored_text import gettext as _

_MONEY = re.compile(r"^\s*(-)?\s*[$€£]?\s*(-)?(\d+(?:\.\d+)?|\.\d+)\s*$")
_OFFSET_NO_COLON = re.compile(r"([+-])(\d{2})(\d{2})$")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # spreadsheets store "1001" as 1001.0
    text = str(value).strip()
    if len(text) > MAX_CELL_CHARS:
        raise RowError(_("a value is longer than %(n)s characters") % {"n": MAX_CELL_CHARS})
    return text


def _decimal(value: Any, column: str, *, default: Decimal | None = None) -> Decimal:
    if isinstance(value, bool):
        raise RowError(_("%(column)s is not a number") % {"column": column})
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # openpyxl gives numeric cells as float; repr is the shortest exact spelling of what
        # the spreadsheet shows, so 19.99 stays 19.99.
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        return value
    text = _text(value)
    if not text:
        if default is None:
            raise RowError(_("%(column)s is empty") % {"column": column})
        return default
    match = _MONEY.match(text)
    if not match:
        raise RowError(
            _("%(column)s is not a number: %(value)s") % {"column": column, "value": text[:40]}
        )
    try:
        amount = Decimal(match.group(3))
    except InvalidOperation:
        raise RowError(_("%(column)s is not a number") % {"column": column}) from None
    return -amount if (match.group(1) or match.group(2)) else amount


_PLAIN_NUMBER = re.compile(r"-?\d{1,12}(?:\.(\d{1,12}))?")
_LIMIT = Decimal("1e12")


def _money(value: Any, column: str, *, default: Decimal | None = None, places: int = 2) -> Decimal:
    if type(value) is str:
        # The common case (a plain number in a CSV cell), checked without the general path.
        match = _PLAIN_NUMBER.fullmatch(value)
        if match is not None:
            fraction = match.group(1)
            if fraction is None or len(fraction) <= places or not fraction[places:].strip("0"):
                return Decimal(value)
    amount = _decimal(value, column, default=default)
    if not amount.is_finite() or abs(amount) >= _LIMIT:
        raise RowError(_("%(column)s is too large") % {"column": column})
    exponent = amount.as_tuple().exponent
    too_precise = isinstance(exponent, int) and exponent < -places
    if too_precise and amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise RowError(
            _("%(column)s has more than %(n)s decimals") % {"column": column, "n": places}
        )
    return amount


def _datetime(value: Any, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        text = _text(value)
        if not text:
            raise RowError(_("order_date is empty"))
        text = _OFFSET_NO_COLON.sub(r"\1\2:\3", text.replace(" +", "+").replace(" -", "-"))
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise RowError(
                _("order_date is not a date (use YYYY-MM-DD or YYYY-MM-DD HH:MM): %(value)s")
                % {"value": text[:40]}
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    if not (1990 <= moment.year <= 2200):
        raise RowError(_("order_date is out of range"))
    return moment.astimezone(UTC)
