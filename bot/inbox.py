"""The durable inbox between the webhook and the worker.

The webhook de-duplicates each event on its ``webhookEventId`` and appends it to one of N shard streams, chosen by
the conversation (tenant + source), so one conversation's events are handled in order while different
conversations run in parallel. Dedup and append happen atomically (one Lua call), so an event is either queued
once or not at all — LINE's redelivery of an event we never queued is then accepted.

The worker side: each shard is read by exactly one consumer at a time (a lease in Redis); the consumer name is
the shard's name, so a worker that takes over a shard after a crash first re-reads that shard's pending entries.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import hiredis
from redis.exceptions import NoScriptError, ResponseError

from bot.redis_client import NotReplicated, RedisClient, ReplicaWait

GROUP = "workers"
log = logging.getLogger("civicbot.inbox")


@dataclass(frozen=True)
class InboxEntry:
    shard: int
    entry_id: str  # stream id
    tenant: str
    event: dict
    attempts: int = 0


def shard_for(tenant: str, source_key: str, shards: int) -> int:
    return zlib.crc32(f"{tenant}\x00{source_key}".encode()) % shards


def source_key(event: dict) -> str:
    source = event.get("source")
    if not isinstance(source, dict):
        source = {}
    for key in ("userId", "groupId", "roomId"):
        if isinstance(source.get(key), str):
            return source[key]
    return str(event.get("webhookEventId", ""))


class Inbox(Protocol):
    shards: int

    async def enqueue(self, tenant: str, events: Sequence[dict]) -> int:
        """Queue events not seen before (by webhookEventId); return how many were new."""
        ...

    async def read(self, shard: int, count: int = 16, block_ms: int = 1000) -> list[InboxEntry]:
        """Pending (unacknowledged) entries of the shard first, then new ones."""
        ...

    async def ack(self, entry: InboxEntry) -> None: ...

    async def retry_later(self, entry: InboxEntry, error: str, max_attempts: int = 3) -> bool:
        """Record a failed attempt; after max_attempts the entry moves to the dead-letter list. True = dead."""
        ...

    async def depth(self) -> int: ...

    async def dead_letters(self, shard: int) -> list[dict]:
        """Dead letters of a shard still within the retention period, oldest first: tenant, event, error, at."""
        ...


# KEYS[1] dedup key, KEYS[2] stream; ARGV[1] ttl, ARGV[2] tenant, ARGV[3] event json
_ENQUEUE_LUA = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], '*', 't', ARGV[2], 'e', ARGV[3])
  return 1
end
return 0
"""

# KEYS[1] stream, KEYS[2] attempts; ARGV[1] group, ARGV[2] entry id: what MULTI did in ack, as one call a WAIT can follow
_ACK_LUA = """
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[2])
return 1
"""


DEAD_RETENTION_SECONDS = 14 * 24 * 3600  # dead letters hold message text and user ids: two weeks to look, then gone


