"""HandoffBus: live events for consoles (new request, resident message, take-over, emergency, close).

The worker (resident messages) and the web process (consoles) are separate processes, so the Redis adapter uses
pub/sub on ``cb:{t}:handoff:events``. Events are hints for live screens; the store stays the truth, and a console
reloads state from it after (re)connecting, so a lost event is never lost data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any, Protocol

from redis.asyncio.cluster import RedisCluster

from bot.redis_client import RedisClient


class HandoffBus(Protocol):
    async def publish(self, tenant: str, event: dict[str, Any]) -> None: ...

    def subscribe(self, tenant: str) -> contextlib.AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]:
        """``async with bus.subscribe(t) as events: async for e in events``; subscribed once the block is entered."""
        ...


class MemoryHandoffBus:
    def __init__(self) -> None:
        self._subs: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}

    async def publish(self, tenant: str, event: dict[str, Any]) -> None:
        for q in list(self._subs.get(tenant, ())):
            q.put_nowait(json.loads(json.dumps(event)))  # copy, as if it went over the wire

    @contextlib.asynccontextmanager
    async def subscribe(self, tenant: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subs.setdefault(tenant, set()).add(q)

        async def events() -> AsyncIterator[dict[str, Any]]:
            while True:
                yield await q.get()

        try:
            yield events()
        finally:
            self._subs[tenant].discard(q)


class RedisHandoffBus:
    """Redis pub/sub per tenant. On a cluster, sharded pub/sub (SPUBLISH/SSUBSCRIBE): the channel carries the tenant
    hash tag, so a message goes to the shard owning the tenant's slot only, not to every node of the cluster as a
    classic PUBLISH does (its cost would grow with the cluster); redis-py follows the channel through failovers."""

    def __init__(self, client: RedisClient) -> None:
        self._r = client
        self._sharded = isinstance(client, RedisCluster)

    @staticmethod
    def channel(tenant: str) -> str:
        return f"cb:{{{tenant}}}:handoff:events"

    async def publish(self, tenant: str, event: dict[str, Any]) -> None:
        data = json.dumps(event, ensure_ascii=False)
        if self._sharded:
            await self._r.spublish(self.channel(tenant), data)
        else:
            await self._r.publish(self.channel(tenant), data)

    @contextlib.asynccontextmanager
    async def subscribe(self, tenant: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        pubsub: Any = self._r.pubsub(ignore_subscribe_messages=True)
        channel = self.channel(tenant)
        if self._sharded:
            await pubsub.ssubscribe(channel)
        else:
            await pubsub.subscribe(channel)

        async def events() -> AsyncIterator[dict[str, Any]]:
            while True:
                if self._sharded:
                    msg = await pubsub.get_sharded_message(ignore_subscribe_messages=True, timeout=30.0)
                else:
                    msg = await pubsub.get_message(timeout=30.0)
                if msg and msg.get("type") in ("message", "smessage"):
                    yield json.loads(msg["data"])

        try:
            yield events()
        finally:
            with contextlib.suppress(Exception):
                await (pubsub.sunsubscribe() if self._sharded else pubsub.unsubscribe())
            await pubsub.aclose()
