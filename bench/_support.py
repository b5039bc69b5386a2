"""What the benchmarks share: their database, Django set-up and the sandbox process.

Not a benchmark itself (``make bench`` runs ``bench/[!_]*.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def host_url() -> str:
    """The PostgreSQL server the benchmarks create their databases on."""
    return os.environ.get("BENCH_DATABASE_HOST_URL", "postgres://postgres@127.0.0.1:5432")


def production_env(db_name: str) -> dict[str, str]:
    """Settings of a benchmark's worker or drains: production mode (``DEBUG`` off) on the
    benchmark's own database and Redis."""
    return {
        "DATABASE_URL": f"{host_url()}/{db_name}",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/4"),
        "DJANGO_SETTINGS_MODULE": "unify.settings.base",
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": "bench-" + "x" * 50,
        "UNIFY_ENCRYPTION_KEYS": "vTc0w8yb6Z4xJ0m7o2hGmJ3r6M9dW2nq5cQ1u4l8Zp0=",
        "ALLOWED_HOSTS": "localhost",
        "LOG_LEVEL": "WARNING",
    }


def recreate_database(db_name: str) -> None:
    """Drop and create ``db_name``: figures do not depend on what earlier runs left."""
    import psycopg

    with psycopg.connect(f"{host_url()}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db_name}"')


def fresh_database(db_name: str, env: dict[str, str]) -> None:
    """A new ``db_name`` with Unify's schema (``env`` names it in ``DATABASE_URL``)."""
    recreate_database(db_name)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
    )


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def start_sandbox(stand_in: str) -> tuple[subprocess.Popen[str], str]:
    """``python -m sandbox`` on free ports; returns the process and the base URL of
    ``stand_in`` ("ShipStation", "QuickBooks Online" or "Xero") as the sandbox prints it."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--shipstation-port",
            "0",
            "--qbo-port",
            "0",
            "--xero-port",
            "0",
        ],  # fmt: skip
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    prefix = f"{stand_in} stand-in:"
    for line in proc.stdout:
        if line.startswith(prefix):
            # Keep reading its output in the background so its pipe never fills.
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc, line.split(":", 1)[1].strip()
    raise RuntimeError(f"the {stand_in} stand-in did not start")


def _cpu_seconds(pid: int | str) -> float | None:
    """User + system CPU time of a live process (Linux ``/proc``), or ``None``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_backends(database: str) -> list[str]:
    """Pids of the PostgreSQL server processes serving ``database`` (by process title)."""
    marker = f" {database} ".encode()
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                title = cmdline.read()
        except OSError:
            continue
        if title.startswith(b"postgres: ") and marker in title:
            pids.append(pid)
    return pids


class CpuMeter:
    """CPU seconds spent while it runs by named processes and by the PostgreSQL backends of
    ``database``, sampled every ``interval`` so that a backend which exits before the end
    (a worker closes its connection after each task) still counts. Linux only: elsewhere
    ``stop`` returns an empty dict."""

    def __init__(self, *, pids: dict[str, int], database: str, interval: float = 0.1) -> None:
        self.pids = pids
        self.database = database
        self.interval = interval
        self._first: dict[tuple[str, str], float] = {}
        self._last: dict[tuple[str, str], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, *, initial: bool = False) -> None:
        watched = [(name, str(pid)) for name, pid in self.pids.items()]
        watched += [("postgres", pid) for pid in _postgres_backends(self.database)]
        for key in watched:
            seconds = _cpu_seconds(key[1])
            if seconds is None:
                continue
            # A process first seen after the start did all its work within the measure.
            self._first.setdefault(key, seconds if initial else 0.0)
            self._last[key] = seconds

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> CpuMeter:
        if os.path.isdir("/proc/self"):
            self._sample(initial=True)
            self._thread.start()
        return self

    def stop(self) -> dict[str, float]:
        if not self._thread.is_alive():
            return {}
        self._sample()
        self._stop.set()
        self._thread.join()
        totals: dict[str, float] = {}
        for key, last in self._last.items():
            totals[key[0]] = totals.get(key[0], 0.0) + last - self._first[key]
        return totals