class RedisInbox:
    def __init__(
        self,
        client: RedisClient,
        shards: int = 16,
        dedup_ttl: int = 7 * 24 * 3600,
        channel=None,
        wait_replicas: int = 0,
        wait_timeout_ms: int = 200,
        *,
        dead_retention_seconds: int = DEAD_RETENTION_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._r = client
        self._dead_retention = dead_retention_seconds
        self._clock = clock
        # an acknowledged event must survive a failover: WAIT for this many replicas before answering LINE 200
        self._wait = ReplicaWait(client, wait_replicas, wait_timeout_ms) if wait_replicas else None
        self._channel = channel  # optional bot.resp_channel.RespChannel for the webhook's enqueue hot path
        self.shards = shards
        self._ttl = dedup_ttl
        self._sha: str | None = None
        self._batch: list[tuple[str, Sequence[dict], asyncio.Future]] = []
        self._flush_scheduled = False
        self._groups_ready: set[int] = set()
        self._pending_done: set[int] = set()
        self._outstanding: dict[int, set[str]] = defaultdict(set)  # handed out here, not yet acknowledged

    @staticmethod
    def stream_key(shard: int) -> str:
        return f"cb:{{inbox-{shard}}}:stream"

    @staticmethod
    def _seen_key(shard: int, tenant: str, event_id: str) -> str:
        return f"cb:{{inbox-{shard}}}:seen:{tenant}:{event_id}"

    @staticmethod
    def _attempts_key(shard: int) -> str:
        return f"cb:{{inbox-{shard}}}:attempts"

    @staticmethod
    def dead_key(shard: int) -> str:
        return f"cb:{{inbox-{shard}}}:dead"

    async def enqueue(self, tenant: str, events: Sequence[dict]) -> int:
        """Group commit: calls made in the same event-loop turn share one pipelined round trip to Redis."""
        if not events:
            return 0
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self._batch.append((tenant, events, future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(lambda: asyncio.ensure_future(self._flush()))
        return await future

    async def _flush(self) -> None:
        self._flush_scheduled = False
        batch, self._batch = self._batch, []
        try:
            counts = await self._enqueue_many([(tenant, events) for tenant, events, _ in batch])
        except BaseException as exc:  # noqa: BLE001 - every waiting webhook gets the error (→ 503)
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, _, future), n in zip(batch, counts):
            if not future.done():
                future.set_result(n)

    async def _enqueue_many(self, requests: list[tuple[str, Sequence[dict]]]) -> list[int]:
        calls: list[tuple] = []
        sizes = []
        for tenant, events in requests:
            sizes.append(len(events))
            calls.extend(self._call(tenant, event) for event in events)
        results = await self._run_calls(calls)
        out, i = [], 0
        for size in sizes:
            out.append(sum(int(x) for x in results[i : i + size]))
            i += size
        return out

    def _call(self, tenant: str, event: dict) -> tuple:
        shard = shard_for(tenant, source_key(event), self.shards)
        event_id = str(event.get("webhookEventId") or "")
        return (
            self._seen_key(shard, tenant, event_id),
            self.stream_key(shard),
            self._ttl,
            tenant,
            json.dumps(event, ensure_ascii=False, separators=(",", ":")),
        )

    async def _run_calls(self, calls: list[tuple]) -> list:
        if self._channel is not None and self._wait is None:
            return await self._run_on_channel(calls)
        for attempt in (0, 1):
            if self._sha is None:
                self._sha = await self._r.script_load(_ENQUEUE_LUA)
            try:
                if len(calls) == 1 and self._wait is None:
                    return [await self._r.evalsha(self._sha, 2, *calls[0])]
                async with self._r.pipeline(transaction=False) as pipe:
                    for call in calls:
                        pipe.execute_command("EVALSHA", self._sha, 2, *call)  # pipe.evalsha is refused by cluster pipelines
                    if self._wait is None:
                        return await pipe.execute()
                    waited = await self._wait.queue(pipe, [c[1] for c in calls])
                    return await self._wait.check(await pipe.execute(), waited)
            except NoScriptError:  # Redis restarted and lost its script cache
                self._sha = None
                if attempt:
                    raise
        return []

    async def _run_on_channel(self, calls: list[tuple]) -> list:
        for attempt in (0, 1):
            if self._sha is None:
                self._sha = await self._r.script_load(_ENQUEUE_LUA)
            replies = await self._channel.call_many([("EVALSHA", self._sha, 2, *call) for call in calls])
            errors = [r for r in replies if isinstance(r, hiredis.ReplyError)]
            if not errors:
                return replies
            if any("NOSCRIPT" in str(e) for e in errors) and not attempt:
                # Redis restarted and lost its scripts: the script is idempotent per event (SET NX), so re-run all
                self._sha = None
                continue
            raise ResponseError(str(errors[0]))
        return []

    async def _ensure_group(self, shard: int) -> None:
        if shard in self._groups_ready:
            return
        try:
            await self._r.xgroup_create(self.stream_key(shard), GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups_ready.add(shard)

    async def read(self, shard: int, count: int = 16, block_ms: int = 1000) -> list[InboxEntry]:
        await self._ensure_group(shard)
        key = self.stream_key(shard)
        consumer = f"shard-{shard}"
        entries: list[Any] = []
        resp: Any
        if shard not in self._pending_done or self._outstanding[shard]:
            # entries delivered to this shard's consumer but never acknowledged (ours, or a crashed worker's)
            resp = await self._r.xreadgroup(GROUP, consumer, {key: "0"}, count=count)
            entries = resp[0][1] if resp else []
            if not entries:
                self._pending_done.add(shard)
        if not entries:
            resp = await self._r.xreadgroup(GROUP, consumer, {key: ">"}, count=count, block=block_ms)
            entries = resp[0][1] if resp else []
        if not entries:
            return []
        attempts = await self._r.hmget(self._attempts_key(shard), [eid for eid, _ in entries])
        out = []
        for (entry_id, fields), tries in zip(entries, attempts):
            if not fields:  # trimmed/deleted entry still pending
                await self._r.xack(key, GROUP, entry_id)
                continue
            try:
                event = json.loads(fields["e"])
            except (KeyError, ValueError):
                await self._r.xack(key, GROUP, entry_id)
                continue
            out.append(InboxEntry(shard, entry_id, fields.get("t", ""), event, int(tries or 0)))
            self._outstanding[shard].add(entry_id)
        return out

    def release(self, shard: int) -> None:
        """Forget local progress so the next owner (maybe us again) re-reads pending entries."""
        self._pending_done.discard(shard)
        self._outstanding.pop(shard, None)

    async def ack(self, entry: InboxEntry) -> None:
        if self._wait is not None:
            await self._ack_replicated(entry)
        else:
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.xack(self.stream_key(entry.shard), GROUP, entry.entry_id)
                pipe.xdel(self.stream_key(entry.shard), entry.entry_id)
                pipe.hdel(self._attempts_key(entry.shard), entry.entry_id)
                await pipe.execute()
        self._outstanding[entry.shard].discard(entry.entry_id)

    async def _ack_replicated(self, entry: InboxEntry) -> None:
        """The ack of an answered event must survive a failover too: were it lost, the event would be handled again
        more than 5 s later, its used reply token refused as if expired, and the resident answered twice by push."""
        assert self._wait is not None
        stream = self.stream_key(entry.shard)
        async with self._r.pipeline(transaction=False) as pipe:
            pipe.execute_command("EVAL", _ACK_LUA, 2, stream, self._attempts_key(entry.shard), GROUP, entry.entry_id)
            waited = await self._wait.queue(pipe, [stream])
            try:
                await self._wait.check(await pipe.execute(), waited)
            except NotReplicated as exc:  # answered and acked on the primary: nothing better to do than say so
                log.warning("inbox ack not confirmed by a replica", extra={"shard": entry.shard, "error": str(exc)})

    async def retry_later(self, entry: InboxEntry, error: str, max_attempts: int = 3) -> bool:
        tries = await self._r.hincrby(self._attempts_key(entry.shard), entry.entry_id, 1)
        if tries >= max_attempts:
            now = self._clock()
            key = self.dead_key(entry.shard)
            fields: dict[Any, Any] = {
                "t": entry.tenant,
                "e": json.dumps(entry.event, ensure_ascii=False),
                "error": error[:500],
                "at": repr(now),
            }
            # ids carry the time (ms), so MINID trims everything older than the retention at every new dead letter,
            # and the key itself expires when none came for the whole period
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.xadd(key, fields, id=f"{int(now * 1000)}-*", minid=self._dead_floor(now), approximate=False)
                pipe.expire(key, self._dead_retention)
                try:
                    await pipe.execute()
                except ResponseError:  # a clock behind the newest id (another host): let Redis pick the id
                    await self._r.xadd(key, fields, minid=self._dead_floor(now), approximate=False)
                    await self._r.expire(key, self._dead_retention)
            await self.ack(entry)
            return True
        self._pending_done.discard(entry.shard)  # re-read it from the pending list
        return False

    def _dead_floor(self, now: float) -> int:
        return max(0, int((now - self._dead_retention) * 1000))

    async def dead_letters(self, shard: int) -> list[dict]:
        key = self.dead_key(shard)
        floor = self._dead_floor(self._clock())
        await self._r.xtrim(key, minid=floor, approximate=False)
        rows: list[tuple[str, dict[str, str]]] = await self._r.xrange(key, min=str(floor))  # type: ignore[assignment]
        return [
            {
                "tenant": f.get("t", ""),
                "event": json.loads(f.get("e") or "{}"),
                "error": f.get("error", ""),
                "at": float(f.get("at") or 0),
            }
            for _, f in rows
        ]

    async def depth(self) -> int:
        total = 0
        async with self._r.pipeline(transaction=False) as pipe:
            for shard in range(self.shards):
                pipe.xlen(self.stream_key(shard))
            for n in await pipe.execute():
                total += int(n)
        return total


class MemoryInbox:
    """In-process inbox with the same semantics (dedup, per-shard order, pending redelivery, dead letters)."""

    def __init__(
        self, shards: int = 16, *, dead_retention_seconds: int = DEAD_RETENTION_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        self.shards = shards
        self._dead_retention = dead_retention_seconds
        self._clock = clock
        self._seen: set[tuple[str, str]] = set()
        self._streams: dict[int, list[InboxEntry]] = defaultdict(list)
        self._delivered: dict[int, int] = defaultdict(int)  # entries handed out but not acked
        self._attempts: dict[str, int] = defaultdict(int)
        self.dead: list[tuple[InboxEntry, str, float]] = []
        self._seq = 0
        self._cond = asyncio.Condition()

    async def enqueue(self, tenant: str, events: Sequence[dict]) -> int:
        new = 0
        async with self._cond:
            for event in events:
                key = (tenant, str(event.get("webhookEventId") or ""))
                if key in self._seen:
                    continue
                self._seen.add(key)
                self._seq += 1
                shard = shard_for(tenant, source_key(event), self.shards)
                self._streams[shard].append(InboxEntry(shard, f"{self._seq}-0", tenant, json.loads(json.dumps(event))))
                new += 1
            self._cond.notify_all()
        return new

    async def read(self, shard: int, count: int = 16, block_ms: int = 1000) -> list[InboxEntry]:
        async with self._cond:
            if not self._streams[shard]:
                try:
                    await asyncio.wait_for(self._cond.wait_for(lambda: bool(self._streams[shard])), block_ms / 1000)
                except TimeoutError:
                    return []
            batch = self._streams[shard][:count]
            return [InboxEntry(e.shard, e.entry_id, e.tenant, e.event, self._attempts[e.entry_id]) for e in batch]

    def release(self, shard: int) -> None:
        pass

    async def ack(self, entry: InboxEntry) -> None:
        async with self._cond:
            self._streams[entry.shard] = [e for e in self._streams[entry.shard] if e.entry_id != entry.entry_id]
            self._attempts.pop(entry.entry_id, None)

    async def retry_later(self, entry: InboxEntry, error: str, max_attempts: int = 3) -> bool:
        self._attempts[entry.entry_id] += 1
        if self._attempts[entry.entry_id] >= max_attempts:
            self.dead = [d for d in self.dead if d[2] > self._clock() - self._dead_retention]
            self.dead.append((entry, error, self._clock()))
            await self.ack(entry)
            return True
        return False

    async def depth(self) -> int:
        return sum(len(s) for s in self._streams.values())

    async def dead_letters(self, shard: int) -> list[dict]:
        self.dead = [d for d in self.dead if d[2] > self._clock() - self._dead_retention]
        return [{"tenant": e.tenant, "event": e.event, "error": err, "at": at} for e, err, at in self.dead if e.shard == shard]
