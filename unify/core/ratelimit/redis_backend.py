"""The rate-limit store on Redis: each decision one Lua script, timed by Redis' clock."""

from __future__ import annotations

import uuid

from unify.core.ratelimit.budget import NAMESPACE, Budget

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
