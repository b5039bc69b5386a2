"""Provider rate limits shared by every worker process.

A provider's budget belongs to a credential (a ShipStation key pair, a QuickBooks realm), not
to a process: two workers, or two connections using the same ShipStation keys, draw from one
budget. The state therefore lives in Redis (or, on the embedded default without Redis, in a
small SQLite file every local process opens), and each decision is one atomic step there:

- :class:`SlidingWindowLimiter`: at most ``limit`` requests granted in any rolling window of
  ``window_seconds`` (a log of grant times, trimmed on every call), plus a "blocked until"
  instant set from a 429 or a ``Remaining: 0`` answer. It implements the client hook of
  :mod:`unify.core.http` (``acquire(key)`` before a request, ``observe(key, headers)`` after).
  ``observe`` also takes budget away when the provider says fewer requests remain than we
  counted (another app using the same keys): the missing requests are recorded as if sent
  now, expiring when the provider says its window resets. A 429 is the truth about the
  budget (``throttled``): nothing is granted until the provider's reset, and the key's
  budget shrinks to what actually fitted in that window beside the other apps, for
  ``shrink_seconds`` after the last 429 (each further 429 shrinks it again).
- :class:`ConcurrencySemaphore`: at most ``capacity`` holders at once (QuickBooks Online allows
  10 concurrent requests per realm); a holder's slot expires after ``lease_seconds`` so a
  killed process cannot keep it.

Grants are timed by the shared store's clock (Redis ``TIME``), not the callers' clocks. Keys
are namespaced ``unify:rl:<provider>:<fingerprint>``; a fingerprint is a keyed hash of the
credential, never the credential.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import math
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from django.conf import settings

from unify.core.exceptions import ProviderRateLimited

logger = logging.getLogger(__name__)

NAMESPACE = "unify:rl"
# At most this many requests of other apps are recorded from one answer's headers (the same
# bound is written into the Redis script): a budget configured far above the provider's must
# not make one answer cost minutes.
MAX_OBSERVED_PLACEHOLDERS = 10_000

# Called with the seconds a request of this thread will wait for the shared budget (set by
# long-running callers, such as an import, to show the wait); waits under a second are not
# reported.
wait_listener: contextvars.ContextVar[Callable[[float], None] | None] = contextvars.ContextVar(
    "unify_rate_limit_wait_listener", default=None
)


@dataclass(frozen=True, slots=True)
class Budget:
    limit: int
    window_seconds: float
    # Grants are counted over window + margin: a request granted at t reaches the provider a
    # little later than one granted at t + window, and the provider counts arrivals.
    margin_seconds: float = 0.0

    @property
    def effective_window(self) -> float:
        return self.window_seconds + self.margin_seconds


class LimiterBackend(Protocol):
    def try_acquire(self, key: str, budget: Budget, member: str | None = None) -> float:
        """Grant one request now (returns 0) or return the seconds to wait first. ``member``
        names the grant (for ``restamp``)."""

    def restamp(self, key: str, budget: Budget, member: str) -> float:
        """The request of grant ``member`` leaves now: the grant counts from now (0). When it
        is no longer in the window it is granted again if the budget allows (0), else the
        seconds to wait are returned; while the key is blocked (a 429), the grant is given
        up and the block's seconds are returned."""

    def observe(self, key: str, budget: Budget, remaining: int, reset_seconds: float) -> None:
        """Align with what the provider says is left in its window."""

    def block(self, key: str, seconds: float) -> None:
        """Grant nothing for ``seconds`` (after a 429)."""

    def shrink(self, key: str, budget: Budget, reset_seconds: float, ttl_seconds: float) -> int:
        """After a 429: cap the key's limit at the requests of ours the provider admitted in
        its current window (which ends in ``reset_seconds``), at least one below the cap in
        force and at most half of it lower, for ``ttl_seconds``. Returns the new cap."""

    def cap(self, key: str) -> int | None:
        """The key's shrunk limit, if any."""

    def semaphore_acquire(self, key: str, capacity: int, token: str, lease: float) -> bool: ...

    def semaphore_acquire_with_grant(
        self, key: str, capacity: int, token: str, lease: float, budget: Budget
    ) -> float:
        """A slot of ``key``'s semaphore and a grant of its rate budget in one atomic step:
        0 when both are taken, -1 when every slot is busy, else the seconds to wait for the
        rate; nothing is taken unless both are. The grant is named ``token``."""

    def semaphore_release(self, key: str, token: str) -> None: ...

    def reset(self, key: str) -> None: ...


