"""Query parameters as ShipStation reads them: case-insensitive names, empty means absent,
paging, date ranges, sorting, and the 400 ASP.NET answers with for a bad value."""

import math
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from werkzeug.wrappers import Request

from sandbox.framework import ControlError, JsonListPage
from sandbox.indexing import QueryResult, RangeFilter, time_key
from sandbox.shipstation.dates import FilterDateError, parse_filter_datetime

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100


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
