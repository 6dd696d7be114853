"""Incident store port: recent incidents per tenant (with a GEO index), the review list, the audit log, and
ingestion cursors. ``MemoryIncidentStore`` (tests) and ``RedisIncidentStore`` share one contract suite.

Retention: an incident is kept ``retention_days`` (per tenant, passed on ``add``) after it happened; Redis expires
the JSON by TTL and ``purge`` trims the GEO/time indexes (called on every ``add``, so no separate sweeper).
The review list and the audit log are not subject to retention: an admin decides about each review item, and the
audit log is capped at ``AUDIT_MAX`` entries per tenant.
"""

from __future__ import annotations

import time
from typing import Protocol

from alerts.geo import haversine_m
from alerts.notices.model import AuditEntry, Incident, ReviewItem
from bot.redis_client import RedisClient, connect

DAY = 86400.0
AUDIT_MAX = 10_000
SEEN_TTL = 120 * 86400  # longer than any mailbox keeps an unprocessed mail


class IncidentStore(Protocol):
    async def add(self, incident: Incident, *, retention_days: float = 30, now: float | None = None) -> bool:
        """Keep an incident; False (and nothing changed) when one with this id is already kept, or when it
        happened longer than ``retention_days`` ago (a late or replayed notice is not news)."""
        ...

    async def update(self, incident: Incident, *, retention_days: float = 30) -> None:
        """Replace a kept incident (status, placement) and re-index it."""
        ...

    async def get(self, tenant: str, incident_id: str) -> Incident | None: ...

    async def recent(self, tenant: str, days: float, *, now: float | None = None) -> list[Incident]:
        """Incidents of the last ``days``, newest first."""
        ...

    async def recent_near(
        self,
        tenant: str,
        points: list[tuple[float, float]],
        radius_m: float,
        days: float,
        *,
        codes: tuple[str, ...] = (),
        now: float | None = None,
    ) -> list[Incident]:
        """Placed incidents of the last ``days`` within ``radius_m`` of any point, plus municipality-level ones
        in ``codes`` (jis5); newest first, each once."""
        ...

    async def purge(self, tenant: str, *, retention_days: float = 30, now: float | None = None) -> int: ...

    async def add_review(self, item: ReviewItem) -> bool: ...
    async def get_review(self, tenant: str, item_id: str) -> ReviewItem | None: ...
    async def list_review(self, tenant: str) -> list[ReviewItem]:
        """Open review items, oldest first."""
        ...
    async def close_review(self, tenant: str, item_id: str) -> bool: ...

    async def append_audit(self, entry: AuditEntry) -> None: ...
    async def audit_log(self, tenant: str, limit: int = 100) -> list[AuditEntry]:
        """Newest first."""
        ...

    async def seen(self, tenant: str, key: str) -> bool:
        """Whether an ingestion key (``imap:<box>:<uidvalidity>:<uid>``, ``rss:<feed>:<entry id>``) was processed."""
        ...

    async def mark_seen(self, tenant: str, key: str) -> None:
        """Record a processed ingestion key (after processing, so a crash in between re-processes, never loses)."""
        ...


def _indexable(inc: Incident) -> bool:
    return inc.lat is not None and inc.lng is not None and inc.precision in ("town", "municipality") and inc.status != "review"


