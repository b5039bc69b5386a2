"""Generic machinery shared by every sandbox stand-in.

A stand-in is a real HTTP server on loopback that plays one provider (ShipStation now,
QuickBooks Online and Xero later). Each one is a subclass of :class:`StandIn` and gets, for
free:

- server lifecycle: a threaded werkzeug server in a daemon thread, on a chosen port or an
  ephemeral one (``port=0``); ``start()``, ``.base_url``, ``stop()``, context manager;
- control API under ``/__sandbox__/`` (generic endpoints below, provider endpoints under
  ``/__sandbox__/<name>/``), mirrored by Python methods on the stand-in object itself, which
  is the "handle" tests use in-process;
- a request log (what the provider "received"): time, method, path, query string, account
  key (never a secret), status, fault kind;
- a per-account sliding-window rate limiter with ShipStation-style headers;
- fault injection ("next N requests" or "fraction p, seeded"), optionally limited to a path
  prefix;
- an event log for things the stand-in did on its own (webhook deliveries, crashes).

Generic control endpoints (JSON in, JSON out)::

    GET    /__sandbox__/                  name, base URLs, settings
    POST   /__sandbox__/reset             forget all provider state, faults, logs; default limit
    GET    /__sandbox__/requests?key=K    request log (optionally one account)
    DELETE /__sandbox__/requests          clear the request log
    GET    /__sandbox__/events            event log;  DELETE clears it
    GET    /__sandbox__/rate-limit        {"enabled", "limit", "window_seconds"}
    PUT    /__sandbox__/rate-limit        {"limit": 5, "window_seconds": 2} or {"enabled": false}
    DELETE /__sandbox__/rate-limit        disable rate limiting
    GET    /__sandbox__/faults            active fault rules
    POST   /__sandbox__/faults            {"kind", "count"|"probability", "seed", "path_prefix",
                                           "delay_seconds"}
    DELETE /__sandbox__/faults            clear every fault rule
    GET    /__sandbox__/public-base-url   {"url": ...};  PUT {"url": ... | null}
"""

from __future__ import annotations

import abc
import gc
import json
import math
import queue
import random
import threading
import time
import traceback
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, Self

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

CONTROL_PREFIX = "/__sandbox__"

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


# ---------------------------------------------------------------------------------------------
# Response payloads that faults can corrupt
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Request log and event log
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request the stand-in received (control API calls are not recorded)."""

    time: float  # wall clock, seconds since the epoch, at arrival
    monotonic: float  # the clock the rate limiter used for this request
    method: str
    path: str
    query: str
    account: str | None  # the API key presented (never the secret); None when absent
    status: int
    fault: str | None
    duration_ms: float

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "monotonic": self.monotonic,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "account": self.account,
            "status": self.status,
            "fault": self.fault,
            "duration_ms": round(self.duration_ms, 3),
        }


class RequestLog:
    """Every API request, oldest first; only the newest ``max_records`` are kept, so a demo
    left running for weeks does not grow without bound."""

    def __init__(self, max_records: int = 500_000) -> None:
        self._lock = threading.Lock()
        self._records: deque[RequestRecord] = deque(maxlen=max_records)

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self, account: str | None = None) -> list[RequestRecord]:
        with self._lock:
            records = list(self._records)
        if account is None:
            return records
        return [r for r in records if r.account == account]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def max_in_window(
        self,
        account: str,
        window_seconds: float,
        *,
        exclude_statuses: Iterable[int] = (401, 429),
    ) -> int:
        """Most requests of ``account`` admitted within any rolling window of that length.

        Rejected requests (429, and 401 which never reaches the limiter) are excluded by
        default because they do not consume budget.
        """
        excluded = set(exclude_statuses)
        times = sorted(r.monotonic for r in self.records(account) if r.status not in excluded)
        best = 0
        start = 0
        for end, t in enumerate(times):
            while t - times[start] >= window_seconds:
                start += 1
            best = max(best, end - start + 1)
        return best


class EventLog:
    """Things the stand-in did on its own initiative (webhook deliveries, handler crashes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[dict[str, Any]] = []

    def add(self, kind: str, **details: Any) -> None:
        with self._lock:
            self._events.append({"time": time.time(), "kind": kind, **details})

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            events = list(self._events)
        return [e for e in events if kind is None or e["kind"] == kind]

    def clear(self) -> None:
        with self._lock:
            self._events.clear()


# ---------------------------------------------------------------------------------------------
# Rate limiting
# ---------------------------------------------------------------------------------------------

UNLIMITED = 1_000_000


@dataclass(frozen=True, slots=True)
class RateLimitDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(self.remaining),
            "X-Rate-Limit-Reset": str(self.reset_seconds),
        }


