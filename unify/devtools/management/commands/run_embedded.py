"""``make run``: web, Celery worker, Celery beat and the sandbox stand-ins, together.

Everything runs on the embedded default (SQLite, file-system broker); Ctrl-C stops all of
it. Each part is a child process so a crash in one is visible and ends the whole run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


def _raise_keyboard_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def sandbox_environment() -> dict[str, str]:
    """Settings that point Unify at the sandbox stand-ins (the environment still wins).

    No ``QBO_REDIRECT_URI`` or ``XERO_REDIRECT_URI``: the callback address is then built from
    the request's host, so the OAuth flow starts and ends on the host the merchant browses
    (``localhost`` or ``127.0.0.1``), where the session cookie holding its ``state`` lives.
    The stand-ins accept any redirect URI for their demo clients."""
    from sandbox import xero
    from sandbox.qbo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

    xero_base = f"http://127.0.0.1:{xero.DEFAULT_PORT}"
    return {
        "SHIPSTATION_API_BASE_URL": "http://127.0.0.1:8765",
        # The QuickBooks Online stand-in (port 8766) plays Intuit's OAuth server and API.
        "QBO_CLIENT_ID": DEMO_CLIENT_ID,
        "QBO_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "QBO_DISCOVERY_URL": "http://127.0.0.1:8766/.well-known/openid_configuration",
        "QBO_API_BASE_URL": "http://127.0.0.1:8766/v3",
        "QBO_APP_BASE_URL": "http://127.0.0.1:8766",
        # oauthlib refuses plain-http token exchanges unless told the transport is local.
        "OAUTHLIB_INSECURE_TRANSPORT": "1",
        # The Xero stand-in (port 8767) plays Xero's identity service and Accounting API.
        "XERO_CLIENT_ID": xero.DEMO_CLIENT_ID,
        "XERO_CLIENT_SECRET": xero.DEMO_CLIENT_SECRET,
        "XERO_AUTHORIZE_URL": f"{xero_base}/identity/connect/authorize",
        "XERO_TOKEN_URL": f"{xero_base}/connect/token",
        "XERO_IDENTITY_BASE_URL": xero_base,
        "XERO_API_BASE_URL": f"{xero_base}/api.xro/2.0",
        "XERO_APP_BASE_URL": xero_base,
    }


class Command(BaseCommand):
    help = "Run Unify on its embedded default: web, worker, beat and the sandbox stand-ins."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-sandbox", action="store_true")

    def handle(self, *args, port: int, no_sandbox: bool, **options) -> None:
        python = sys.executable
        env = dict(os.environ)
        # Links in emails point at this server.
        env.setdefault("UNIFY_SITE_URL", f"http://127.0.0.1:{port}")
        if not no_sandbox:
            from sandbox.shipstation import DEMO_API_KEY, DEMO_API_SECRET

            for name, value in sandbox_environment().items():
                env.setdefault(name, value)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("demo_setup")
        data_dir = settings.DATA_DIR
        commands = {
            "web": [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "unify",
                "worker",
                "--loglevel=INFO",
                "--pool=threads",
                "--concurrency=4",
                "--without-gossip",
                "--without-mingle",
            ],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "unify",
                "beat",
                "--loglevel=INFO",
                f"--schedule={data_dir / 'celerybeat-schedule'}",
            ],
        }
        if not no_sandbox:
            commands = {"sandbox": [python, "-m", "sandbox"], **commands}
        processes: dict[str, subprocess.Popen] = {}
        # Ctrl-C, and also `kill` / a supervisor's SIGTERM, stop the children too instead of
        # leaving them orphaned; SIGINT is re-armed in case it was inherited as ignored.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            for name, command in commands.items():
                processes[name] = subprocess.Popen(command, env=env)  # noqa: S603
                if name == "sandbox":
                    time.sleep(1.5)
            self.stdout.write(self.style.SUCCESS(f"Unify is running at http://127.0.0.1:{port}/"))
            if not no_sandbox:
                self.stdout.write(
                    f"Sandbox ShipStation keys: API Key {DEMO_API_KEY}  "
                    f"API Secret {DEMO_API_SECRET}"
                )
                self.stdout.write(
                    "QuickBooks Desktop: Accounting > Connect QuickBooks Desktop, download the "
                    ".qwc file, then run `.venv/bin/python -m sandbox qbwc --qwc <file>` as "
                    "its Web Connector."
                )
            self.stdout.write("Press Ctrl-C to stop everything.")
            while True:
                for name, proc in processes.items():
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with code {proc.returncode}; stopping.")
                        return
                time.sleep(0.5)
        except KeyboardInterrupt:
            self.stdout.write("Stopping…")
        finally:
            for proc in processes.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            for proc in processes.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
