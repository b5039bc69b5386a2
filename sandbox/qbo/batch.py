"""The QBO stand-in's batch lane and throttling extras (see ``app.QboSandbox``).

Intuit ("API call limits and throttles", "Batch operation"; docs/reference/provider-facts.md):

- ``POST /v3/company/{realm}/batch`` takes at most 30 ``BatchItemRequest`` items; more is a
  400 with a ``Fault`` for the whole request. Items run serially, each answered on its own
  (``bId`` + the entity, or ``bId`` + ``Fault``), and none sees what an earlier item of the
  same payload created: a reference to it is an invalid reference, as if it did not exist yet.
- Batch requests are throttled at 40 a minute per realm and app, beside the 500 requests a
  minute (batch requests included) and 10 a second per realm and app.
- A throttled request is a 429 (XML body); Intuit has also answered throttling as a 403 with
  the same ``ThrottleExceeded`` fault, which :class:`ThrottleInjector` can play.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from werkzeug.wrappers import Response

from sandbox.qbo.wire import intuit_time, throttled_response

# Intuit allows 10 a second; off by default (tests and benchmarks turn it on) because
# tests written before it send bursts from plain clients.
DEFAULT_PER_SECOND: int | None = None


def throttled_403_response(
    detail: str = "The request limit was reached.  Try again later",
) -> Response:
    """Throttling answered as HTTP 403 (seen from Intuit beside the documented 429)."""
    body = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<IntuitResponse time="{intuit_time()}" xmlns="http://schema.intuit.com/finance/v3">\n'
        '    <Fault type="SERVICE">\n'
        '        <Error code="3001">\n'
        "            <Message>message=ThrottleExceeded; errorCode=003001; statusCode=403"
        "</Message>\n"
        f"            <Detail>{escape(detail)}</Detail>\n"
        "        </Error>\n"
        "    </Fault>\n"
        "</IntuitResponse>\n"
    )
    return Response(body, status=403, content_type="application/xml")


@dataclass(slots=True)
class _ThrottleRule:
    status: int
    probability: float | None
    count: int | None
    path_prefix: str
    rng: random.Random
    fired: int = 0


@dataclass
class ThrottleInjector:
    """Throttling answers (429 or 403) injected before a request is handled: nothing is
    written. ``probability`` or ``count`` as for the other faults."""

    _rules: list[_ThrottleRule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self,
        status: int,
        *,
        probability: float | None = None,
        count: int | None = None,
        path_prefix: str = "/v3/",
        seed: int = 0,
    ) -> None:
        if status not in (403, 429):
            raise ValueError("status must be 403 or 429")
        if probability is None and count is None:
            count = 1
        with self._lock:
            self._rules.append(
                _ThrottleRule(status, probability, count, path_prefix, random.Random(seed))
            )

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def pick(self, path: str) -> Response | None:
        with self._lock:
            for rule in self._rules:
                if not path.startswith(rule.path_prefix):
                    continue
                if rule.count is not None:
                    if rule.fired >= rule.count:
                        continue
                elif rule.rng.random() >= float(rule.probability or 0):
                    continue
                rule.fired += 1
                return throttled_response() if rule.status == 429 else throttled_403_response()
        return None


class BatchVisibility:
    """What the items of one batch created, hidden from the items after them."""

    def __init__(self) -> None:
        self.created: set[tuple[str, str]] = set()

    def hides(self, entity: str, record_id: str) -> bool:
        return (entity, record_id) in self.created