class SlidingWindowRateLimiter:
    """At most ``limit`` admitted requests per key in any rolling window of ``window_seconds``.

    Only admitted requests count: a client that keeps hammering while limited is not
    punished further, so waiting ``reset_seconds`` after a 429 always frees a slot.
    """

    def __init__(self, limit: int | None = 40, window_seconds: float = 60.0) -> None:
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}
        self.limit = limit
        self.window_seconds = window_seconds

    @property
    def enabled(self) -> bool:
        return self.limit is not None

    def configure(self, limit: int | None, window_seconds: float = 60.0) -> None:
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1 (use None to disable)")
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        with self._lock:
            self.limit = limit
            self.window_seconds = window_seconds
            self._hits.clear()

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()

    def check(self, key: str, now: float) -> RateLimitDecision:
        with self._lock:
            limit, window = self.limit, self.window_seconds
            if limit is None:
                # Disabled (benchmarks): headers still present, reporting an ample budget.
                return RateLimitDecision(True, UNLIMITED, UNLIMITED, int(window))
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= window:
                hits.popleft()
            if len(hits) < limit:
                hits.append(now)
                reset = max(0, math.ceil(hits[0] + window - now))
                return RateLimitDecision(True, limit, limit - len(hits), reset)
            reset = max(1, math.ceil(hits[0] + window - now))
            return RateLimitDecision(False, limit, 0, reset)

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "limit": self.limit,
            "window_seconds": self.window_seconds,
        }


@dataclass(slots=True)
class _FixedWindow:
    start: float
    ours: int = 0  # requests of the key pair's client under test, admitted
    rejected: int = 0  # its requests answered 429
    others: int = 0  # another app's requests admitted (see ``set_other_usage``)
    others_arrived: int = 0

    @property
    def count(self) -> int:
        return self.ours + self.others

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "ours": self.ours,
            "rejected": self.rejected,
            "others": self.others,
        }