class MemoryIncidentStore:
    def __init__(self) -> None:
        self._inc: dict[tuple[str, str], str] = {}
        self._review: dict[tuple[str, str], str] = {}
        self._audit: dict[str, list[str]] = {}
        self._seen: set[tuple[str, str]] = set()

    async def add(self, incident: Incident, *, retention_days: float = 30, now: float | None = None) -> bool:
        now = now or time.time()
        await self.purge(incident.tenant, retention_days=retention_days, now=now)
        key = (incident.tenant, incident.id)
        if key in self._inc or incident.ts < now - retention_days * DAY:
            return False
        self._inc[key] = incident.to_json()
        return True

    async def update(self, incident: Incident, *, retention_days: float = 30) -> None:
        self._inc[(incident.tenant, incident.id)] = incident.to_json()

    async def get(self, tenant: str, incident_id: str) -> Incident | None:
        raw = self._inc.get((tenant, incident_id))
        return Incident.from_json(raw) if raw else None

    def _all(self, tenant: str) -> list[Incident]:
        return [Incident.from_json(v) for (t, _), v in self._inc.items() if t == tenant]

    async def recent(self, tenant: str, days: float, *, now: float | None = None) -> list[Incident]:
        since = (now or time.time()) - days * DAY
        return sorted((i for i in self._all(tenant) if i.ts >= since), key=lambda i: -i.ts)

    async def recent_near(self, tenant, points, radius_m, days, *, codes=(), now=None) -> list[Incident]:
        out = []
        for inc in await self.recent(tenant, days, now=now):
            if not _indexable(inc):
                continue
            if inc.precision == "town" and any(haversine_m(lat, lng, inc.lat, inc.lng) <= radius_m for lat, lng in points):
                out.append(inc)
            elif inc.precision == "municipality" and inc.municipality_code in codes:
                out.append(inc)
        return out

    async def purge(self, tenant: str, *, retention_days: float = 30, now: float | None = None) -> int:
        since = (now or time.time()) - retention_days * DAY
        old = [k for k, v in self._inc.items() if k[0] == tenant and Incident.from_json(v).ts < since]
        for k in old:
            del self._inc[k]
        return len(old)

    async def add_review(self, item: ReviewItem) -> bool:
        key = (item.tenant, item.id)
        if key in self._review:
            return False
        self._review[key] = item.to_json()
        return True

    async def get_review(self, tenant: str, item_id: str) -> ReviewItem | None:
        raw = self._review.get((tenant, item_id))
        return ReviewItem.from_json(raw) if raw else None

    async def list_review(self, tenant: str) -> list[ReviewItem]:
        items = [ReviewItem.from_json(v) for (t, _), v in self._review.items() if t == tenant]
        return sorted(items, key=lambda i: i.received_at)

    async def close_review(self, tenant: str, item_id: str) -> bool:
        return self._review.pop((tenant, item_id), None) is not None

    async def append_audit(self, entry: AuditEntry) -> None:
        log = self._audit.setdefault(entry.tenant, [])
        log.insert(0, entry.to_json())
        del log[AUDIT_MAX:]

    async def audit_log(self, tenant: str, limit: int = 100) -> list[AuditEntry]:
        return [AuditEntry.from_json(r) for r in self._audit.get(tenant, [])[:limit]]

    async def seen(self, tenant: str, key: str) -> bool:
        return (tenant, key) in self._seen

    async def mark_seen(self, tenant: str, key: str) -> None:
        self._seen.add((tenant, key))


