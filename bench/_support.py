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
    ``stand_in`` ("ShipStation" or "QuickBooks Online") as the sandbox prints it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--shipstation-port", "0", "--qbo-port", "0"],
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