class FixedWindowRateLimiter:
    """At most ``limit`` admitted requests per key in each fixed window of ``window_seconds``;
    ``reset_seconds`` counts down to the next window (ShipStation: "the number of seconds
    remaining until the next window begins").

    A key's first request opens its first window; windows follow each other back to back
    from there. ``set_other_usage(key, n)`` models another app using the same key pair:
    ``n`` requests per window, spread evenly over it, each admitted while budget is left,
    so a client can meet a 429 with requests left in its own count. Only admitted requests
    count. ``windows(key)`` reports every window (its own and the other app's requests).
    """

    def __init__(self, limit: int | None = 40, window_seconds: float = 60.0) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, list[_FixedWindow]] = {}
        self._others: dict[str, int] = {}
        self.limit = limit
        self.window_seconds = window_seconds

    @property
    def enabled(self) -> bool:
        return self.limit is not None

    def configure(self, limit: int | None, window_seconds: float = 60.0) -> None:
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1 (use None to disable)")
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        with self._lock:
            self.limit = limit
            self.window_seconds = window_seconds
            self._windows.clear()

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
            self._others.clear()

    def set_other_usage(self, key: str, requests_per_window: int) -> None:
        if requests_per_window < 0:
            raise ValueError("requests_per_window must be 0 or more")
        with self._lock:
            if requests_per_window:
                self._others[key] = requests_per_window
            else:
                self._others.pop(key, None)

    def other_usage(self, key: str) -> int:
        with self._lock:
            return self._others.get(key, 0)

    def windows(self, key: str) -> list[dict[str, Any]]:
        with self._lock:
            return [w.to_json() for w in self._windows.get(key, [])]

    def _current(self, key: str, now: float) -> _FixedWindow:
        windows = self._windows.setdefault(key, [])
        if not windows:
            windows.append(_FixedWindow(start=now))
        window = windows[-1]
        if now >= window.start + self.window_seconds:
            self._others_arrive(key, window, window.start + self.window_seconds)
            elapsed = (now - window.start) // self.window_seconds
            window = _FixedWindow(start=window.start + elapsed * self.window_seconds)
            windows.append(window)
            del windows[:-1000]
        self._others_arrive(key, window, now)
        return window

    def _others_arrive(self, key: str, window: _FixedWindow, now: float) -> None:
        others = self._others.get(key, 0)
        if not others:
            return
        spacing = self.window_seconds / others
        due = min(others, max(0, math.floor((now - window.start) / spacing + 0.5)))
        for _ in range(window.others_arrived, due):
            assert self.limit is not None
            if window.count < self.limit:
                window.others += 1
        window.others_arrived = max(window.others_arrived, due)

    def check(self, key: str, now: float) -> RateLimitDecision:
        with self._lock:
            limit, length = self.limit, self.window_seconds
            if limit is None:
                return RateLimitDecision(True, UNLIMITED, UNLIMITED, int(length))
            window = self._current(key, now)
            # Rounded first: (start + 60.0) - start can be 60.000000000007, which is not 61 s.
            left = round(window.start + length - now, 6)
            if window.count < limit:
                window.ours += 1
                return RateLimitDecision(True, limit, limit - window.count, max(0, math.ceil(left)))
            window.rejected += 1
            return RateLimitDecision(False, limit, 0, max(1, math.ceil(left)))

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "limit": self.limit,
            "window_seconds": self.window_seconds,
            "kind": "fixed",
        }


# ---------------------------------------------------------------------------------------------
# Fault injection
# ---------------------------------------------------------------------------------------------


class FaultKind(StrEnum):
    SERVER_ERROR = "server_error"  # 500 with the provider's error body
    BAD_GATEWAY = "bad_gateway"  # 502 HTML page from the load balancer
    SERVICE_UNAVAILABLE = "service_unavailable"  # 503 HTML page
    SLOW = "slow"  # sleep delay_seconds, then answer normally
    TRUNCATED_JSON = "truncated_json"  # 200 whose body stops halfway
    MALFORMED_JSON = "malformed_json"  # 200 whose body is not valid JSON
    NULL_ENTRIES = "null_entries"  # 200 with null entries inserted into its lists

    @classmethod
    def parse(cls, value: str | FaultKind) -> FaultKind:
        aliases = {"500": cls.SERVER_ERROR, "502": cls.BAD_GATEWAY, "503": cls.SERVICE_UNAVAILABLE}
        if isinstance(value, FaultKind):
            return value
        return aliases.get(str(value)) or cls(str(value))


@dataclass
class FaultRule:
    """Either the next ``count`` matching requests, or each with ``probability`` (seeded)."""

    id: int
    kind: FaultKind
    count: int | None = None
    probability: float | None = None
    path_prefix: str | None = None
    delay_seconds: float = 5.0
    seed: int = 0
    fired: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def matches(self, path: str) -> bool:
        return self.path_prefix is None or path.startswith(self.path_prefix)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": str(self.kind),
            "count": self.count,
            "probability": self.probability,
            "path_prefix": self.path_prefix,
            "delay_seconds": self.delay_seconds,
            "seed": self.seed,
            "fired": self.fired,
        }


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._next_id = 1

    def add(
        self,
        kind: str | FaultKind,
        *,
        count: int | None = None,
        probability: float | None = None,
        path_prefix: str | None = None,
        delay_seconds: float = 5.0,
        seed: int = 0,
    ) -> FaultRule:
        if count is not None and probability is not None:
            raise ValueError("give either count or probability, not both")
        if count is None and probability is None:
            count = 1
        if count is not None and count < 1:
            raise ValueError("count must be at least 1")
        if probability is not None and not 0 < probability <= 1:
            raise ValueError("probability must be in (0, 1]")
        with self._lock:
            rule = FaultRule(
                id=self._next_id,
                kind=FaultKind.parse(kind),
                count=count,
                probability=probability,
                path_prefix=path_prefix,
                delay_seconds=delay_seconds,
                seed=seed,
                rng=random.Random(seed),
            )
            self._next_id += 1
            self._rules.append(rule)
            return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def pick(self, path: str) -> FaultRule | None:
        """The fault for this request, if any; counting rules are used up in order."""
        with self._lock:
            for rule in list(self._rules):
                if not rule.matches(path):
                    continue
                if rule.count is not None:
                    rule.count -= 1
                    rule.fired += 1
                    if rule.count <= 0:
                        self._rules.remove(rule)
                    return rule
                if rule.probability is not None and rule.rng.random() < rule.probability:
                    rule.fired += 1
                    return rule
            return None