# ---------------------------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------------------------

_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# Shared pieces (they read ``now`` above them).
_RATE = """
local function capped(cap, limit)
  local c = tonumber(redis.call('GET', cap) or '0')
  if c > 0 and c < limit then return c end
  return limit
end
local function rate_wait(log, block, limit, window, cap)
  limit = capped(cap, limit)
  local blocked = tonumber(redis.call('GET', block) or '0')
  if blocked > now then
    return blocked - now
  end
  redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
  if redis.call('ZCARD', log) < limit then
    return 0
  end
  local oldest = redis.call('ZRANGE', log, 0, 0, 'WITHSCORES')
  local wait = tonumber(oldest[2]) + window - now
  if wait < 1 then wait = 1 end
  return wait
end
local function grant(log, window, member)
  redis.call('ZADD', log, now, member)
  redis.call('PEXPIRE', log, window + 1000)
end
"""
_SLOT = """
local function slot_free(holders, capacity, token)
  redis.call('ZREMRANGEBYSCORE', holders, '-inf', now)
  return redis.call('ZSCORE', holders, token) or redis.call('ZCARD', holders) < capacity
end
local function hold(holders, token, lease)
  redis.call('ZADD', holders, now + lease, token)
  redis.call('PEXPIRE', holders, lease + 1000)
end
"""

# KEYS: log, block, cap.  ARGV: limit, window_ms, member.  Returns 0 or the ms to wait.
_ACQUIRE = (
    _NOW_MS
    + _RATE
    + """
local window = tonumber(ARGV[2])
local wait = rate_wait(KEYS[1], KEYS[2], tonumber(ARGV[1]), window, KEYS[3])
if wait == 0 then
  grant(KEYS[1], window, ARGV[3])
end
return wait
"""
)

# KEYS: log, block, cap.  ARGV: limit, window_ms, member.  Returns 0 or the ms to wait.
# The grant ``member`` moves to now (the moment its request leaves): a grant taken before a
# wait elsewhere (another lane, the per-second limit) would otherwise count from a moment
# earlier than the provider's, which counts arrivals. Moving a grant in the window to now
# keeps at most ``limit`` in every window.
_RESTAMP = (
    _NOW_MS
    + _RATE
    + """
local window = tonumber(ARGV[2])
local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
if blocked > now then
  redis.call('ZREM', KEYS[1], ARGV[3])
  return blocked - now
end
local score = redis.call('ZSCORE', KEYS[1], ARGV[3])
if score and tonumber(score) > now - window then
  grant(KEYS[1], window, ARGV[3])
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[3])
local wait = rate_wait(KEYS[1], KEYS[2], tonumber(ARGV[1]), window, KEYS[3])
if wait == 0 then
  grant(KEYS[1], window, ARGV[3])
end
return wait
"""
)

# KEYS: log, block, cap.  ARGV: limit, window_ms, remaining, reset_ms, member prefix.
_OBSERVE = (
    _NOW_MS
    + _RATE
    + """
local limit = capped(KEYS[3], tonumber(ARGV[1]))
local window = tonumber(ARGV[2])
local remaining = tonumber(ARGV[3])
local reset = math.min(tonumber(ARGV[4]), window)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local ours = limit - redis.call('ZCARD', KEYS[1])
if remaining < ours then
  local score = now + reset - window
  -- Bounded: a budget configured far above the provider's (tests, benchmarks) must not turn
  -- one answer into a script that holds Redis for minutes (Redis runs one script at a time).
  for i = 1, math.min(ours - remaining, 10000) do
    redis.call('ZADD', KEYS[1], score, ARGV[5] .. ':' .. i)
  end
  redis.call('PEXPIRE', KEYS[1], window + 1000)
end
if remaining <= 0 and reset > 0 then
  local until_ms = now + reset
  local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
  if until_ms > blocked then
    redis.call('SET', KEYS[2], until_ms, 'PX', reset + 1000)
  end
end
return 0
"""
)

