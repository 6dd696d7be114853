"""Shard leases: each inbox shard is worked by one worker process at a time; a dead worker's lease expires."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from redis.exceptions import RedisError

from bot.redis_client import RedisClient

log = logging.getLogger("civicbot.leases")


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
    def __init__(self, client: RedisClient, namespace: str = "cb:leases") -> None:
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


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def run_as_leader(
    leases: Leases,
    name: str,
    owner: str,
    work: Callable[[asyncio.Event], Awaitable[None]],
    stop: asyncio.Event,
    *,
    ttl_seconds: float = 10.0,
    poll_seconds: float = 2.0,
) -> None:
    """Stand by until ``owner`` holds lease ``name``, then run ``work(lost)`` while renewing the lease every
    ttl/3. ``lost`` is set when the lease could not be renewed for a whole ttl (a Redis failover of a few seconds
    is ridden out) or another owner holds it; ``work`` must then stop, and we stand by again. A second process
    started by mistake idles; when the leader dies its lease expires and the standby takes over within
    ``ttl_seconds + poll_seconds``. The lease is released on a clean stop so the standby takes over at once."""
    ttl_ms = int(ttl_seconds * 1000)
    while not stop.is_set():
        try:
            elected = await leases.acquire(name, owner, ttl_ms)
        except RedisError as exc:
            log.warning("leader lease unreachable", extra={"lease": name, "error": str(exc)})
            elected = False
        if not elected:
            await _sleep_unless(stop, poll_seconds)
            continue
        log.info("leader elected", extra={"lease": name, "owner": owner})
        lost = asyncio.Event()

        async def renew(lost: asyncio.Event) -> None:
            renewed = time.monotonic()
            while not stop.is_set():
                await _sleep_unless(stop, ttl_seconds / 3)
                if stop.is_set():
                    return
                try:
                    if not await leases.acquire(name, owner, ttl_ms):
                        break  # someone else holds it: we were away longer than the ttl
                    renewed = time.monotonic()
                except RedisError:
                    if time.monotonic() - renewed > ttl_seconds:
                        break
            log.warning("leader lease lost", extra={"lease": name, "owner": owner})
            lost.set()

        renewal = asyncio.create_task(renew(lost))
        try:
            await work(lost)
        finally:
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal
        if stop.is_set():
            with contextlib.suppress(RedisError):
                await leases.release(name, owner)
            return
