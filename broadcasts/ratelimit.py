"""Per-channel, per-endpoint request rates shared by every worker (LINE counts per channel, not per process).

A token bucket kept as "virtual scheduling": each ``reserve`` takes a token even when the bucket is empty and returns
how long the caller must wait for it. Waiters therefore queue in arrival order, a worker needs one round trip per
request, and the bucket's debt is the queue. The Redis version runs the arithmetic in Lua on the server's clock, so
workers on different machines share one bucket per ``cb:{tenant}:broadcasts:bucket:<endpoint>``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from bot.redis_client import RedisClient

# LINE's published limits per channel, in requests per second.
DEFAULT_RATES: dict[str, float] = {
    "multicast": 200.0,
    "push": 2000.0,
    "reply": 2000.0,
    "narrowcast": 60.0 / 3600,
    "broadcast": 60.0 / 3600,
    "loading": 100.0,
}

BURST_SECONDS = 0.05  # a bucket holds this many seconds of tokens (at least one): smooth, never a 2x spike


def burst_for(rate: float) -> float:
    return max(1.0, rate * BURST_SECONDS)


class RateLimiter(Protocol):
    async def reserve(self, tenant: str, endpoint: str, cost: float = 1.0) -> float:
        """Take ``cost`` tokens; return the seconds to wait before using them (0 = now)."""
        ...


async def acquire(limiter: RateLimiter, tenant: str, endpoint: str, cost: float = 1.0) -> None:
    wait = await limiter.reserve(tenant, endpoint, cost)
    if wait > 0:
        await asyncio.sleep(wait)


class MemoryRateLimiter:
    def __init__(self, rates: Mapping[str, float] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._rates = {**DEFAULT_RATES, **(rates or {})}
        self._clock = clock
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    async def reserve(self, tenant: str, endpoint: str, cost: float = 1.0) -> float:
        rate = self._rates.get(endpoint)
        if rate is None:
            return 0.0
        burst = burst_for(rate)
        now = self._clock()
        tokens, ts = self._buckets.get((tenant, endpoint), (burst, now))
        tokens = min(burst, tokens + max(0.0, now - ts) * rate) - cost
        self._buckets[(tenant, endpoint)] = (tokens, now)
        return 0.0 if tokens >= 0 else -tokens / rate


_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
local elapsed = now - ts
if elapsed < 0 then elapsed = 0 end
tokens = math.min(burst, tokens + elapsed * rate) - cost
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
local ttl = math.ceil(((burst - tokens) / rate) * 1000) + 1000
redis.call('PEXPIRE', KEYS[1], ttl)
if tokens >= 0 then return '0' end
return tostring(-tokens / rate)
"""


class RedisRateLimiter:
    def __init__(self, client: RedisClient, rates: Mapping[str, float] | None = None) -> None:
        self._r = client
        self._rates = {**DEFAULT_RATES, **(rates or {})}
        self._script = client.register_script(_RESERVE)

    @staticmethod
    def key(tenant: str, endpoint: str) -> str:
        return f"cb:{{{tenant}}}:broadcasts:bucket:{endpoint}"

    async def reserve(self, tenant: str, endpoint: str, cost: float = 1.0) -> float:
        rate = self._rates.get(endpoint)
        if rate is None:
            return 0.0
        wait = await self._script(keys=[self.key(tenant, endpoint)], args=[repr(rate), repr(burst_for(rate)), repr(cost)])
        return float(wait)
