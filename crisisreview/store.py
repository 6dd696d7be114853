"""CrisisReviewStore port: counsellors' marks waiting for a supervisor, and the decided items. Memory and Redis.

Every item expires with the tenant's retention (``ttl_seconds`` given when marked). A mark and a decision are each
one atomic step (no awaits in memory, a Lua script in Redis), so two supervisors deciding the same item cannot both
win and a late re-mark cannot overwrite a decision.

Redis keys (``{t}`` = tenant hash tag): ``cb:{t}:crisisreview:item:<id>`` hash with a TTL, ``cb:{t}:crisisreview:pending``
zset (score = marked_at), ``cb:{t}:crisisreview:reviewed`` zset (score = reviewed_at). Ids whose item expired are
dropped from the zsets when a list meets them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, fields, replace
from typing import Protocol

from bot.redis_client import RedisClient
from crisisreview.model import ReviewItem

_OPTIONAL = {"category", "bot_category"}
_FLOATS = {"marked_at", "reviewed_at"}


class CrisisReviewStore(Protocol):
    async def mark(self, item: ReviewItem, ttl_seconds: float) -> bool:
        """Store a pending mark (replacing a pending one with the same id); False if that item is already decided."""
        ...

    async def get(self, tenant: str, item_id: str) -> ReviewItem | None: ...
    async def pending(self, tenant: str, limit: int = 200) -> list[ReviewItem]:
        """Pending marks, oldest first."""
        ...

    async def reviewed(self, tenant: str) -> list[ReviewItem]:
        """Decided items, newest decision first."""
        ...

    async def decide(self, tenant: str, item_id: str, status: str, label: str, reviewer: str, now: float) -> ReviewItem | None:
        """Confirm or reject a pending item; None if it is missing (expired) or already decided."""
        ...


class MemoryCrisisReviewStore:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._items: dict[tuple[str, str], tuple[ReviewItem, float]] = {}
        self._clock = clock

    def _live(self, tenant: str, item_id: str) -> ReviewItem | None:
        entry = self._items.get((tenant, item_id))
        if entry is None:
            return None
        if entry[1] <= self._clock():
            del self._items[(tenant, item_id)]
            return None
        return entry[0]

    async def mark(self, item: ReviewItem, ttl_seconds: float) -> bool:
        existing = self._live(item.tenant, item.id)
        if existing is not None and existing.status != "pending":
            return False
        self._items[(item.tenant, item.id)] = (
            replace(item, status="pending", label="", reviewed_by="", reviewed_at=0.0),
            self._clock() + ttl_seconds,
        )
        return True

    async def get(self, tenant: str, item_id: str) -> ReviewItem | None:
        return self._live(tenant, item_id)

    def _all(self, tenant: str) -> list[ReviewItem]:
        out = []
        for t, item_id in list(self._items):
            if t == tenant:
                item = self._live(t, item_id)
                if item is not None:
                    out.append(item)
        return out

    async def pending(self, tenant: str, limit: int = 200) -> list[ReviewItem]:
        items = sorted((i for i in self._all(tenant) if i.status == "pending"), key=lambda i: (i.marked_at, i.id))
        return items[:limit]

    async def reviewed(self, tenant: str) -> list[ReviewItem]:
        return sorted((i for i in self._all(tenant) if i.status != "pending"), key=lambda i: (i.reviewed_at, i.id), reverse=True)

    async def decide(self, tenant: str, item_id: str, status: str, label: str, reviewer: str, now: float) -> ReviewItem | None:
        item = self._live(tenant, item_id)
        if item is None or item.status != "pending":
            return None
        decided = replace(item, status=status, label=label, reviewed_by=reviewer, reviewed_at=now)
        self._items[(tenant, item_id)] = (decided, self._items[(tenant, item_id)][1])
        return decided


_MARK = """
local status = redis.call('HGET', KEYS[1], 'status')
if status and status ~= 'pending' then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
"""

_DECIDE = """
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'label', ARGV[3], 'reviewed_by', ARGV[4], 'reviewed_at', ARGV[5])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
return 1
"""


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _flat(item: ReviewItem) -> list[str]:
    out: list[str] = []
    for k, v in asdict(item).items():
        out += [k, "" if v is None else repr(v) if isinstance(v, float) else str(v)]
    return out


def _decode(raw: dict) -> ReviewItem:
    data = {_text(k): _text(v) for k, v in raw.items()}
    values: dict[str, object] = {}
    for f in fields(ReviewItem):
        v = data.get(f.name, "")
        values[f.name] = (v or None) if f.name in _OPTIONAL else float(v or 0) if f.name in _FLOATS else v
    return ReviewItem(**values)  # type: ignore[arg-type]


class RedisCrisisReviewStore:
    def __init__(self, client: RedisClient) -> None:
        self._r = client
        self._mark = client.register_script(_MARK)
        self._decide = client.register_script(_DECIDE)

    @classmethod
    def from_url(cls, url: str) -> RedisCrisisReviewStore:
        return cls(RedisClient.from_url(url, decode_responses=True))

    @staticmethod
    def _k(tenant: str, name: str) -> str:
        return f"cb:{{{tenant}}}:crisisreview:{name}"

    async def mark(self, item: ReviewItem, ttl_seconds: float) -> bool:
        item = replace(item, status="pending", label="", reviewed_by="", reviewed_at=0.0)
        t = item.tenant
        done = await self._mark(
            keys=[self._k(t, f"item:{item.id}"), self._k(t, "pending")],
            args=[item.id, max(1, int(ttl_seconds * 1000)), repr(item.marked_at), *_flat(item)],
        )
        return bool(done)

    async def get(self, tenant: str, item_id: str) -> ReviewItem | None:
        raw = await self._r.hgetall(self._k(tenant, f"item:{item_id}"))
        return _decode(raw) if raw else None

    async def _load(self, tenant: str, index: str, ids: list) -> list[ReviewItem]:
        ids = [_text(i) for i in ids]
        async with self._r.pipeline(transaction=False) as pipe:
            for i in ids:
                pipe.hgetall(self._k(tenant, f"item:{i}"))
            raws = await pipe.execute()
        gone = [i for i, raw in zip(ids, raws) if not raw]
        if gone:
            await self._r.zrem(self._k(tenant, index), *gone)
        return [_decode(raw) for raw in raws if raw]

    async def pending(self, tenant: str, limit: int = 200) -> list[ReviewItem]:
        items: list[ReviewItem] = []
        start = 0
        while len(items) < limit:  # expired ids are skipped (and dropped), so read on until the page is full
            ids = await self._r.zrange(self._k(tenant, "pending"), start, start + limit - 1)
            if not ids:
                break
            loaded = await self._load(tenant, "pending", ids)
            items += loaded
            start += len(loaded)  # the expired ones were removed, so the rest moved up
        return items[:limit]

    async def reviewed(self, tenant: str) -> list[ReviewItem]:
        ids = await self._r.zrevrange(self._k(tenant, "reviewed"), 0, -1)
        return await self._load(tenant, "reviewed", ids)

    async def decide(self, tenant: str, item_id: str, status: str, label: str, reviewer: str, now: float) -> ReviewItem | None:
        done = await self._decide(
            keys=[self._k(tenant, f"item:{item_id}"), self._k(tenant, "pending"), self._k(tenant, "reviewed")],
            args=[item_id, status, label, reviewer, repr(now)],
        )
        return await self.get(tenant, item_id) if done else None
