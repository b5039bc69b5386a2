"""Provider rate limits shared by every worker process.

A provider's budget belongs to a credential (a source's key pair, a ledger's company), not
to a process: two workers, or two connections using the same source keys, draw from one
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
- :class:`ConcurrencySemaphore`: at most ``capacity`` holders at once (a ledger may allow,
  say, 10 concurrent requests per company); a holder's slot expires after ``lease_seconds`` so a
  killed process cannot keep it.

Grants are timed by the shared store's clock (Redis ``TIME``), not the callers' clocks. Keys
are namespaced ``unify:rl:<provider>:<fingerprint>``; a fingerprint is a keyed hash of the
credential, never the credential.
"""

from unify.core.ratelimit.backends import default_backend
from unify.core.ratelimit.budget import (
    MAX_OBSERVED_PLACEHOLDERS,
    NAMESPACE,
    Budget,
    LimiterBackend,
    wait_listener,
)
from unify.core.ratelimit.limiters import ConcurrencySemaphore, SlidingWindowLimiter
from unify.core.ratelimit.redis_backend import RedisBackend
from unify.core.ratelimit.sqlite_backend import SQLiteBackend

__all__ = [
    "MAX_OBSERVED_PLACEHOLDERS",
    "NAMESPACE",
    "Budget",
    "ConcurrencySemaphore",
    "LimiterBackend",
    "RedisBackend",
    "SQLiteBackend",
    "SlidingWindowLimiter",
    "default_backend",
    "wait_listener",
]
