"""FaqStore port: a tenant's FAQ entries, their change history and residents' feedback.

Every change bumps a per-tenant ``revision`` counter; search indexes in any process compare it with the revision
they were built from and rebuild when it moved (see ``faq.index.LiveIndex``). That is how an edit made in the admin
UI of one process reaches the bot workers of another without a restart.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Protocol

from redis.exceptions import WatchError

from bot.redis_client import RedisClient, connect
from faq.models import FaqChange, FaqEntry, FaqFeedback

HISTORY_MAX = 20_000  # per tenant; old changes fall off the end
FEEDBACK_MAX = 100_000
VOTE_TTL = 90 * 24 * 3600  # a resident's vote on (entry, query) is unique for this long


class VersionConflict(Exception):
    """The entry changed since the editor loaded it (``expected_version`` did not match)."""


@dataclass
class PutResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class FaqStore(Protocol):
    async def get(self, tenant: str, entry_id: str) -> FaqEntry | None: ...
    async def all(self, tenant: str) -> list[FaqEntry]: ...
    async def put(self, entry: FaqEntry, who: str, expected_version: int | None = None) -> FaqEntry: ...
    async def put_many(self, tenant: str, entries: list[FaqEntry], who: str) -> PutResult: ...
    async def delete(self, tenant: str, entry_id: str, who: str) -> bool: ...
    async def history(self, tenant: str, entry_id: str | None = None, limit: int = 100) -> list[FaqChange]: ...
    async def revision(self, tenant: str) -> int: ...
    async def add_feedback(self, feedback: FaqFeedback) -> bool: ...
    async def feedback(self, tenant: str, limit: int = 1000) -> list[FaqFeedback]: ...
    async def feedback_counts(self, tenant: str) -> dict[str, tuple[int, int]]: ...


def _stored(entry: FaqEntry, tenant: str, version: int) -> FaqEntry:
    data = entry.to_dict()
    data.update(tenant=tenant, version=version)
    return FaqEntry.from_dict(data)


class MemoryFaqStore:
    def __init__(self) -> None:
        self._entries: dict[str, dict[str, FaqEntry]] = {}
        self._history: dict[str, list[FaqChange]] = {}
        self._revision: dict[str, int] = {}
        self._feedback: dict[str, list[FaqFeedback]] = {}
        self._voted: set[tuple[str, str, str, str]] = set()

    def _bump(self, tenant: str) -> None:
        self._revision[tenant] = self._revision.get(tenant, 0) + 1

    async def get(self, tenant: str, entry_id: str) -> FaqEntry | None:
        e = self._entries.get(tenant, {}).get(entry_id)
        return None if e is None else FaqEntry.from_dict(e.to_dict())

    async def all(self, tenant: str) -> list[FaqEntry]:
        return [FaqEntry.from_dict(e.to_dict()) for _, e in sorted(self._entries.get(tenant, {}).items())]

    def _put(self, tenant: str, entry: FaqEntry, who: str, expected_version: int | None) -> tuple[FaqEntry, str]:
        current = self._entries.setdefault(tenant, {}).get(entry.id)
        if expected_version is not None and (current.version if current else 0) != expected_version:
            raise VersionConflict(entry.id)
        if current is not None and current.content() == entry.content():
            return FaqEntry.from_dict(current.to_dict()), "unchanged"
        stored = _stored(entry, tenant, (current.version if current else 0) + 1)
        self._entries[tenant][entry.id] = stored
        self._history.setdefault(tenant, []).append(
            FaqChange(tenant, entry.id, who, time.time(), current.content() if current else None, stored.content())
        )
        del self._history[tenant][:-HISTORY_MAX]
        return FaqEntry.from_dict(stored.to_dict()), "updated" if current else "created"

    async def put(self, entry: FaqEntry, who: str, expected_version: int | None = None) -> FaqEntry:
        stored, outcome = self._put(entry.tenant, entry, who, expected_version)
        if outcome != "unchanged":
            self._bump(entry.tenant)
        return stored

    async def put_many(self, tenant: str, entries: list[FaqEntry], who: str) -> PutResult:
        result = PutResult()
        for entry in entries:
            _, outcome = self._put(tenant, entry, who, None)
            setattr(result, outcome, getattr(result, outcome) + 1)
        if result.created or result.updated:
            self._bump(tenant)
        return result

    async def delete(self, tenant: str, entry_id: str, who: str) -> bool:
        current = self._entries.get(tenant, {}).pop(entry_id, None)
        if current is None:
            return False
        self._history.setdefault(tenant, []).append(
            FaqChange(tenant, entry_id, who, time.time(), current.content(), None)
        )
        self._bump(tenant)
        return True

    async def history(self, tenant: str, entry_id: str | None = None, limit: int = 100) -> list[FaqChange]:
        items = [c for c in reversed(self._history.get(tenant, [])) if entry_id is None or c.entry_id == entry_id]
        return items[:limit]

    async def revision(self, tenant: str) -> int:
        return self._revision.get(tenant, 0)

    async def add_feedback(self, feedback: FaqFeedback) -> bool:
        """Record a vote; False (and nothing stored) when this voter already voted on this entry for this query."""
        if feedback.voter:
            key = (feedback.tenant, feedback.voter, feedback.entry_id, feedback.query_hash)
            if key in self._voted:
                return False
            self._voted.add(key)
        items = self._feedback.setdefault(feedback.tenant, [])
        items.append(feedback)
        del items[:-FEEDBACK_MAX]
        return True

    async def feedback(self, tenant: str, limit: int = 1000) -> list[FaqFeedback]:
        return list(reversed(self._feedback.get(tenant, [])))[:limit]

    async def feedback_counts(self, tenant: str) -> dict[str, tuple[int, int]]:
        counts: dict[str, list[int]] = {}
        for fb in self._feedback.get(tenant, []):
            c = counts.setdefault(fb.entry_id, [0, 0])
            c[0 if fb.vote == "up" else 1] += 1
        return {k: (v[0], v[1]) for k, v in counts.items()}


class RedisFaqStore:
    """Keys (tenant hash tag keeps a tenant on one cluster slot, so MULTI works):

    ``cb:{t}:faq:entries`` hash id → entry JSON; ``cb:{t}:faq:rev`` revision counter;
    ``cb:{t}:faq:history`` list of change JSON (newest first); ``cb:{t}:faq:feedback`` list of feedback JSON;
    ``cb:{t}:faq:fbcount`` hash ``<id>:up|down`` → count; ``cb:{t}:faq:voted:<voter>:<id>:<qhash>`` one-vote guard
    (expires after VOTE_TTL).
    """

    def __init__(self, client: RedisClient) -> None:
        self._r = client

    @classmethod
    def from_url(cls, url: str) -> RedisFaqStore:
        return cls(connect(url))

    @staticmethod
    def _k(tenant: str, name: str) -> str:
        return f"cb:{{{tenant}}}:faq:{name}"

    async def get(self, tenant: str, entry_id: str) -> FaqEntry | None:
        raw = await self._r.hget(self._k(tenant, "entries"), entry_id)
        return None if raw is None else FaqEntry.from_dict(json.loads(raw))

    async def all(self, tenant: str) -> list[FaqEntry]:
        raw = await self._r.hgetall(self._k(tenant, "entries"))
        return [FaqEntry.from_dict(json.loads(raw[k])) for k in sorted(raw)]

    async def put(self, entry: FaqEntry, who: str, expected_version: int | None = None) -> FaqEntry:
        tenant = entry.tenant
        key = self._k(tenant, "entries")
        async with self._r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.hget(key, entry.id)
                    current = None if raw is None else FaqEntry.from_dict(json.loads(raw))
                    if expected_version is not None and (current.version if current else 0) != expected_version:
                        raise VersionConflict(entry.id)
                    if current is not None and current.content() == entry.content():
                        await pipe.unwatch()
                        return current
                    stored = _stored(entry, tenant, (current.version if current else 0) + 1)
                    change = FaqChange(
                        tenant, entry.id, who, time.time(), current.content() if current else None, stored.content()
                    )
                    pipe.multi()
                    pipe.hset(key, entry.id, json.dumps(stored.to_dict(), ensure_ascii=False))
                    self._log_change(pipe, tenant, [change])
                    await pipe.execute()
                    return stored
                except WatchError:
                    continue

    def _log_change(self, pipe, tenant: str, changes: list[FaqChange]) -> None:
        hk = self._k(tenant, "history")
        pipe.lpush(hk, *[json.dumps(c.to_dict(), ensure_ascii=False) for c in changes])
        pipe.ltrim(hk, 0, HISTORY_MAX - 1)
        pipe.incr(self._k(tenant, "rev"))

    async def put_many(self, tenant: str, entries: list[FaqEntry], who: str) -> PutResult:
        """Bulk upsert (imports): one read, one transaction; changes with the store between the two are retried."""
        key = self._k(tenant, "entries")
        result = PutResult()
        async with self._r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    result = PutResult()
                    await pipe.watch(key)
                    ids = [e.id for e in entries]
                    raws = await pipe.hmget(key, ids) if ids else []
                    writes: dict[str, str] = {}
                    changes: list[FaqChange] = []
                    seen: dict[str, FaqEntry] = {}
                    now = time.time()
                    for entry, raw in zip(entries, raws):
                        current = seen.get(entry.id) or (
                            None if raw is None else FaqEntry.from_dict(json.loads(raw))
                        )
                        if current is not None and current.content() == entry.content():
                            result.unchanged += 1
                            continue
                        stored = _stored(entry, tenant, (current.version if current else 0) + 1)
                        seen[entry.id] = stored
                        writes[entry.id] = json.dumps(stored.to_dict(), ensure_ascii=False)
                        changes.append(
                            FaqChange(tenant, entry.id, who, now, current.content() if current else None,
                                      stored.content())
                        )
                        if current is None:
                            result.created += 1
                        else:
                            result.updated += 1
                    if not writes:
                        await pipe.unwatch()
                        return result
                    pipe.multi()
                    pipe.hset(key, mapping=writes)
                    self._log_change(pipe, tenant, changes)
                    await pipe.execute()
                    return result
                except WatchError:
                    continue

    async def delete(self, tenant: str, entry_id: str, who: str) -> bool:
        key = self._k(tenant, "entries")
        async with self._r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.hget(key, entry_id)
                    if raw is None:
                        await pipe.unwatch()
                        return False
                    current = FaqEntry.from_dict(json.loads(raw))
                    pipe.multi()
                    pipe.hdel(key, entry_id)
                    self._log_change(pipe, tenant, [FaqChange(tenant, entry_id, who, time.time(),
                                                              current.content(), None)])
                    await pipe.execute()
                    return True
                except WatchError:
                    continue

    async def history(self, tenant: str, entry_id: str | None = None, limit: int = 100) -> list[FaqChange]:
        out: list[FaqChange] = []
        start, page = 0, 500
        while len(out) < limit:
            raws = await self._r.lrange(self._k(tenant, "history"), start, start + page - 1)
            if not raws:
                break
            for raw in raws:
                change = FaqChange.from_dict(json.loads(raw))
                if entry_id is None or change.entry_id == entry_id:
                    out.append(change)
            start += page
        return out[:limit]

    async def revision(self, tenant: str) -> int:
        return int(await self._r.get(self._k(tenant, "rev")) or 0)

    async def add_feedback(self, feedback: FaqFeedback) -> bool:
        if feedback.voter:
            vote_key = self._k(feedback.tenant, f"voted:{feedback.voter}:{feedback.entry_id}:{feedback.query_hash}")
            if not await self._r.set(vote_key, feedback.vote, nx=True, ex=VOTE_TTL):
                return False
        fk = self._k(feedback.tenant, "feedback")
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.lpush(fk, json.dumps(feedback.to_dict(), ensure_ascii=False))
            pipe.ltrim(fk, 0, FEEDBACK_MAX - 1)
            pipe.hincrby(self._k(feedback.tenant, "fbcount"), f"{feedback.entry_id}:{feedback.vote}", 1)
            await pipe.execute()
        return True

    async def feedback(self, tenant: str, limit: int = 1000) -> list[FaqFeedback]:
        raws = await self._r.lrange(self._k(tenant, "feedback"), 0, limit - 1)
        return [FaqFeedback.from_dict(json.loads(r)) for r in raws]

    async def feedback_counts(self, tenant: str) -> dict[str, tuple[int, int]]:
        raw = await self._r.hgetall(self._k(tenant, "fbcount"))
        counts: dict[str, list[int]] = {}
        for field_, n in raw.items():
            entry_id, _, vote = field_.rpartition(":")
            c = counts.setdefault(entry_id, [0, 0])
            c[0 if vote == "up" else 1] += int(n)
        return {k: (v[0], v[1]) for k, v in counts.items()}