# KEYS: block.  ARGV: ms.
_BLOCK = (
    _NOW_MS
    + """
local until_ms = now + tonumber(ARGV[1])
local blocked = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ms > blocked then
  redis.call('SET', KEYS[1], until_ms, 'PX', tonumber(ARGV[1]) + 1000)
end
return 0
"""
)

# KEYS: holders.  ARGV: capacity, lease_ms, token.  Returns 1 when held.
_SEM_ACQUIRE = (
    _NOW_MS
    + _SLOT
    + """
if slot_free(KEYS[1], tonumber(ARGV[1]), ARGV[3]) then
  hold(KEYS[1], ARGV[3], tonumber(ARGV[2]))
  return 1
end
return 0
"""
)

# KEYS: holders, log, block, cap.  ARGV: capacity, lease_ms, token, limit, window_ms, member.
# A concurrency slot and a rate grant in one step: returns 0 when both are taken, -1 when
# every slot is busy (nothing taken), else the ms to wait for the rate (nothing taken).
_SEM_ACQUIRE_GRANT = (
    _NOW_MS
    + _RATE
    + _SLOT
    + """
if not slot_free(KEYS[1], tonumber(ARGV[1]), ARGV[3]) then
  return -1
end
local window = tonumber(ARGV[5])
local wait = rate_wait(KEYS[2], KEYS[3], tonumber(ARGV[4]), window, KEYS[4])
if wait == 0 then
  grant(KEYS[2], window, ARGV[6])
  hold(KEYS[1], ARGV[3], tonumber(ARGV[2]))
end
return wait
"""
)


# KEYS: log, cap.  ARGV: limit, provider window_ms, reset_ms, ttl_ms.  Returns the new cap.
# Grants of ours are the log's members without the "p:" prefix of observed usage.
_SHRINK = (
    _NOW_MS
    + _RATE
    + """
local limit = tonumber(ARGV[1])
-- Reset is whole seconds, rounded up: the window began up to a second before this.
local since = now + math.max(0, tonumber(ARGV[3]) - 1000) - tonumber(ARGV[2])
local ours = 0
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], since, '+inf')) do
  if string.sub(member, 1, 2) ~= 'p:' then ours = ours + 1 end
end
local current = capped(KEYS[2], limit)
-- The request that met the 429 was granted by us but not admitted by the provider. At most
-- half the budget goes at once (a count cut short by a window boundary is not the share).
local cap = math.max(ours - 1, math.floor(current / 2))
if cap >= current then cap = current - 1 end
if cap < 1 then cap = 1 end
redis.call('SET', KEYS[2], cap, 'PX', math.max(1, tonumber(ARGV[4])))
return cap
"""
)


