"""QuickBooks Online wire formats: JSON with exact numbers, Intuit timestamps, fault bodies.

Shapes follow what Intuit returns (see /work/shared/reference/ledgers.md):

- a business fault is HTTP 400 with ``{"Fault": {"Error": [{"Message", "Detail", "code",
  "element"}], "type": "ValidationFault"}, "time": "..."}`` (codes are strings);
- a bad, expired or revoked access token is HTTP 401 with Intuit's gateway body, whose keys
  are lower-case (``{"fault": {"error": [...], "type": "AUTHENTICATION"}, ...}``);
- throttling is HTTP 429 with an XML ``IntuitResponse`` even when JSON was asked for.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from werkzeug.wrappers import Response

# Intuit stamps responses with the server's Pacific wall time and offset.
PACIFIC = ZoneInfo("America/Los_Angeles")

_NUMBER_MARK = "\x00#"
_NUMBER_RE = re.compile(rb'"\\u0000#(-?[0-9]+(?:\.[0-9]+)?)"')


def _encode_default(value: object) -> object:
    if isinstance(value, Decimal):
        # Plain notation, the scale the value carries (amounts are kept at 2 places, Qty and
        # UnitPrice at whatever the client sent): never a float, never an exponent.
        return f"{_NUMBER_MARK}{format(value, 'f')}"
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def wire_bytes(value: Any) -> bytes:
    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_encode_default)
    return _NUMBER_RE.sub(rb"\1", raw.encode())


def wire_loads(data: bytes | str) -> Any:
    return json.loads(data, parse_float=Decimal)


def intuit_tid() -> str:
    """Intuit's per-request trace id (response header ``intuit_tid``, quoted to support)."""
    return "1-" + secrets.token_hex(4) + "-" + secrets.token_hex(12)


def json_answer(body: bytes, status: int = 200) -> Response:
    return Response(
        body,
        status=status,
        content_type="application/json;charset=UTF-8",
        headers={"intuit_tid": intuit_tid()},
    )


def wire_response(value: Any, status: int = 200) -> Response:
    return json_answer(wire_bytes(value), status)


def intuit_time(moment: datetime | None = None) -> str:
    """``2026-05-01T10:22:33.123-07:00``, as in the ``time`` member of every answer."""
    local = (moment or datetime.now(UTC)).astimezone(PACIFIC)
    return local.isoformat(timespec="milliseconds")


def meta_time(moment: datetime | None = None) -> str:
    """``2026-05-01T10:22:33-07:00``, as in ``MetaData.CreateTime``."""
    local = (moment or datetime.now(UTC)).astimezone(PACIFIC)
    return local.isoformat(timespec="seconds")


def today_pacific() -> str:
    return datetime.now(UTC).astimezone(PACIFIC).date().isoformat()


# ---------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------


