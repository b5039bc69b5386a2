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

Modules: ``standin`` (the base class), ``payloads`` (JSON with money, corruptible payloads),
``logs``, ``rate_limits``, ``faults``, ``control`` (webhook delivery, control bodies). Import
from this package.
"""

from __future__ import annotations

from sandbox.framework.control import ControlError, WebhookDispatcher, control_body
from sandbox.framework.faults import FaultInjector, FaultKind, FaultRule
from sandbox.framework.logs import EventLog, RequestLog, RequestRecord
from sandbox.framework.payloads import (
    JsonListPage,
    JsonPayload,
    Payload,
    json_bytes,
    json_loads,
    json_response,
    paused_gc,
    render_payload,
)
from sandbox.framework.rate_limits import (
    UNLIMITED,
    FixedWindowRateLimiter,
    RateLimitDecision,
    SlidingWindowRateLimiter,
)
from sandbox.framework.standin import CONTROL_PREFIX, RequestContext, StandIn

__all__ = [
    "CONTROL_PREFIX",
    "UNLIMITED",
    "ControlError",
    "EventLog",
    "FaultInjector",
    "FaultKind",
    "FaultRule",
    "FixedWindowRateLimiter",
    "JsonListPage",
    "JsonPayload",
    "Payload",
    "RateLimitDecision",
    "RequestContext",
    "RequestLog",
    "RequestRecord",
    "SlidingWindowRateLimiter",
    "StandIn",
    "WebhookDispatcher",
    "control_body",
    "json_bytes",
    "json_loads",
    "json_response",
    "paused_gc",
    "render_payload",
]
