"""What travels on Xero's wire: ``/Date(ms+0000)/`` dates, the response envelope, exact money
in JSON, and the error bodies Xero sends.

- Accounting responses are an envelope ``{"Id", "Status": "OK", "ProviderName",
  "DateTimeUTC", "<Collection>": [...]}``; paged lists add ``"pagination"``.
- Dates are ``/Date(1714521600000+0000)/`` (milliseconds since the epoch, UTC); date-times
  such as ``UpdatedDateUTC`` the same; ``DateTimeUTC`` of the envelope has no offset.
- A validation failure with ``summarizeErrors`` on (the default) is a 400 with
  ``{"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception
  occurred", "Elements": [...]}``; with ``summarizeErrors=false`` each element carries its own
  ``HasErrors``/``ValidationErrors``/``StatusAttributeString`` and the answer is a 200.
- 401 and 403 are problem documents: ``{"Type": null, "Title": "Unauthorized", "Status": 401,
  "Detail": "TokenExpired: token expired at ...", "Instance": ..., "Extensions": {}}``.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Response

PROVIDER_NAME = "Unify sandbox"
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T[\d:.]+)?$")


class XeroJsonError(ValueError):
    pass


# -- dates -----------------------------------------------------------------------------------


def ms_date(day: date) -> str:
    """A date as Xero writes it: midnight UTC, with the +0000 offset."""
    stamp = int(datetime.combine(day, time.min, tzinfo=UTC).timestamp() * 1000)
    return f"/Date({stamp}+0000)/"


def ms_datetime(moment: datetime | None = None, *, offset: bool = True) -> str:
    moment = moment or datetime.now(UTC)
    stamp = int(moment.timestamp() * 1000)
    return f"/Date({stamp}+0000)/" if offset else f"/Date({stamp})/"


def parse_date(value: Any) -> date | None:
    """``/Date(ms[+zzzz])/`` or ``YYYY-MM-DD[Thh:mm:ss]`` (both are accepted on input)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r}")
    text = value.strip()
    match = _MS_DATE.match(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC).date()
    match = _ISO_DATE.match(text)
    if match:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    raise ValueError(f"not a date: {value!r}")


def date_string(day: date) -> str:
    """The ``DateString`` companion field Xero adds next to ``Date``."""
    return f"{day.isoformat()}T00:00:00"


# -- JSON ------------------------------------------------------------------------------------

# Decimals are written with the scale they carry (amounts 2 places, unit amounts 4) as plain
# JSON numbers: marked strings that lose their quotes after encoding.
_MARK = "\x00#"
_MARKED = re.compile(r'"\\u0000#(-?[0-9]+(?:\.[0-9]+)?)"')


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return f"{_MARK}{format(value, 'f')}"
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> bytes:
    text = json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":"))
    return _MARKED.sub(r"\1", text).encode()


def loads(raw: bytes | str) -> Any:
    try:
        return json.loads(raw, parse_float=Decimal, parse_int=Decimal)
    except ValueError as exc:
        raise XeroJsonError(str(exc)) from None


def json_answer(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body, status=status, headers=headers or {}, content_type="application/json; charset=utf-8"
    )


def envelope(collection: str, items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": PROVIDER_NAME,
        "DateTimeUTC": ms_datetime(offset=False),
        **extra,
        collection: items,
    }


# -- errors ----------------------------------------------------------------------------------


def problem(status: int, title: str, detail: str) -> Response:
    body = {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }
    return json_answer(dumps(body), status)


def unauthorized(detail: str = "AuthenticationUnsuccessful") -> Response:
    response = problem(401, "Unauthorized", detail)
    response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def forbidden() -> Response:
    """No connection between this token's user and the ``xero-tenant-id`` sent."""
    return problem(403, "Forbidden", "AuthenticationUnsuccessful")


def not_found() -> Response:
    return Response(
        "The resource you're looking for cannot be found",
        status=404,
        content_type="text/html; charset=utf-8",
    )


def validation_exception(elements: list[dict[str, Any]]) -> Response:
    body = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": elements,
    }
    return json_answer(dumps(body), 400)


def bad_request(message: str) -> Response:
    """A request that is not even a document (unreadable JSON, a wrong collection)."""
    body = {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": message}
    return json_answer(dumps(body), 400)


def server_error() -> Response:
    return problem(
        500,
        "An error occurred",
        "An error occurred in Xero. Check the API Status page http://status.developer.xero.com "
        "for current service status.",
    )


def organisation_offline() -> Response:
    return Response("The Organisation is offline", status=503, content_type="text/plain")
