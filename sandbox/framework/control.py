"""Control API plumbing: webhook delivery in a background thread, control errors and bodies."""

from __future__ import annotations

import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Request

from sandbox.framework.logs import EventLog
from sandbox.framework.payloads import json_loads


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
