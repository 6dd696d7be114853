"""The chat worker on the real RedisInbox when a read's reply is lost (the primary died after XREADGROUP moved the
entries into the shard's pending list): the worker must read that pending list again, or the events wait there
until the shard changes owner — acknowledged to LINE and never answered (seen in the cluster failover test)."""

from __future__ import annotations

import asyncio

from redis.exceptions import ConnectionError as RedisConnectionError

from bot.inbox import RedisInbox
from bot.leases import MemoryLeases
from bot.line import RecordingLineGateway
from bot.router import Dispatcher, Rooms
from bot.users import MemoryUserStore
from bot.worker import WorkerDeps, run_worker
from tests.helpers import tenant, text_event


class _LosesOneReadReply(RedisInbox):
    lost = 0

    async def read(self, shard: int, count: int = 16, block_ms: int = 1000):
        entries = await super().read(shard, count, block_ms)
        if entries and not self.lost:
            self.lost += 1  # Redis delivered them (they are pending now); the reply never reached us, so neither
            self._outstanding.pop(shard, None)  # did the inbox's own note of them
            raise RedisConnectionError("Connection reset by peer")
        return entries


async def test_entries_whose_read_reply_was_lost_are_read_again_and_answered_once(redis):
    inbox = _LosesOneReadReply(redis, shards=2)
    d = WorkerDeps({"demo": tenant()}, inbox, MemoryLeases(), Dispatcher(MemoryUserStore(), Rooms()), RecordingLineGateway(), 0.05)
    await inbox.enqueue("demo", [text_event("U" + "7" * 32, "こんにちは")])
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(d, stop, owner="w1"))
    for _ in range(300):
        if d.line.sent("reply"):
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.5)
    stop.set()
    await task
    assert inbox.lost == 1
    assert len(d.line.sent("reply")) == 1
    assert await inbox.depth() == 0