class RedisBackend:
    def __init__(self, client) -> None:
        self.client = client
        self._acquire = client.register_script(_ACQUIRE)
        self._observe = client.register_script(_OBSERVE)
        self._block = client.register_script(_BLOCK)
        self._sem_acquire = client.register_script(_SEM_ACQUIRE)
        self._sem_acquire_grant = client.register_script(_SEM_ACQUIRE_GRANT)
        self._shrink = client.register_script(_SHRINK)
        self._restamp = client.register_script(_RESTAMP)

    @staticmethod
    def _keys(key: str) -> list[str]:
        return [f"{NAMESPACE}:{key}:log", f"{NAMESPACE}:{key}:block", f"{NAMESPACE}:{key}:cap"]

    def try_acquire(self, key: str, budget: Budget, member: str | None = None) -> float:
        window_ms = max(1, int(budget.effective_window * 1000))
        wait_ms = self._acquire(
            keys=self._keys(key), args=[budget.limit, window_ms, member or uuid.uuid4().hex]
        )
        return int(wait_ms) / 1000.0

    def restamp(self, key: str, budget: Budget, member: str) -> float:
        window_ms = max(1, int(budget.effective_window * 1000))
        wait_ms = self._restamp(keys=self._keys(key), args=[budget.limit, window_ms, member])
        return int(wait_ms) / 1000.0

    def observe(self, key: str, budget: Budget, remaining: int, reset_seconds: float) -> None:
        window_ms = max(1, int(budget.effective_window * 1000))
        reset_ms = max(0, int(reset_seconds * 1000))
        self._observe(
            keys=self._keys(key),
            args=[budget.limit, window_ms, remaining, reset_ms, f"p:{uuid.uuid4().hex}"],
        )

    def block(self, key: str, seconds: float) -> None:
        self._block(keys=[self._keys(key)[1]], args=[max(1, int(seconds * 1000))])

    def shrink(self, key: str, budget: Budget, reset_seconds: float, ttl_seconds: float) -> int:
        log, _block, cap = self._keys(key)
        return int(
            self._shrink(
                keys=[log, cap],
                args=[
                    budget.limit,
                    max(1, int(budget.window_seconds * 1000)),
                    max(0, int(reset_seconds * 1000)),
                    max(1, int(ttl_seconds * 1000)),
                ],
            )
        )

    def cap(self, key: str) -> int | None:
        value = self.client.get(self._keys(key)[2])
        return int(value) if value else None

    def semaphore_acquire(self, key: str, capacity: int, token: str, lease: float) -> bool:
        held = self._sem_acquire(
            keys=[f"{NAMESPACE}:{key}:sem"], args=[capacity, max(1, int(lease * 1000)), token]
        )
        return bool(int(held))

    def semaphore_acquire_with_grant(
        self, key: str, capacity: int, token: str, lease: float, budget: Budget
    ) -> float:
        answer = self._sem_acquire_grant(
            keys=[f"{NAMESPACE}:{key}:sem", *self._keys(key)],
            args=[
                capacity,
                max(1, int(lease * 1000)),
                token,
                budget.limit,
                max(1, int(budget.effective_window * 1000)),
                token,  # the grant's name too (``restamp``)
            ],
        )
        answer = int(answer)
        return float(answer) if answer < 0 else answer / 1000.0

    def semaphore_release(self, key: str, token: str) -> None:
        self.client.zrem(f"{NAMESPACE}:{key}:sem", token)

    def reset(self, key: str) -> None:
        self.client.delete(*self._keys(key), f"{NAMESPACE}:{key}:sem")


# ---------------------------------------------------------------------------------------------
# SQLite (embedded default: no Redis, several local processes)
# ---------------------------------------------------------------------------------------------


