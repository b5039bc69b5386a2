"""JSON with money as exact two-decimal numbers, and the response payloads faults can corrupt
(``null`` entries, truncated or malformed JSON)."""

from __future__ import annotations

import gc
import json
import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Response

# ---------------------------------------------------------------------------------------------
# JSON with money
# ---------------------------------------------------------------------------------------------

# Providers send money as JSON numbers with two decimals (19.99, 4.00). The json module can
# only emit floats, which would lose the scale and invite binary rounding, so Decimals travel
# through the encoder as strings between two control characters (which the encoder escapes
# and real data never contains); two plain replaces then turn ``"\u0000$19.99\u0001"``
# into ``19.99``.
_MONEY_OPEN = '"\\u0000$'
_MONEY_CLOSE = '\\u0001"'


def _encode_default(value: object) -> object:
    if isinstance(value, Decimal):
        return f"\x00${value:.2f}\x01"
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_encode_default)


def json_bytes(value: Any) -> bytes:
    """Serialise like the providers do: UTF-8, compact, Decimals as 2-decimal numbers."""
    raw = _ENCODER.encode(value)
    return raw.replace(_MONEY_OPEN, "").replace(_MONEY_CLOSE, "").encode()


def json_loads(data: bytes | str) -> Any:
    """Parse JSON keeping money exact (the way Unify's own client parses it)."""
    return json.loads(data, parse_float=Decimal)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a large, long-lived data set.

    Seeding allocates millions of objects that all stay alive; the collector would only
    rescan them again and again (most of the seeding time at 100k orders).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


@dataclass(slots=True)
class JsonPayload:
    """A JSON answer built from Python values."""

    value: Any
    status: int = 200


@dataclass(slots=True)
class JsonListPage:
    """A JSON list answer whose items are already serialised (cached per record).

    ``list_key`` None renders a bare array; otherwise ``{list_key: [...], **extra}``.
    """

    items: list[bytes]
    list_key: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    status: int = 200


Payload = Response | JsonPayload | JsonListPage


def _null_positions(length: int, rng: random.Random) -> list[int]:
    # At least one null, at the front (where a naive client trips first) and then ~1 in 8.
    positions = [0] + [i for i in range(1, length + 1) if rng.random() < 0.125]
    return positions


def render_payload(
    payload: JsonPayload | JsonListPage, *, nulls_rng: random.Random | None
) -> bytes:
    """Serialise a payload; with ``nulls_rng`` insert ``null`` entries into its lists."""
    if isinstance(payload, JsonListPage):
        items = payload.items
        if nulls_rng is not None:
            items = list(items)
            for offset, pos in enumerate(_null_positions(len(payload.items), nulls_rng)):
                items.insert(pos + offset, b"null")
        array = b"[" + b",".join(items) + b"]"
        if payload.list_key is None:
            return array
        head = json_bytes(payload.list_key)
        tail = b"".join(
            b"," + json_bytes(k) + b":" + json_bytes(v) for k, v in payload.extra.items()
        )
        return b"{" + head + b":" + array + tail + b"}"
    value = payload.value
    if nulls_rng is not None:
        value = _with_nulls(value, nulls_rng)
    return json_bytes(value)


def _with_nulls(value: Any, rng: random.Random) -> Any:
    if isinstance(value, list):
        out: list[Any] = list(value)
        for offset, pos in enumerate(_null_positions(len(value), rng)):
            out.insert(pos + offset, None)
        return out
    if isinstance(value, dict):
        return {k: _with_nulls(v, rng) if isinstance(v, list) else v for k, v in value.items()}
    return value


def json_response(
    value: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        json_bytes(value),
        status=status,
        headers=dict(headers or {}),
        content_type="application/json; charset=utf-8",
    )
