"""The stand-in base class: server lifecycle, routing, authentication, rate limits, faults,
the request log and the generic control endpoints."""

from __future__ import annotations

import abc
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from sandbox.framework.control import ControlError, control_body
from sandbox.framework.faults import _GATEWAY_FAULTS, FaultInjector, FaultKind, FaultRule
from sandbox.framework.logs import EventLog, RequestLog, RequestRecord
from sandbox.framework.payloads import Payload, json_response, render_payload
from sandbox.framework.rate_limits import RateLimitDecision, SlidingWindowRateLimiter

CONTROL_PREFIX = "/__sandbox__"


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