class SQLiteBackend:
    """The same decisions as :class:`RedisBackend`, made atomic by SQLite's write lock
    (``BEGIN IMMEDIATE``). Only for processes on one machine sharing one file."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self._tx() as db:
            db.execute("CREATE TABLE IF NOT EXISTS hits (key TEXT, at REAL, member TEXT)")
            db.execute("CREATE INDEX IF NOT EXISTS hits_key_at ON hits (key, at)")
            db.execute("CREATE TABLE IF NOT EXISTS blocks (key TEXT PRIMARY KEY, until REAL)")
            db.execute("CREATE TABLE IF NOT EXISTS holders (key TEXT, token TEXT, until REAL)")
            db.execute(
                "CREATE TABLE IF NOT EXISTS caps (key TEXT PRIMARY KEY, cap INTEGER, until REAL)"
            )

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    @staticmethod
    def _capped(db: sqlite3.Connection, key: str, limit: int, now: float) -> int:
        row = db.execute("SELECT cap FROM caps WHERE key = ? AND until > ?", (key, now)).fetchone()
        return min(limit, row[0]) if row and row[0] > 0 else limit

    @classmethod
    def _rate_wait(cls, db: sqlite3.Connection, key: str, budget: Budget, now: float) -> float:
        """0 when ``key`` may send now (nothing recorded yet), else the seconds to wait."""
        window = budget.effective_window
        limit = cls._capped(db, key, budget.limit, now)
        row = db.execute("SELECT until FROM blocks WHERE key = ?", (key,)).fetchone()
        if row and row[0] > now:
            return row[0] - now
        db.execute("DELETE FROM hits WHERE key = ? AND at <= ?", (key, now - window))
        count, oldest = db.execute(
            "SELECT COUNT(*), MIN(at) FROM hits WHERE key = ?", (key,)
        ).fetchone()
        if count < limit:
            return 0.0
        return max(0.001, oldest + window - now)

    @staticmethod
    def _grant(db: sqlite3.Connection, key: str, now: float, member: str | None = None) -> None:
        db.execute("INSERT INTO hits VALUES (?, ?, ?)", (key, now, member or uuid.uuid4().hex))

    def try_acquire(self, key: str, budget: Budget, member: str | None = None) -> float:
        with self._tx() as db:
            now = time.time()
            wait = self._rate_wait(db, key, budget, now)
            if wait == 0:
                self._grant(db, key, now, member)
            return wait

    def restamp(self, key: str, budget: Budget, member: str) -> float:
        with self._tx() as db:
            now = time.time()
            row = db.execute("SELECT until FROM blocks WHERE key = ?", (key,)).fetchone()
            blocked = row is not None and row[0] > now
            moved = 0
            if not blocked:
                moved = db.execute(
                    "UPDATE hits SET at = ? WHERE key = ? AND member = ? AND at > ?",
                    (now, key, member, now - budget.effective_window),
                ).rowcount
            if moved:
                return 0.0
            db.execute("DELETE FROM hits WHERE key = ? AND member = ?", (key, member))
            wait = self._rate_wait(db, key, budget, now)
            if wait == 0:
                self._grant(db, key, now, member)
            return wait

    def observe(self, key: str, budget: Budget, remaining: int, reset_seconds: float) -> None:
        window = budget.effective_window
        reset = min(max(0.0, reset_seconds), window)
        with self._tx() as db:
            now = time.time()
            db.execute("DELETE FROM hits WHERE key = ? AND at <= ?", (key, now - window))
            (count,) = db.execute("SELECT COUNT(*) FROM hits WHERE key = ?", (key,)).fetchone()
            ours = self._capped(db, key, budget.limit, now) - count
            if remaining < ours:
                at = now + reset - window
                db.executemany(
                    "INSERT INTO hits VALUES (?, ?, ?)",
                    [
                        (key, at, f"p:{uuid.uuid4().hex}")
                        for _ in range(min(ours - remaining, MAX_OBSERVED_PLACEHOLDERS))
                    ],
                )
            if remaining <= 0 and reset > 0:
                self._block_in(db, key, now + reset)

    @staticmethod
    def _block_in(db: sqlite3.Connection, key: str, until: float) -> None:
        db.execute(
            "INSERT INTO blocks VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
            "until = MAX(until, excluded.until)",
            (key, until),
        )

    def block(self, key: str, seconds: float) -> None:
        with self._tx() as db:
            self._block_in(db, key, time.time() + seconds)

    def shrink(self, key: str, budget: Budget, reset_seconds: float, ttl_seconds: float) -> int:
        with self._tx() as db:
            now = time.time()
            # Reset is whole seconds, rounded up: the window began up to a second earlier.
            since = now + max(0.0, reset_seconds - 1) - budget.window_seconds
            (ours,) = db.execute(
                "SELECT COUNT(*) FROM hits WHERE key = ? AND at >= ? AND member NOT LIKE 'p:%'",
                (key, since),
            ).fetchone()
            current = self._capped(db, key, budget.limit, now)
            # The request that met the 429 was granted by us but not admitted by the provider.
            # At most half the budget goes at once.
            cap = max(1, min(max(ours - 1, current // 2), current - 1))
            db.execute(
                "INSERT INTO caps VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                "cap = excluded.cap, until = excluded.until",
                (key, cap, now + ttl_seconds),
            )
            return cap

    def cap(self, key: str) -> int | None:
        with self._tx() as db:
            row = db.execute(
                "SELECT cap FROM caps WHERE key = ? AND until > ?", (key, time.time())
            ).fetchone()
            return int(row[0]) if row else None

    @staticmethod
    def _slot_free(db: sqlite3.Connection, key: str, capacity: int, token: str, now: float) -> bool:
        """Whether ``token`` holds, or may take, a slot of ``key`` (expired holders dropped)."""
        db.execute("DELETE FROM holders WHERE key = ? AND until <= ?", (key, now))
        mine = db.execute(
            "SELECT 1 FROM holders WHERE key = ? AND token = ?", (key, token)
        ).fetchone()
        if mine:
            return True
        (count,) = db.execute("SELECT COUNT(*) FROM holders WHERE key = ?", (key,)).fetchone()
        return count < capacity

    @staticmethod
    def _hold(db: sqlite3.Connection, key: str, token: str, until: float) -> None:
        db.execute("DELETE FROM holders WHERE key = ? AND token = ?", (key, token))
        db.execute("INSERT INTO holders VALUES (?, ?, ?)", (key, token, until))

    def semaphore_acquire(self, key: str, capacity: int, token: str, lease: float) -> bool:
        with self._tx() as db:
            now = time.time()
            if not self._slot_free(db, key, capacity, token, now):
                return False
            self._hold(db, key, token, now + lease)
            return True

    def semaphore_acquire_with_grant(
        self, key: str, capacity: int, token: str, lease: float, budget: Budget
    ) -> float:
        with self._tx() as db:
            now = time.time()
            if not self._slot_free(db, key, capacity, token, now):
                return -1.0
            wait = self._rate_wait(db, key, budget, now)
            if wait == 0:
                self._grant(db, key, now, token)
                self._hold(db, key, token, now + lease)
            return wait

    def semaphore_release(self, key: str, token: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM holders WHERE key = ? AND token = ?", (key, token))

    def reset(self, key: str) -> None:
        with self._tx() as db:
            for table in ("hits", "blocks", "holders", "caps"):
                db.execute(f"DELETE FROM {table} WHERE key = ?", (key,))  # noqa: S608


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


# ---------------------------------------------------------------------------------------------
# Limiters
# ---------------------------------------------------------------------------------------------


def _header(headers: Mapping[str, str], name: str) -> float | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class SlidingWindowLimiter:
    """The shared limiter behind a provider client (``acquire``/``observe`` hook).

    ``budget`` is a :class:`Budget` or a callable returning one, so settings are read when a
    request is made, never at import time. ``acquire`` waits (sleeping in short slices) until
    the shared store grants the request; after ``max_wait_seconds`` it raises
    ``ProviderRateLimited`` so the caller's retry policy takes over instead of a worker
    sleeping forever.
    """

    remaining_header = "X-Rate-Limit-Remaining"
    reset_header = "X-Rate-Limit-Reset"

    def __init__(
        self,
        budget: Budget | Callable[[], Budget],
        *,
        provider: str = "",
        backend: LimiterBackend | None = None,
        max_wait_seconds: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        shrink_seconds: float | Callable[[], float] = 600.0,
    ) -> None:
        self._budget = budget
        self._shrink_seconds = shrink_seconds
        self.provider = provider
        self._backend = backend
        self.max_wait_seconds = max_wait_seconds
        self._sleep = sleep
        self.waited_seconds = 0.0  # total time this instance spent waiting (for reports)

    @property
    def budget(self) -> Budget:
        return self._budget() if callable(self._budget) else self._budget

    @property
    def backend(self) -> LimiterBackend:
        if self._backend is None:
            self._backend = default_backend()
        return self._backend

    def acquire(self, key: str, member: str | None = None) -> None:
        """Wait for a grant (named ``member`` when given, for ``restamp``)."""
        self.wait_for_grant(key, lambda budget: self.backend.try_acquire(key, budget, member))

    def restamp(self, key: str, member: str) -> None:
        """The request of grant ``member`` leaves now. A grant taken before waiting for
        something else (another limit, a concurrency slot) counts from now, the moment the
        provider will count it; if it has left the window meanwhile, or a 429 blocked the
        key, this waits for a grant again like ``acquire``."""
        self.wait_for_grant(key, lambda budget: self.backend.restamp(key, budget, member))

    def wait_for_grant(self, key: str, attempt: Callable[[Budget], float]) -> None:
        """Call ``attempt(budget)`` (a grant from the shared store: 0, or the seconds to
        wait) until it grants, sleeping in short slices; after ``max_wait_seconds`` raise
        ``ProviderRateLimited`` so the caller's retry policy takes over."""
        budget = self.budget
        max_wait = self.max_wait_seconds
        if max_wait is None:
            max_wait = 2 * budget.effective_window + 5
        waited = 0.0
        listener = wait_listener.get()
        while True:
            wait = attempt(budget)
            if wait <= 0:
                self.waited_seconds += waited
                return
            if listener is not None and wait >= 1.0:
                listener(wait)
            if waited + wait > max_wait:
                self.waited_seconds += waited
                raise ProviderRateLimited(
                    f"{self.provider or key}: no request slot within {max_wait:g} s",
                    provider=self.provider,
                    retry_after=wait,
                )
            # A short slice, so a slot freed early (a reset by support) is used soon.
            pause = min(wait, max(0.05, budget.effective_window / 4))
            self._sleep(pause)
            waited += pause

    def observe(self, key: str, headers: Mapping[str, str]) -> None:
        remaining = _header(headers, self.remaining_header)
        reset = _header(headers, self.reset_header)
        if remaining is None:
            return
        self.backend.observe(key, self.budget, int(remaining), reset if reset is not None else 0)

    def block(self, key: str, seconds: float) -> None:
        """Stop every worker from using ``key`` for ``seconds`` (the provider said 429)."""
        self.backend.block(key, seconds)

    def throttled(self, key: str, reset_seconds: float) -> int:
        """The provider answered 429 (its count is the truth, whatever ours says): every
        worker waits for its reset, and the key's budget shrinks to what fitted in the
        provider's window beside the other apps using the same credentials. Returns the
        shrunk limit."""
        seconds = max(0.1, float(reset_seconds))
        self.backend.block(key, seconds)
        ttl = self._shrink_seconds() if callable(self._shrink_seconds) else self._shrink_seconds
        cap = self.backend.shrink(key, self.budget, seconds, float(ttl))
        logger.info("%s: 429, waiting %.0f s; budget now %s a window", key, seconds, cap)
        return cap

    def reset(self, key: str) -> None:
        self.backend.reset(key)


