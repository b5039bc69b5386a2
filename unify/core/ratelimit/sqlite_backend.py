"""The rate-limit store on SQLite (embedded default: no Redis, several local processes)."""

from __future__ import annotations

import contextlib
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from unify.core.ratelimit.budget import MAX_OBSERVED_PLACEHOLDERS, Budget


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
