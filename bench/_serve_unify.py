"""Unify's WSGI app served on loopback in a process of its own, for the QuickBooks Desktop
benchmark (the Web Connector simulator runs in the benchmark's process, so the two never
share an interpreter or its lock).

One request at a time (the Web Connector is sequential). The wrapper counts the thread CPU
time spent inside Django's handler (middleware, view, database client) per request; the
benchmark reads it, with the process's own CPU time, from ``GET /__bench__`` (served by the
wrapper only, never by Unify). ``--profile FILE`` writes a cProfile of the handler (CPU
time, not wall) when the process receives SIGTERM.

    python bench/_serve_unify.py [--profile FILE]   # prints "serving: http://127.0.0.1:PORT"
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application
    from werkzeug.serving import WSGIRequestHandler, make_server

    app = get_wsgi_application()
    totals: dict = {"requests": 0, "handler_cpu_seconds": 0.0, "by_method": {}}
    profiler = cProfile.Profile(time.thread_time) if args.profile else None

    def measured(environ, start_response):
        if environ.get("PATH_INFO") == "/__bench__":
            body = json.dumps({**totals, "process_cpu_seconds": time.process_time()}).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        started = time.thread_time()
        if profiler:
            profiler.enable()
        try:
            # Django builds the whole answer in the call; iterating it costs nothing more.
            return list(app(environ, start_response))
        finally:
            if profiler:
                profiler.disable()
            spent = time.thread_time() - started
            totals["requests"] += 1
            totals["handler_cpu_seconds"] += spent
            # SOAPAction: "http://developer.intuit.com/sendRequestXML"
            method = environ.get("HTTP_SOAPACTION", "").strip('"').rsplit("/", 1)[-1] or "-"
            totals["by_method"][method] = totals["by_method"].get(method, 0.0) + spent

    class Quiet(WSGIRequestHandler):
        def log_request(self, *a, **k) -> None:
            pass

    server = make_server("127.0.0.1", 0, measured, threaded=False, request_handler=Quiet)

    def stop(*_args) -> None:
        if profiler:
            profiler.dump_stats(args.profile)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    print(f"serving: http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
