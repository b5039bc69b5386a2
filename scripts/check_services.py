"""Fail fast, in plain words, when the services the tests need are not reachable."""

from __future__ import annotations

import os
import sys

DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unify")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


def main() -> int:
    problems = []
    try:
        import psycopg

        dsn = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(dsn, connect_timeout=5):
            pass
    except Exception as exc:  # noqa: BLE001
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        problems.append(
            f"PostgreSQL is not reachable at {DATABASE_URL.split('@')[-1]} "
            f"({exc.__class__.__name__}: {detail}). Start it, or set DATABASE_URL."
        )
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5).ping()
    except Exception as exc:  # noqa: BLE001
        problems.append(
            f"Redis is not reachable at {REDIS_URL} ({exc.__class__.__name__}). Start it, or set "
            "REDIS_URL."
        )
    for problem in problems:
        print(f"make test: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