_GATEWAY_FAULTS = {FaultKind.BAD_GATEWAY.value, FaultKind.SERVICE_UNAVAILABLE.value}

# ---------------------------------------------------------------------------------------------
# Control API plumbing
# ---------------------------------------------------------------------------------------------


class WebhookDispatcher:
    """Delivers outgoing webhooks from one background thread, in order.

    Delivery failures are swallowed (a provider does not care whether the merchant's app was
    up) and recorded in the event log, as is every success.
    """

    def __init__(self, events: EventLog, *, timeout: float = 3.0) -> None:
        self._events = events
        self._timeout = timeout
        self._queue: queue.Queue[tuple[str, bytes, dict[str, str], dict[str, Any]] | None] = (
            queue.Queue()
        )
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def post(
        self, url: str, body: bytes, *, headers: Mapping[str, str] | None = None, **context: Any
    ) -> None:
        all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        self._queue.put((url, body, all_headers, context))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery was attempted; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                self._deliver(*job)
            finally:
                self._queue.task_done()

    def _deliver(
        self, url: str, body: bytes, headers: dict[str, str], context: dict[str, Any]
    ) -> None:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                status: int | None = response.status
                error = None
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            status, error = None, f"{type(exc).__name__}: {exc}"
        self._events.add(
            "webhook",
            url=url,
            body=body.decode(),
            status=status,
            error=error,
            duration_ms=round((time.monotonic() - started) * 1000, 1),
            **context,
        )


