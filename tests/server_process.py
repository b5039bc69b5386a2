"""A real gunicorn server in a subprocess, run the way the production image runs it, for tests
that read what a real server writes (its pages, its access log, its error log).

Use ``gunicorn_server(env=..., tmp_path=...)`` as a context manager: it picks a free loopback
port, starts the image's command (``gunicorn -c python:unify.gunicorn_config``) with the
access and error logs in files, waits until ``/healthz`` answers and stops the process group
at the end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import requests
from cryptography.fernet import Fernet

REPO_ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONFIG = "python:unify.gunicorn_config"

# Everything the settings read; a server under test gets only what the test gives it.
SETTINGS_VARIABLES = frozenset(
    {
        "DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG", "SECRET_KEY", "UNIFY_ENCRYPTION_KEYS",
        "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "UNIFY_DATA_DIR", "EMAIL_URL",
        "CELERY_BROKER_URL", "CSRF_TRUSTED_ORIGINS", "UNIFY_PUBLIC_BASE_URL",
        "TRUSTED_PROXY_COUNT", "LOG_LEVEL",
    }
)  # fmt: skip


# Tokens a test makes for the server (password reset, email confirmation) are signed with it.
PRODUCTION_SECRET_KEY = "prod-" + "x9Qv3LmZ7tR2wK8pN4sY6uB1cE5gH0jA" * 2


def clean_env(**overrides: str) -> dict[str, str]:
    """The parent's environment minus everything the settings read, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def production_env(*, data_dir: Path, database_url: str, redis_url: str, **more: str) -> dict:
    """The variables the production image is given (compose's ``environment``), without
    ``DJANGO_DEBUG``: the image must be safe when nobody sets it."""
    return {
        "DJANGO_SETTINGS_MODULE": "unify.settings.base",
        "SECRET_KEY": PRODUCTION_SECRET_KEY,
        "UNIFY_ENCRYPTION_KEYS": "vTc0w8yb6Z4xJ0m7o2hGmJ3r6M9dW2nq5cQ1u4l8Zp0=",
        "ALLOWED_HOSTS": "unify.example.com",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "UNIFY_DATA_DIR": str(data_dir),
        "STATIC_ROOT": str(data_dir / "static"),
        **more,
    }


def fresh_fernet_key() -> str:
    return Fernet.generate_key().decode()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    base_url: str
    access_log: Path
    error_log: Path
    stdio_log: Path
    process: subprocess.Popen

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.request("GET", self.base_url + path, **_defaults(kwargs))

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.request("POST", self.base_url + path, **_defaults(kwargs))

    def logs(self) -> tuple[str, str]:
        """(access log, error output) as written so far: the error output is gunicorn's error
        log plus what the application logged to stderr (Django's log handler)."""
        time.sleep(0.3)
        return (
            self.access_log.read_text(errors="replace"),
            self.error_log.read_text(errors="replace") + self.stdio_log.read_text(errors="replace"),
        )


def _defaults(kwargs: dict) -> dict:
    headers = {"Host": "unify.example.com", "X-Forwarded-Proto": "https"}
    headers.update(kwargs.pop("headers", {}) or {})
    kwargs["headers"] = headers
    kwargs.setdefault("allow_redirects", False)
    kwargs.setdefault("timeout", 30)
    return kwargs


@contextlib.contextmanager
def gunicorn_server(
    *, env: Mapping[str, str], tmp_path: Path, extra_args: tuple[str, ...] = ()
) -> Iterator[Server]:
    port = free_port()
    access_log = tmp_path / "access.log"
    error_log = tmp_path / "error.log"
    command = [
        sys.executable, "-m", "gunicorn", "unify.wsgi:application",
        "-c", GUNICORN_CONFIG,
        "--bind", f"127.0.0.1:{port}", "--workers", "1",
        "--access-logfile", str(access_log), "--error-logfile", str(error_log),
        *extra_args,
    ]  # fmt: skip
    stdio = open(tmp_path / "gunicorn.stdio", "ab")  # noqa: SIM115 - closed below
    process = subprocess.Popen(  # noqa: S603
        command,
        cwd=REPO_ROOT,
        env=dict(env),
        stdout=stdio,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(
        f"http://127.0.0.1:{port}", access_log, error_log, tmp_path / "gunicorn.stdio", process
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                stdio.flush()
                raise RuntimeError(
                    "gunicorn exited:\n"
                    + (tmp_path / "gunicorn.stdio").read_text(errors="replace")
                    + (error_log.read_text(errors="replace") if error_log.exists() else "")
                )
            with contextlib.suppress(requests.RequestException):
                if server.get("/healthz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer /healthz within 60 s")
            time.sleep(0.2)
        # The health check is not part of what a test reads.
        access_log.write_text("")
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        stdio.close()