class QboFault(Exception):
    """One ``Fault.Error`` entry; raised by the business rules, rendered as a 400."""

    def __init__(
        self,
        code: int | str,
        message: str,
        detail: str,
        element: str = "",
        *,
        fault_type: str = "ValidationFault",
        status: int = 400,
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.code = str(code)
        self.message = message
        self.detail = detail
        self.element = element
        self.fault_type = fault_type
        self.status = status

    def error(self) -> dict[str, str]:
        return {
            "Message": self.message,
            "Detail": self.detail,
            "code": self.code,
            "element": self.element,
        }

    def fault(self) -> dict[str, Any]:
        return {"Error": [self.error()], "type": self.fault_type}

    def body(self) -> dict[str, Any]:
        return {"Fault": self.fault(), "time": intuit_time()}

    def response(self) -> Response:
        return wire_response(self.body(), self.status)


BUSINESS_MESSAGE = "A business validation error has occurred while processing your request"


def business_error(detail: str, code: int = 6000, element: str = "") -> QboFault:
    return QboFault(code, BUSINESS_MESSAGE, f"Business Validation Error: {detail}", element)


def required_param(element: str) -> QboFault:
    return QboFault(
        2020,
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element,
    )


def object_not_found(entity: str = "", object_id: str = "") -> QboFault:
    # Intuit answers a missing and an inactive object with the same words.
    return QboFault(
        610,
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. Check the "
        "fields with accounts, customers, items, vendors or employees.",
        "",
    )


def invalid_reference(element: str, value: str) -> QboFault:
    return QboFault(
        2500,
        "Invalid Reference Id",
        f"Invalid Reference Id : {element} assigned to this transaction has been deleted or "
        f"does not exist (Id={value}). Before you can save this transaction, you need to select "
        "one that exists.",
        element,
    )


def duplicate_name(entity: str, existing_id: str) -> QboFault:
    if entity in ("Customer", "Vendor", "Employee"):
        what = "Another customer, vendor or employee is already using this name."
    elif entity == "Item":
        what = "Another product or service is already using this name."
    elif entity == "Account":
        what = "Another account is already using this name."
    else:
        what = f"Another {entity.lower()} is already using this name."
    return QboFault(
        6240,
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : {what} Please use a different name. Id={existing_id}",
        "",
    )


def duplicate_doc_number(doc_number: str, txn_type: str, txn_id: str, code: int = 6140) -> QboFault:
    """6140 on sales forms; QuickBooks has answered the same error as 6210 too (Intuit's list
    of frequent errors), which the stand-in sends when told to (``duplicate_doc_number_code``)."""
    return QboFault(
        code,
        "Duplicate Document Number Error",
        "Duplicate Document Number Error : You must specify a different number. This number "
        f"has already been used. DocNumber={doc_number} is assigned to TxnType={txn_type} with "
        f"TxnId={txn_id}",
        "",
    )


def stale_object(entity: str, object_id: str, sent: str, current: str) -> QboFault:
    return QboFault(
        5010,
        "Stale Object Error",
        f"Stale Object Error : You and another user were working on the same thing. The "
        f"other user finished before you did, so your work was not saved. ({entity} Id={object_id}"
        f" SyncToken sent={sent}, current={current})",
        "",
    )


def string_too_long(element: str, maximum: int, supplied: int) -> QboFault:
    return QboFault(
        2050,
        "String length is either shorter or longer than supported by specification",
        f"String length specified does not match the supported length. Min:0 Max:{maximum} "
        f"supplied:{supplied}",
        element,
    )


def invalid_number(element: str, value: object) -> QboFault:
    return QboFault(2000, "Invalid Number", f"Invalid Number : {element}={value!r}", element)


def invalid_enum(element: str, value: object) -> QboFault:
    return QboFault(2170, "Invalid Enumeration", f"Invalid Enumeration : {value}", element)


def invalid_date(element: str, value: object) -> QboFault:
    return QboFault(2000, "Invalid Date", f"Invalid Date : {element}={value!r}", element)


def bad_request_body(detail: str) -> QboFault:
    return QboFault(
        2010,
        "Request has invalid or unsupported property",
        f"Property Name:{detail} specified is unsupported or invalid",
        "",
    )


def unsupported_operation(entity: str, operation: str) -> QboFault:
    return QboFault(
        500,
        "Unsupported Operation",
        f"Operation {operation} is not supported for {entity}.",
        "",
    )


def query_parse_error(detail: str) -> QboFault:
    return QboFault(4000, "Error parsing query", f"QueryParserError: {detail}", "")


def query_validation_error(detail: str) -> QboFault:
    return QboFault(4001, "Invalid query", f"QueryValidationError: {detail}", "")


def system_fault(detail: str = "") -> QboFault:
    return QboFault(
        10000,
        "An application error has occurred while processing your request",
        f"System Failure Error: {detail or 'An unexpected error occurred while accessing or saving your data. Please wait a few minutes and try again.'}",  # noqa: E501
        "",
        fault_type="SystemFault",
        status=500,
    )


def unauthorized_response(detail: str | None) -> Response:
    """What Intuit's gateway answers for a missing, malformed, expired or revoked token."""
    body = {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": detail,
                    "code": "3200",
                    "element": None,
                }
            ],
            "type": "AUTHENTICATION",
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": int(datetime.now(UTC).timestamp() * 1000),
        "status": None,
        "cdcresponse": [],
    }
    response = wire_response(body, 401)
    response.headers["WWW-Authenticate"] = 'Bearer realm="Intuit", error="invalid_token"'
    return response


def forbidden_response() -> Response:
    """A valid token presented for a company it was not issued for."""
    body = {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {
                    "message": "message=AuthorizationFailed; errorCode=003100; statusCode=403",
                    "detail": None,
                    "code": "3100",
                    "element": None,
                }
            ],
            "type": "SERVICE",
        },
        "time": int(datetime.now(UTC).timestamp() * 1000),
    }
    return wire_response(body, 403)


def throttled_response(
    detail: str = "The request limit was reached.  Try again later", status: int = 429
) -> Response:
    """HTTP 429 in XML whatever the Accept header said (python-quickbooks cannot parse it).
    ``status`` 403: the same fault as Intuit has also sent it (statusCode=403)."""
    body = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<IntuitResponse time="{intuit_time()}" xmlns="http://schema.intuit.com/finance/v3">\n'
        '    <Fault type="SERVICE">\n'
        '        <Error code="3001">\n'
        f"            <Message>message=ThrottleExceeded; errorCode=003001; statusCode={status}"
        "</Message>\n"
        f"            <Detail>{escape(detail)}</Detail>\n"
        "        </Error>\n"
        "    </Fault>\n"
        "</IntuitResponse>\n"
    )
    return Response(body, status=status, content_type="application/xml")


def to_decimal(value: object, element: str) -> Decimal | None:
    """A number as python-quickbooks may send it: JSON number, Decimal string, or "" (unset)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise invalid_number(element, value)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise invalid_number(element, value) from None
        if not result.is_finite():
            raise invalid_number(element, value)
        return result
    raise invalid_number(element, value)
