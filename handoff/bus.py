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
    def __init__(self, client: RedisClient) -> None:
        self._r = client

    @staticmethod
    def channel(tenant: str) -> str:
        return f"cb:{{{tenant}}}:handoff:events"

    async def publish(self, tenant: str, event: dict[str, Any]) -> None:
        await self._r.publish(self.channel(tenant), json.dumps(event, ensure_ascii=False))

    @contextlib.asynccontextmanager
    async def subscribe(self, tenant: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        pubsub = self._r.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.channel(tenant))

        async def events() -> AsyncIterator[dict[str, Any]]:
            while True:
                msg = await pubsub.get_message(timeout=30.0)
                if msg and msg.get("type") == "message":
                    yield json.loads(msg["data"])

        try:
            yield events()
        finally:
            with contextlib.suppress(Exception):
                await pubsub.unsubscribe()
            await pubsub.aclose()
