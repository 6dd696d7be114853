"""Ports of the reports room, each with a memory fake and a Redis implementation (one contract suite for both).

Redis layout (tenant in braces = cluster hash tag, so multi-key commands stay on one slot):

- ``cb:{t}:reports:r:<id>``          the report (JSON string; MGET reads thousands at once)
- ``cb:{t}:reports:all``             ZSET id → created_at (listing, Open311 date filters)
- ``cb:{t}:reports:sum``             HASH id → public summary (Open311 listings: HMGET, no history to parse)
- ``cb:{t}:reports:open:<category>`` GEO set of open reports (duplicate lookup = one GEOSEARCH)
- ``cb:{t}:reports:ended``           ZSET id → when it was closed/declined/merged (retention)
- ``cb:{t}:reports:user:<uid>``      SET of ids a resident reported or follows
- ``cb:{t}:reports:seq``             reference-number counter
- ``cb:{t}:reports:draft:<uid>``     the half-finished report (TTL = draft lifetime)
- ``cb:{t}:reports:rate:<who>:<n>``  fixed-window counters
- ``cb:{t}:reports:apikeys``         HASH sha256(key) → Open311 client name
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from redis.exceptions import WatchError

from bot.redis_client import RedisClient
from reports.model import Draft, Report, Summary, distance_m


def _key(tenant: str, name: str) -> str:
    return f"cb:{{{tenant}}}:reports:{name}"


def format_ref(n: int) -> str:
    return f"R{n:06d}"


class ReportStore(Protocol):
    async def next_id(self, tenant: str) -> str: ...
    async def create(self, report: Report) -> None: ...
    async def import_many(self, reports: Sequence[Report]) -> None:
        """Bulk ``create`` (migrations, load tests); ids must be fresh."""
        ...

    async def get(self, tenant: str, report_id: str) -> Report | None: ...
    async def get_many(self, tenant: str, ids: Sequence[str]) -> list[Report | None]: ...
    async def summaries(self, tenant: str, ids: Sequence[str]) -> list[Summary | None]:
        """The public summaries of ``ids`` (same order), kept in step with every write."""
        ...

    async def listing(self, tenant: str, start: float, end: float, offset: int, count: int) -> list[Summary]:
        """Public summaries of the reports created in [start, end], newest first (the order of ``ids``), rows
        ``offset`` to ``offset + count``: one round trip for an Open311 page, no id list through Python."""
        ...

    async def update(self, tenant: str, report_id: str, mutate: Callable[[Report], None]) -> Report | None:
        """Read, apply ``mutate`` and write back atomically (retried on a concurrent change); None = no such report."""
        ...

    async def near_open(self, tenant: str, category: str, lat: float, lng: float, radius_m: float) -> list[tuple[str, float]]:
        """Open reports of ``category`` within ``radius_m``: (id, metres), nearest first."""
        ...

    async def ids(self, tenant: str, start: float = 0.0, end: float = float("inf"), limit: int | None = None) -> list[str]:
        """Report ids created in [start, end], newest first."""
        ...

    async def of_user(self, tenant: str, user_id: str) -> list[str]: ...
    async def ended_before(self, tenant: str, before: float) -> list[str]: ...
    async def delete(self, tenant: str, report_id: str) -> None: ...


def _ended_at(report: Report) -> float | None:
    return None if report.is_open else (report.updated_at or report.created_at)


class MemoryReportStore:
    def __init__(self) -> None:
        self._reports: dict[tuple[str, str], str] = {}
        self._seq: dict[str, int] = {}

    async def next_id(self, tenant: str) -> str:
        self._seq[tenant] = self._seq.get(tenant, 0) + 1
        return format_ref(self._seq[tenant])

    async def create(self, report: Report) -> None:
        self._reports[(report.tenant, report.id)] = json.dumps(report.to_dict(), ensure_ascii=False)

    async def import_many(self, reports: Sequence[Report]) -> None:
        for report in reports:
            await self.create(report)

    async def get(self, tenant: str, report_id: str) -> Report | None:
        raw = self._reports.get((tenant, report_id))
        return Report.from_dict(json.loads(raw)) if raw else None

    async def get_many(self, tenant: str, ids: Sequence[str]) -> list[Report | None]:
        return [await self.get(tenant, i) for i in ids]

    async def summaries(self, tenant: str, ids: Sequence[str]) -> list[Summary | None]:
        return [None if r is None else Summary.of(r) for r in await self.get_many(tenant, ids)]

    async def listing(self, tenant: str, start: float, end: float, offset: int, count: int) -> list[Summary]:
        page = (await self.ids(tenant, start, end))[offset : offset + count]
        return [s for s in await self.summaries(tenant, page) if s is not None]

    async def update(self, tenant: str, report_id: str, mutate: Callable[[Report], None]) -> Report | None:
        report = await self.get(tenant, report_id)
        if report is None:
            return None
        mutate(report)
        await self.create(report)
        return report

    async def near_open(self, tenant: str, category: str, lat: float, lng: float, radius_m: float) -> list[tuple[str, float]]:
        found = []
        for (t, _), raw in self._reports.items():
            if t != tenant:
                continue
            r = Report.from_dict(json.loads(raw))
            if r.category == category and r.is_open:
                d = distance_m(lat, lng, r.lat, r.lng)
                if d <= radius_m:
                    found.append((r.id, d))
        return sorted(found, key=lambda x: x[1])

    async def ids(self, tenant: str, start: float = 0.0, end: float = float("inf"), limit: int | None = None) -> list[str]:
        rows = [Report.from_dict(json.loads(raw)) for (t, _), raw in self._reports.items() if t == tenant]
        rows = sorted((r for r in rows if start <= r.created_at <= end), key=lambda r: (r.created_at, r.id), reverse=True)
        return [r.id for r in rows][: limit if limit is not None else None]

    async def of_user(self, tenant: str, user_id: str) -> list[str]:
        out = []
        for (t, _), raw in self._reports.items():
            r = Report.from_dict(json.loads(raw))
            if t == tenant and (r.reporter == user_id or user_id in r.followers):
                out.append(r.id)
        return out

    async def ended_before(self, tenant: str, before: float) -> list[str]:
        out = []
        for (t, _), raw in self._reports.items():
            r = Report.from_dict(json.loads(raw))
            ended = _ended_at(r)
            if t == tenant and ended is not None and ended < before:
                out.append(r.id)
        return out

    async def delete(self, tenant: str, report_id: str) -> None:
        self._reports.pop((tenant, report_id), None)


# the newest reports of a date window and their summaries, in one call (both keys share the tenant's hash tag)
_LISTING = """
local ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', ARGV[3], ARGV[4])
local out = {}
for i = 1, #ids, 1000 do
  local rows = redis.call('HMGET', KEYS[2], unpack(ids, i, math.min(i + 999, #ids)))
  for j = 1, #rows do
    if rows[j] then out[#out + 1] = rows[j] end
  end
end
return out
"""


class RedisReportStore:
    def __init__(self, client: RedisClient) -> None:
        self.r = client
        self._listing = client.register_script(_LISTING)

    async def next_id(self, tenant: str) -> str:
        return format_ref(int(await self.r.incr(_key(tenant, "seq"))))

    def _index(self, pipe, report: Report, before: Report | None) -> None:
        t = report.tenant
        if before is not None and before.is_open and (not report.is_open or before.category != report.category):
            pipe.zrem(_key(t, f"open:{before.category}"), report.id)
        pipe.hset(_key(t, "sum"), report.id, Summary.of(report).to_json())
        if report.is_open:
            pipe.geoadd(_key(t, f"open:{report.category}"), (report.lng, report.lat, report.id))
            pipe.zrem(_key(t, "ended"), report.id)
        else:
            pipe.zadd(_key(t, "ended"), {report.id: _ended_at(report) or time.time()})
        for uid in ([report.reporter] if report.source == "line" else []) + report.followers:
            pipe.sadd(_key(t, f"user:{uid}"), report.id)

    async def create(self, report: Report) -> None:
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.set(_key(report.tenant, f"r:{report.id}"), json.dumps(report.to_dict(), ensure_ascii=False))
            pipe.zadd(_key(report.tenant, "all"), {report.id: report.created_at})
            self._index(pipe, report, None)
            await pipe.execute()

    async def import_many(self, reports: Sequence[Report]) -> None:
        for i in range(0, len(reports), 2000):
            async with self.r.pipeline(transaction=False) as pipe:
                for report in reports[i : i + 2000]:
                    pipe.set(_key(report.tenant, f"r:{report.id}"), json.dumps(report.to_dict(), ensure_ascii=False))
                    pipe.zadd(_key(report.tenant, "all"), {report.id: report.created_at})
                    self._index(pipe, report, None)
                await pipe.execute()

    async def get(self, tenant: str, report_id: str) -> Report | None:
        raw = await self.r.get(_key(tenant, f"r:{report_id}"))
        return Report.from_dict(json.loads(raw)) if raw else None

    async def get_many(self, tenant: str, ids: Sequence[str]) -> list[Report | None]:
        if not ids:
            return []
        raws = await self.r.mget([_key(tenant, f"r:{i}") for i in ids])
        return [Report.from_dict(json.loads(raw)) if raw else None for raw in raws]

    async def summaries(self, tenant: str, ids: Sequence[str]) -> list[Summary | None]:
        if not ids:
            return []
        raws = await self.r.hmget(_key(tenant, "sum"), list(ids))
        return [Summary.from_json(str(raw)) if raw else None for raw in raws]

    async def listing(self, tenant: str, start: float, end: float, offset: int, count: int) -> list[Summary]:
        if count <= 0:
            return []
        hi = "+inf" if end == float("inf") else repr(end)
        raws = await self._listing(keys=[_key(tenant, "all"), _key(tenant, "sum")], args=[hi, repr(start), offset, count])
        return Summary.many(raws)

    async def update(self, tenant: str, report_id: str, mutate: Callable[[Report], None]) -> Report | None:
        key = _key(tenant, f"r:{report_id}")
        async with self.r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if not raw:
                        await pipe.unwatch()
                        return None
                    before = Report.from_dict(json.loads(raw))
                    report = Report.from_dict(json.loads(raw))
                    mutate(report)
                    pipe.multi()
                    pipe.set(key, json.dumps(report.to_dict(), ensure_ascii=False))
                    self._index(pipe, report, before)
                    await pipe.execute()
                    return report
                except WatchError:
                    continue

    async def near_open(self, tenant: str, category: str, lat: float, lng: float, radius_m: float) -> list[tuple[str, float]]:
        rows = await self.r.geosearch(
            _key(tenant, f"open:{category}"), longitude=lng, latitude=lat, radius=radius_m, unit="m", withdist=True, sort="ASC"
        )
        return [(str(row[0]), float(row[1])) for row in rows]  # type: ignore[index, arg-type]

    async def ids(self, tenant: str, start: float = 0.0, end: float = float("inf"), limit: int | None = None) -> list[str]:
        hi = "+inf" if end == float("inf") else end
        if limit is None:
            return [str(x) for x in await self.r.zrevrangebyscore(_key(tenant, "all"), hi, start)]
        return [str(x) for x in await self.r.zrevrangebyscore(_key(tenant, "all"), hi, start, start=0, num=limit)]

    async def of_user(self, tenant: str, user_id: str) -> list[str]:
        return sorted(str(x) for x in await self.r.smembers(_key(tenant, f"user:{user_id}")))

    async def ended_before(self, tenant: str, before: float) -> list[str]:
        return [str(x) for x in await self.r.zrangebyscore(_key(tenant, "ended"), 0, before)]

    async def delete(self, tenant: str, report_id: str) -> None:
        report = await self.get(tenant, report_id)
        if report is None:
            return
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.delete(_key(tenant, f"r:{report_id}"))
            pipe.zrem(_key(tenant, "all"), report_id)
            pipe.zrem(_key(tenant, "ended"), report_id)
            pipe.hdel(_key(tenant, "sum"), report_id)
            pipe.zrem(_key(tenant, f"open:{report.category}"), report_id)
            for uid in [report.reporter, *report.followers]:
                pipe.srem(_key(tenant, f"user:{uid}"), report_id)
            await pipe.execute()


class DraftStore(Protocol):
    """Half-finished reports (expire on their own) and the fixed-window counters that stop floods."""

    async def get(self, tenant: str, user_id: str) -> Draft | None: ...
    async def save(self, draft: Draft, ttl_s: int) -> None: ...
    async def delete(self, tenant: str, user_id: str) -> None: ...
    async def hits(self, tenant: str, who: str, window_s: int) -> int:
        """How many times ``who`` was counted in the current window."""
        ...

    async def count(self, tenant: str, who: str, window_s: int) -> int:
        """Count one more for ``who`` in the current window; returns the new total."""
        ...


class MemoryDraftStore:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._drafts: dict[tuple[str, str], tuple[str, float]] = {}
        self._counts: dict[str, int] = {}

    async def get(self, tenant: str, user_id: str) -> Draft | None:
        item = self._drafts.get((tenant, user_id))
        if item is None or item[1] <= self.clock():
            return None
        return Draft.from_dict(json.loads(item[0]))

    async def save(self, draft: Draft, ttl_s: int) -> None:
        self._drafts[(draft.tenant, draft.user_id)] = (json.dumps(draft.to_dict()), self.clock() + ttl_s)

    async def delete(self, tenant: str, user_id: str) -> None:
        self._drafts.pop((tenant, user_id), None)

    def _window(self, tenant: str, who: str, window_s: int) -> str:
        return f"{tenant}:{who}:{window_s}:{int(self.clock() // window_s)}"

    async def hits(self, tenant: str, who: str, window_s: int) -> int:
        return self._counts.get(self._window(tenant, who, window_s), 0)

    async def count(self, tenant: str, who: str, window_s: int) -> int:
        k = self._window(tenant, who, window_s)
        self._counts[k] = self._counts.get(k, 0) + 1
        return self._counts[k]


class RedisDraftStore:
    def __init__(self, client: RedisClient, clock: Callable[[], float] = time.time) -> None:
        self.r = client
        self.clock = clock

    async def get(self, tenant: str, user_id: str) -> Draft | None:
        raw = await self.r.get(_key(tenant, f"draft:{user_id}"))
        return Draft.from_dict(json.loads(raw)) if raw else None

    async def save(self, draft: Draft, ttl_s: int) -> None:
        await self.r.set(_key(draft.tenant, f"draft:{draft.user_id}"), json.dumps(draft.to_dict()), ex=ttl_s)

    async def delete(self, tenant: str, user_id: str) -> None:
        await self.r.delete(_key(tenant, f"draft:{user_id}"))

    def _window(self, tenant: str, who: str, window_s: int) -> str:
        return _key(tenant, f"rate:{who}:{window_s}:{int(self.clock() // window_s)}")

    async def hits(self, tenant: str, who: str, window_s: int) -> int:
        return int(await self.r.get(self._window(tenant, who, window_s)) or 0)

    async def count(self, tenant: str, who: str, window_s: int) -> int:
        key = self._window(tenant, who, window_s)
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window_s + 5)
            n, _ = await pipe.execute()
        return int(n)


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


class ApiKeyStore(Protocol):
    """Open311 clients' API keys, stored as SHA-256 only (the key is shown once, when issued)."""

    async def add(self, tenant: str, client: str, api_key: str) -> None: ...
    async def client_of(self, tenant: str, api_key: str) -> str | None: ...
    async def clients(self, tenant: str) -> list[str]: ...
    async def revoke(self, tenant: str, client: str) -> int: ...


class MemoryApiKeyStore:
    def __init__(self) -> None:
        self._keys: dict[tuple[str, str], str] = {}

    async def add(self, tenant: str, client: str, api_key: str) -> None:
        self._keys[(tenant, hash_key(api_key))] = client

    async def client_of(self, tenant: str, api_key: str) -> str | None:
        return self._keys.get((tenant, hash_key(api_key)))

    async def clients(self, tenant: str) -> list[str]:
        return sorted({c for (t, _), c in self._keys.items() if t == tenant})

    async def revoke(self, tenant: str, client: str) -> int:
        gone = [k for k, c in self._keys.items() if k[0] == tenant and c == client]
        for k in gone:
            del self._keys[k]
        return len(gone)


class RedisApiKeyStore:
    def __init__(self, client: RedisClient) -> None:
        self.r = client

    async def add(self, tenant: str, client: str, api_key: str) -> None:
        await self.r.hset(_key(tenant, "apikeys"), hash_key(api_key), client)

    async def client_of(self, tenant: str, api_key: str) -> str | None:
        client = await self.r.hget(_key(tenant, "apikeys"), hash_key(api_key))
        return None if client is None else str(client)

    async def clients(self, tenant: str) -> list[str]:
        return sorted({str(c) for c in (await self.r.hgetall(_key(tenant, "apikeys"))).values()})

    async def revoke(self, tenant: str, client: str) -> int:
        rows = await self.r.hgetall(_key(tenant, "apikeys"))
        gone = [h for h, c in rows.items() if c == client]
        if gone:
            await self.r.hdel(_key(tenant, "apikeys"), *gone)
        return len(gone)