class ControlError(Exception):
    """A control API call that cannot be honoured; becomes a JSON 4xx."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def control_body(request: Request) -> dict[str, Any]:
    if not request.get_data():
        return {}
    try:
        body = json_loads(request.get_data())
    except ValueError as exc:
        raise ControlError(f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ControlError("body must be a JSON object")
    return body


class _QuietRequestHandler(WSGIRequestHandler):
    # The request log is the record; werkzeug's access lines would only flood test output.
    verbose: ClassVar[bool] = False

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002
        if self.verbose or type == "error":
            super().log(type, message, *args)


class _VerboseRequestHandler(_QuietRequestHandler):
    verbose = True


@dataclass(slots=True)
class RequestContext:
    """What the generic layer learned about an API request before the provider handles it."""

    account: str | None
    fault: FaultRule | None


# ---------------------------------------------------------------------------------------------
# The stand-in base class
# ---------------------------------------------------------------------------------------------


class StandIn(abc.ABC):
    """Base of every stand-in: a WSGI app plus the server that runs it.

    Subclasses set ``name``, implement :meth:`authenticate`, :meth:`api_rules`,
    :meth:`control_rules`, :meth:`reset_state` and optionally the error-body hooks.
    Endpoints are method names; API endpoints receive ``(request, ctx, **url_values)`` and
    return a :data:`Payload`; control endpoints receive ``(request, **url_values)`` and
    return a JSON-serialisable value (or a ``Response``).
    """

    name: ClassVar[str]
    default_rate_limit: ClassVar[int | None] = 40
    default_rate_window: ClassVar[float] = 60.0
    rate_limiter_class: ClassVar[type] = SlidingWindowRateLimiter

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.request_log = RequestLog()
        self.event_log = EventLog()
        self.faults = FaultInjector()
        self.rate_limiter = self.rate_limiter_class(
            self.default_rate_limit, self.default_rate_window
        )
        self._epoch = 0  # bumped by reset()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._base_url: str | None = None
        self._public_base_url: str | None = None
        self._api_map = Map(self.api_rules(), strict_slashes=False, merge_slashes=False)
        provider_prefix = f"{CONTROL_PREFIX}/{self.name}"
        control = [
            Rule(f"{CONTROL_PREFIX}/", endpoint="control_info", methods=["GET"]),
            Rule(f"{CONTROL_PREFIX}/reset", endpoint="control_reset", methods=["POST"]),
            Rule(
                f"{CONTROL_PREFIX}/requests", endpoint="control_requests", methods=["GET", "DELETE"]
            ),
            Rule(f"{CONTROL_PREFIX}/events", endpoint="control_events", methods=["GET", "DELETE"]),
            Rule(
                f"{CONTROL_PREFIX}/rate-limit",
                endpoint="control_rate_limit",
                methods=["GET", "PUT", "DELETE"],
            ),
            Rule(
                f"{CONTROL_PREFIX}/faults",
                endpoint="control_faults",
                methods=["GET", "POST", "DELETE"],
            ),
            Rule(
                f"{CONTROL_PREFIX}/public-base-url",
                endpoint="control_public_base_url",
                methods=["GET", "PUT"],
            ),
        ]
        for rule in self.control_rules():
            rule.rule = provider_prefix + rule.rule
            control.append(rule)
        self._control_map = Map(control, strict_slashes=False, merge_slashes=False)

    # -- subclass contract ------------------------------------------------------------------

    @abc.abstractmethod
    def api_rules(self) -> list[Rule]: ...

    @abc.abstractmethod
    def control_rules(self) -> list[Rule]:
        """Provider control routes, relative to ``/__sandbox__/<name>``."""

    @abc.abstractmethod
    def authenticate(self, request: Request) -> tuple[str | None, Response | None]:
        """Return (account key for the log, None) or (key or None, the 401 response)."""

    @abc.abstractmethod
    def reset_state(self) -> None:
        """Forget every account and everything in them."""

    def error_response(self, status: int, message: str) -> Response:
        return json_response({"error": message}, status)

    def fault_server_error(self, rule: FaultRule) -> Response:
        return json_response({"error": "injected fault"}, 500)

    def fault_gateway_page(self, status: int) -> Response:
        title = {502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable"}[status]
        body = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
        )
        return Response(body, status=status, content_type="text/html")

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False) -> Self:
        if self._server is not None:
            raise RuntimeError(f"{self.name} stand-in already running at {self.base_url}")
        handler = _VerboseRequestHandler if verbose else _QuietRequestHandler
        server = make_server(host, port, self.wsgi_app, threaded=True, request_handler=handler)
        url_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self._base_url = f"http://{url_host}:{server.port}"
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError(f"{self.name} stand-in is not running")
        return self._base_url

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def public_base_url(self) -> str:
        """Base URL written into URLs the stand-in hands out (webhook resource URLs)."""
        return self._public_base_url or self.base_url

    def set_public_base_url(self, url: str | None) -> None:
        self._public_base_url = url.rstrip("/") if url else None

    # -- Python mirror of the generic control API ---------------------------------------------

    def reset(self) -> None:
        """Back to a fresh server: no accounts, no faults, default rate limit, empty logs,
        resource URLs on the server's own address."""
        with self.lock:
            self._epoch += 1
            self.reset_state()
        self._public_base_url = None
        self.faults.clear()
        self.rate_limiter.configure(self.default_rate_limit, self.default_rate_window)
        self.rate_limiter.reset()
        self.request_log.clear()
        self.event_log.clear()

    def set_rate_limit(self, limit: int, window_seconds: float = 60.0) -> None:
        self.rate_limiter.configure(limit, window_seconds)

    def disable_rate_limit(self) -> None:
        self.rate_limiter.configure(None, self.rate_limiter.window_seconds)

    def inject_faults(
        self,
        kind: str | FaultKind,
        *,
        count: int | None = None,
        probability: float | None = None,
        path_prefix: str | None = None,
        delay_seconds: float = 5.0,
        seed: int = 0,
    ) -> FaultRule:
        return self.faults.add(
            kind,
            count=count,
            probability=probability,
            path_prefix=path_prefix,
            delay_seconds=delay_seconds,
            seed=seed,
        )

    def clear_faults(self) -> None:
        self.faults.clear()

    def requests_log(self, key: str | None = None) -> list[RequestRecord]:
        return self.request_log.records(key)

    def clear_requests_log(self) -> None:
        self.request_log.clear()

    def max_requests_in_window(self, key: str, window_seconds: float | None = None) -> int:
        window = window_seconds if window_seconds is not None else self.rate_limiter.window_seconds
        return self.request_log.max_in_window(key, window)

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        return self.event_log.events(kind)

    # -- WSGI ---------------------------------------------------------------------------------

    def wsgi_app(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == CONTROL_PREFIX or request.path.startswith(CONTROL_PREFIX + "/"):
            response = self._dispatch_control(request)
        else:
            response = self._dispatch_api(request)
        return response(environ, start_response)

    def _dispatch_control(self, request: Request) -> Response:
        adapter = self._control_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
            result = getattr(self, str(endpoint))(request, **values)
        except ControlError as exc:
            return json_response({"error": str(exc)}, exc.status)
        except (KeyError, ValueError, TypeError) as exc:
            return json_response({"error": f"{type(exc).__name__}: {exc}"}, 400)
        except NotFound:
            return json_response({"error": f"no control endpoint {request.path}"}, 404)
        except MethodNotAllowed:
            return json_response({"error": f"{request.method} not allowed here"}, 405)
        if isinstance(result, Response):
            return result
        return json_response(result)

    def _dispatch_api(self, request: Request) -> Response:
        wall, arrived = time.time(), time.monotonic()
        epoch = self._epoch
        fault_kind: str | None = None
        account, denial = self.authenticate(request)
        if denial is not None:
            response = denial
        else:
            assert account is not None
            decision = self.rate_limiter.check(account, arrived)
            if not decision.allowed:
                response = self.rate_limited_response(decision)
            else:
                rule = self.faults.pick(request.path)
                fault_kind = str(rule.kind) if rule else None
                response = self._answer(request, RequestContext(account, rule))
            # Gateway pages come from the load balancer, before the API counted anything.
            if fault_kind not in _GATEWAY_FAULTS:
                response.headers.update(decision.headers())
        if epoch != self._epoch:
            # Arrived before a reset (say, a slow fault still sleeping): it belongs to the
            # previous test, whose log is gone; recording it would pollute the next one.
            return response
        self.request_log.append(
            RequestRecord(
                time=wall,
                monotonic=arrived,
                method=request.method,
                path=request.path,
                query=request.query_string.decode("latin-1"),
                account=account,
                status=response.status_code,
                fault=fault_kind,
                duration_ms=(time.monotonic() - arrived) * 1000,
            )
        )
        return response

    def rate_limited_response(self, decision: RateLimitDecision) -> Response:
        return json_response({"message": "Too Many Requests"}, 429)

    def _answer(self, request: Request, ctx: RequestContext) -> Response:
        rule = ctx.fault
        if rule is not None:
            if rule.kind is FaultKind.SERVER_ERROR:
                return self.fault_server_error(rule)
            if rule.kind is FaultKind.BAD_GATEWAY:
                return self.fault_gateway_page(502)
            if rule.kind is FaultKind.SERVICE_UNAVAILABLE:
                return self.fault_gateway_page(503)
            if rule.kind is FaultKind.SLOW:
                time.sleep(rule.delay_seconds)
        adapter = self._api_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match(path_info=self.api_path(request))
            payload: Payload = getattr(self, str(endpoint))(request, ctx, **values)
        except NotFound:
            return self.error_response(404, self.not_found_message(request))
        except MethodNotAllowed:
            return self.error_response(405, self.method_not_allowed_message(request))
        except HTTPException as exc:
            return self.error_response(exc.code or 500, exc.description or "")
        except Exception as exc:  # a stand-in bug must look like a provider 500, and be seen
            self.event_log.add("handler_crash", path=request.path, error=traceback.format_exc())
            return self.error_response(500, f"{type(exc).__name__}: {exc}")
        if isinstance(payload, Response):
            return payload
        nulls = rule.rng if rule is not None and rule.kind is FaultKind.NULL_ENTRIES else None
        body = render_payload(payload, nulls_rng=nulls)
        if rule is not None and rule.kind is FaultKind.TRUNCATED_JSON:
            body = body[: max(1, len(body) // 2)]
        elif rule is not None and rule.kind is FaultKind.MALFORMED_JSON:
            # A trailing comma and a bare word: plausible-looking, rejected by every parser.
            body = body[:-1] + b",undefined" + body[-1:] if len(body) > 1 else b"{,}"
        return Response(body, status=payload.status, content_type="application/json; charset=utf-8")

    def api_path(self, request: Request) -> str:
        """The path routed to API endpoints (override to ignore case, as IIS does)."""
        return request.path

    def not_found_message(self, request: Request) -> str:
        return f"No HTTP resource was found that matches the request URI '{request.url}'."

    def method_not_allowed_message(self, request: Request) -> str:
        return f"The requested resource does not support http method '{request.method}'."

    # -- generic control endpoints ------------------------------------------------------------

    def control_info(self, request: Request) -> dict[str, Any]:
        return {
            "name": self.name,
            "base_url": self.base_url,
            "public_base_url": self.public_base_url,
            "rate_limit": self.rate_limiter.to_json(),
            "faults": [r.to_json() for r in self.faults.rules()],
        }

    def control_reset(self, request: Request) -> dict[str, Any]:
        self.reset()
        return {"reset": True}

    def control_requests(self, request: Request) -> dict[str, Any]:
        if request.method == "DELETE":
            self.clear_requests_log()
            return {"cleared": True}
        key = request.args.get("key")
        return {"requests": [r.to_json() for r in self.requests_log(key)]}

    def control_events(self, request: Request) -> dict[str, Any]:
        if request.method == "DELETE":
            self.event_log.clear()
            return {"cleared": True}
        return {"events": self.events(request.args.get("kind"))}

    def control_rate_limit(self, request: Request) -> dict[str, Any]:
        if request.method == "DELETE":
            self.disable_rate_limit()
        elif request.method == "PUT":
            body = control_body(request)
            window = float(body.get("window_seconds", self.default_rate_window))
            if body.get("enabled", True) is False or ("limit" in body and body["limit"] is None):
                self.rate_limiter.configure(None, window)
            else:
                self.set_rate_limit(int(body.get("limit", self.default_rate_limit or 40)), window)
        return self.rate_limiter.to_json()

    def control_faults(self, request: Request) -> Any:
        if request.method == "DELETE":
            self.clear_faults()
            return {"faults": []}
        if request.method == "POST":
            body = control_body(request)
            try:
                kind = FaultKind.parse(body["kind"])
            except (KeyError, ValueError) as exc:
                choices = ", ".join(k.value for k in FaultKind)
                raise ControlError(f"kind must be one of {choices} (or 500/502/503)") from exc
            rule = self.inject_faults(
                kind,
                count=body.get("count"),
                probability=float(body["probability"]) if body.get("probability") else None,
                path_prefix=body.get("path_prefix"),
                delay_seconds=float(body.get("delay_seconds", 5.0)),
                seed=int(body.get("seed", 0)),
            )
            return rule.to_json()
        return {"faults": [r.to_json() for r in self.faults.rules()]}

    def control_public_base_url(self, request: Request) -> dict[str, Any]:
        if request.method == "PUT":
            self.set_public_base_url(control_body(request).get("url"))
        return {"url": self.public_base_url}
