"""The store this process uses: Redis when configured, else the SQLite file."""

from __future__ import annotations

import threading
from pathlib import Path

from django.conf import settings

from unify.core.ratelimit.budget import LimiterBackend
from unify.core.ratelimit.redis_backend import RedisBackend
from unify.core.ratelimit.sqlite_backend import SQLiteBackend

_backends: dict[str, LimiterBackend] = {}
_backends_lock = threading.Lock()


def default_backend() -> LimiterBackend:
    """Redis when ``REDIS_URL`` is set, else the SQLite file in the data folder. One per
    process and configuration."""
    redis_url = getattr(settings, "REDIS_URL", "")
    ident = f"redis:{redis_url}" if redis_url else f"sqlite:{settings.DATA_DIR}"
    with _backends_lock:
        backend = _backends.get(ident)
        if backend is None:
            if redis_url:
                import redis

                backend = RedisBackend(redis.Redis.from_url(redis_url))
            else:
                backend = SQLiteBackend(Path(settings.DATA_DIR) / "ratelimit.sqlite3")
            _backends[ident] = backend
        return backend