class ConcurrencySemaphore:
    """At most ``capacity`` holders of ``key`` at once across all workers.

    ``with sem.hold(key): ...`` waits for a slot (up to ``max_wait_seconds``, then raises
    ``ProviderRateLimited``) and frees it afterwards; a slot held by a process that died frees
    itself after ``lease_seconds``.
    """

    def __init__(
        self,
        *,
        capacity: int,
        lease_seconds: float = 120.0,
        provider: str = "",
        backend: LimiterBackend | None = None,
        max_wait_seconds: float = 60.0,
        poll_seconds: float = 0.05,
    ) -> None:
        self.capacity = capacity
        self.lease_seconds = lease_seconds
        self.provider = provider
        self._backend = backend
        self.max_wait_seconds = max_wait_seconds
        self.poll_seconds = poll_seconds

    @property
    def backend(self) -> LimiterBackend:
        if self._backend is None:
            self._backend = default_backend()
        return self._backend

    @contextlib.contextmanager
    def hold(self, key: str) -> Iterator[str]:
        token = uuid.uuid4().hex
        deadline = time.monotonic() + self.max_wait_seconds
        while not self.backend.semaphore_acquire(key, self.capacity, token, self.lease_seconds):
            self._wait_for_slot(key, deadline)
        try:
            yield token
        finally:
            self.backend.semaphore_release(key, token)

    @contextlib.contextmanager
    def hold_with_grant(self, key: str, limiter: SlidingWindowLimiter) -> Iterator[str]:
        """``hold(key)`` and then ``limiter.acquire(key)``, in one round trip to the shared
        store per attempt instead of two. The slot is taken only together with the grant,
        so a request waiting for the rate holds no slot; the grant is followed at once by
        the request, so the provider counts it in the window we did (a caller that waits
        for something else first moves it with ``limiter.restamp(key, token)``)."""
        token = uuid.uuid4().hex
        slot_deadline = time.monotonic() + self.max_wait_seconds

        def attempt(budget: Budget) -> float:
            while True:
                wait = self.backend.semaphore_acquire_with_grant(
                    key, self.capacity, token, self.lease_seconds, budget
                )
                if wait >= 0:
                    return wait
                self._wait_for_slot(key, slot_deadline)

        limiter.wait_for_grant(key, attempt)
        try:
            yield token
        finally:
            self.backend.semaphore_release(key, token)

    def _wait_for_slot(self, key: str, deadline: float) -> None:
        if time.monotonic() >= deadline:
            raise ProviderRateLimited(
                f"{self.provider or key}: all {self.capacity} concurrent slots busy",
                provider=self.provider,
                retry_after=self.poll_seconds,
            )
        time.sleep(self.poll_seconds)
