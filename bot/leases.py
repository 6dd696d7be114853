"""Shard leases: each inbox shard is worked by one worker process at a time; a dead worker's lease expires."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis


class Leases(Protocol):
    async def acquire(self, name: str, owner: str, ttl_ms: int) -> bool:
        """Take or renew the lease; True when ``owner`` holds it afterwards."""
        ...

    async def release(self, name: str, owner: str) -> None: ...

    async def heartbeat(self, owner: str, ttl_ms: int) -> int:
        """Announce a live worker; return how many workers are alive (for fair shares)."""
        ...


_ACQUIRE = """
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisLeases:
    def __init__(self, client: aioredis.Redis, namespace: str = "cb:leases") -> None:
        self._r = client
        self._ns = namespace
        self._acquire = client.register_script(_ACQUIRE)
        self._release = client.register_script(_RELEASE)

    async def acquire(self, name: str, owner: str, ttl_ms: int) -> bool:
        return bool(await self._acquire(keys=[f"{self._ns}:{name}"], args=[owner, ttl_ms]))

    async def release(self, name: str, owner: str) -> None:
        await self._release(keys=[f"{self._ns}:{name}"], args=[owner])

    async def heartbeat(self, owner: str, ttl_ms: int) -> int:
        now = int(time.time() * 1000)
        key = f"{self._ns}:workers"
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {owner: now + ttl_ms})
            pipe.zremrangebyscore(key, 0, now)
            pipe.zcard(key)
            res = await pipe.execute()
        return int(res[-1])


class MemoryLeases:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._held: dict[str, tuple[str, float]] = {}
        self._workers: dict[str, float] = {}

    async def acquire(self, name: str, owner: str, ttl_ms: int) -> bool:
        now = self._clock()
        cur = self._held.get(name)
        if cur is None or cur[0] == owner or cur[1] <= now:
            self._held[name] = (owner, now + ttl_ms / 1000)
            return True
        return False

    async def release(self, name: str, owner: str) -> None:
        if self._held.get(name, ("",))[0] == owner:
            del self._held[name]

    async def heartbeat(self, owner: str, ttl_ms: int) -> int:
        now = self._clock()
        self._workers[owner] = now + ttl_ms / 1000
        self._workers = {k: v for k, v in self._workers.items() if v > now}
        return len(self._workers)
