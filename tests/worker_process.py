"""A real Celery worker in a subprocess, for tests that prove work runs in a worker (and
survives one being killed). Used through the ``celery_worker_process`` fixture.

The worker uses ``unify.settings.test`` against the same PostgreSQL test database and Redis
as the test process, so it sees rows the test has committed: tests that use it need
``@pytest.mark.django_db(transaction=True)``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import quote

REPO_ROOT = Path(__file__).resolve().parent.parent


def subprocess_database_url() -> str:
    """``DATABASE_URL`` of the database this test process uses (pytest-django's test_<name>)."""
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor != "postgresql":
        raise RuntimeError("worker subprocesses need the PostgreSQL test database")
    user = quote(s.get("USER") or "", safe="")
    password = quote(s.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = s.get("HOST") or "127.0.0.1"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{quote(s['NAME'], safe='')}"


def unique_queue(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class WorkerProcess:
    """One ``celery worker`` subprocess: ``.pid``, ``.kill(sig)``, ``.stop()``, ``.output()``."""

    def __init__(
        self,
        *,
        queues: Iterable[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        pool: str = "solo",
        concurrency: int = 1,
        loglevel: str = "INFO",
        extra_args: Iterable[str] = (),
    ) -> None:
        self.queues = list(queues)
        self.log_path = log_path
        self.hostname = f"{unique_queue('worker')}@%h"
        from django.conf import settings

        full_env = dict(os.environ)
        full_env.update(
            {
                "DJANGO_SETTINGS_MODULE": "unify.settings.test",
                "DATABASE_URL": subprocess_database_url(),
                "REDIS_URL": settings.REDIS_URL,
                "CELERY_TASK_ALWAYS_EAGER": "0",
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.pathsep.join(
                    p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
                ),
            }
        )
        full_env.update(env or {})
        self.command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "unify",
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            f"--loglevel={loglevel}",
            "-Q",
            ",".join(self.queues),
            "-n",
            self.hostname,
            "--without-gossip",
            "--without-mingle",
            *extra_args,
        ]
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        # Its own session, so a signal to the group reaches prefork children too, and a
        # Ctrl-C in the terminal does not hit it before the fixture's teardown does.
        self.process = subprocess.Popen(  # noqa: S603
            self.command,
            cwd=REPO_ROOT,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def is_alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until the worker consumes its queues ("... ready." in its log)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.is_alive():
                raise RuntimeError(
                    f"celery worker exited with {self.returncode} before it was ready:\n"
                    f"{self.output()[-4000:]}"
                )
            if " ready." in self.output():
                return
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"celery worker not ready after {timeout}s:\n{self.output()[-4000:]}")

    def kill(self, sig: int = signal.SIGKILL, *, group: bool = True) -> None:
        """Send ``sig`` to the worker (and, by default, its whole process group)."""
        if not self.is_alive():
            return
        try:
            if group:
                os.killpg(self.process.pid, sig)
            else:
                self.process.send_signal(sig)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float = 30.0) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self, timeout: float = 20.0) -> int | None:
        """Warm shutdown (SIGTERM: finish the current task), SIGKILL if it does not exit."""
        if self.is_alive():
            self.kill(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.process.wait(timeout=10)
        else:
            # Reap prefork children left behind when only the parent was killed.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        if not self._log.closed:
            self._log.close()
        return self.process.returncode