class RedisIncidentStore:
    """Keys (tenant hash tag, so one tenant's notices share a cluster slot):

    * ``cb:{t}:notices:inc:<id>`` — incident JSON (string, TTL = retention after it happened)
    * ``cb:{t}:notices:time`` — zset id → ts (recent listing, purge)
    * ``cb:{t}:notices:geo`` — GEO index of town-precision incidents (``recent_near``)
    * ``cb:{t}:notices:muni`` — zset ``<jis5>|<id>`` → ts of municipality-precision incidents
    * ``cb:{t}:notices:review`` — hash id → review item JSON
    * ``cb:{t}:notices:audit`` — list of audit JSON, newest first, capped
    * ``cb:{t}:notices:seen:<key>`` — ingestion keys already processed (TTL ``SEEN_TTL``)
    """

    def __init__(self, client: RedisClient) -> None:
        self._r = client

    @classmethod
    def from_url(cls, url: str) -> RedisIncidentStore:
        return cls(connect(url))

    @staticmethod
    def _k(tenant: str, name: str) -> str:
        return f"cb:{{{tenant}}}:notices:{name}"

    def _index(self, pipe, inc: Incident, ttl: int) -> None:  # noqa: ANN001
        t = inc.tenant
        pipe.set(self._k(t, f"inc:{inc.id}"), inc.to_json(), ex=ttl)
        pipe.zadd(self._k(t, "time"), {inc.id: inc.ts})
        pipe.zrem(self._k(t, "geo"), inc.id)
        if _indexable(inc) and inc.precision == "town":
            pipe.geoadd(self._k(t, "geo"), (inc.lng, inc.lat, inc.id))
        if _indexable(inc) and inc.precision == "municipality":
            pipe.zadd(self._k(t, "muni"), {f"{inc.municipality_code}|{inc.id}": inc.ts})

    async def add(self, incident: Incident, *, retention_days: float = 30, now: float | None = None) -> bool:
        now = now or time.time()
        await self.purge(incident.tenant, retention_days=retention_days, now=now)
        ttl = int(incident.ts + retention_days * DAY - now)
        if ttl <= 0:
            return False  # already past retention: nothing to keep
        created = await self._r.set(self._k(incident.tenant, f"inc:{incident.id}"), incident.to_json(), ex=ttl, nx=True)
        if not created:
            return False
        async with self._r.pipeline(transaction=True) as pipe:
            self._index(pipe, incident, ttl)
            await pipe.execute()
        return True

    async def update(self, incident: Incident, *, retention_days: float = 30) -> None:
        ttl = max(1, int(incident.ts + retention_days * DAY - time.time()))
        old = await self.get(incident.tenant, incident.id)
        async with self._r.pipeline(transaction=True) as pipe:
            if old is not None and old.precision == "municipality":
                pipe.zrem(self._k(incident.tenant, "muni"), f"{old.municipality_code}|{old.id}")
            self._index(pipe, incident, ttl)
            await pipe.execute()

    async def get(self, tenant: str, incident_id: str) -> Incident | None:
        raw = await self._r.get(self._k(tenant, f"inc:{incident_id}"))
        return Incident.from_json(raw) if raw else None

    async def _load(self, tenant: str, ids: list[str]) -> list[Incident]:
        if not ids:
            return []
        raws = await self._r.mget([self._k(tenant, f"inc:{i}") for i in ids])
        return [Incident.from_json(r) for r in raws if r]

    async def recent(self, tenant: str, days: float, *, now: float | None = None) -> list[Incident]:
        since = (now or time.time()) - days * DAY
        ids = await self._r.zrevrangebyscore(self._k(tenant, "time"), "+inf", since)
        return [i for i in await self._load(tenant, ids) if i.ts >= since]

    async def recent_near(self, tenant, points, radius_m, days, *, codes=(), now=None) -> list[Incident]:
        since = (now or time.time()) - days * DAY
        ids: dict[str, None] = {}
        async with self._r.pipeline(transaction=False) as pipe:
            for lat, lng in points:
                pipe.geosearch(self._k(tenant, "geo"), longitude=lng, latitude=lat, radius=radius_m, unit="m")
            pipe.zrangebyscore(self._k(tenant, "muni"), since, "+inf")
            results = await pipe.execute()
        for hits in results[:-1]:
            ids.update(dict.fromkeys(hits))
        for member in results[-1]:
            code, _, iid = member.partition("|")
            if code in codes:
                ids[iid] = None
        found = [i for i in await self._load(tenant, list(ids)) if i.ts >= since and _indexable(i)]
        return sorted(found, key=lambda i: -i.ts)

    async def purge(self, tenant: str, *, retention_days: float = 30, now: float | None = None) -> int:
        cutoff = (now or time.time()) - retention_days * DAY
        old = await self._r.zrangebyscore(self._k(tenant, "time"), "-inf", f"({cutoff}")
        if not old:
            return 0
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.zrem(self._k(tenant, "time"), *old)
            pipe.zrem(self._k(tenant, "geo"), *old)
            pipe.zremrangebyscore(self._k(tenant, "muni"), "-inf", f"({cutoff}")
            pipe.execute_command("DEL", *[self._k(tenant, f"inc:{i}") for i in old])
            await pipe.execute()
        return len(old)

    async def add_review(self, item: ReviewItem) -> bool:
        return bool(await self._r.hsetnx(self._k(item.tenant, "review"), item.id, item.to_json()))

    async def get_review(self, tenant: str, item_id: str) -> ReviewItem | None:
        raw = await self._r.hget(self._k(tenant, "review"), item_id)
        return ReviewItem.from_json(raw) if raw else None

    async def list_review(self, tenant: str) -> list[ReviewItem]:
        raws = await self._r.hvals(self._k(tenant, "review"))
        return sorted((ReviewItem.from_json(r) for r in raws), key=lambda i: i.received_at)

    async def close_review(self, tenant: str, item_id: str) -> bool:
        return bool(await self._r.hdel(self._k(tenant, "review"), item_id))

    async def append_audit(self, entry: AuditEntry) -> None:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.lpush(self._k(entry.tenant, "audit"), entry.to_json())
            pipe.ltrim(self._k(entry.tenant, "audit"), 0, AUDIT_MAX - 1)
            await pipe.execute()

    async def audit_log(self, tenant: str, limit: int = 100) -> list[AuditEntry]:
        return [AuditEntry.from_json(r) for r in await self._r.lrange(self._k(tenant, "audit"), 0, limit - 1)]

    async def seen(self, tenant: str, key: str) -> bool:
        return bool(await self._r.exists(self._k(tenant, f"seen:{key}")))

    async def mark_seen(self, tenant: str, key: str) -> None:
        await self._r.set(self._k(tenant, f"seen:{key}"), str(int(time.time())), ex=SEEN_TTL)
