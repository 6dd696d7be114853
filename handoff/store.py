"""HandoffStore port: conversations, the queue, the holder lock, transcripts and notes. Memory and Redis adapters.

State changes that race (create one open conversation per resident, take over, transfer, finish) are single atomic
steps: plain code without awaits in memory, Lua scripts in Redis — so two counsellors pressing 「担当する」 at the same
moment cannot both win, and the lock survives restarts of web and worker because it lives in Redis.

Redis keys (``{t}`` = tenant hash tag): ``cb:{t}:handoff:conv:<id>`` hash, ``…:conv:<id>:msgs`` / ``…:notes`` lists of
JSON, ``cb:{t}:handoff:queue`` zset (score = risk band + created_at), ``cb:{t}:handoff:live`` set,
``cb:{t}:handoff:open:<user>`` the resident's open conversation id, ``cb:{t}:handoff:user:<user>`` zset of all
their conversations, ``cb:{t}:handoff:closed`` zset by closing time (retention purge).
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields, replace
from typing import Any, Protocol

from bot.redis_client import RedisClient, connect
from handoff.model import OPEN_STATUSES, Conversation, Message, Note

_LIST_FIELDS = {"supervisors", "labels"}
_FLOAT_FIELDS = {"created_at", "taken_at", "closed_at", "last_activity", "last_notice_at"}
_INT_FIELDS = {"unread"}
_BOOL_FIELDS = {"emergency"}
_ATOMIC_FIELDS = {"id", "tenant", "user_id", "status", "holder", "created_at", "closed_at", "taken_at"}  # only via the atomic ops
MUTABLE_FIELDS = {f.name for f in fields(Conversation)} - _ATOMIC_FIELDS


def queue_score(conv: Conversation) -> float:
    """Ascending order = higher risk first, then longest wait first."""
    return (3 - conv.risk_rank) * 1e11 + conv.created_at


class HandoffStore(Protocol):
    async def create_or_get(self, conv: Conversation) -> tuple[Conversation, bool]:
        """Queue ``conv`` unless the resident already has an open conversation; return (the open one, created?)."""
        ...

    async def get(self, tenant: str, conv_id: str) -> Conversation | None: ...
    async def open_for_user(self, tenant: str, user_id: str) -> Conversation | None: ...
    async def update(self, tenant: str, conv_id: str, changes: dict[str, Any]) -> None:
        """Set non-lock fields (risk, summary, emergency, labels, supervisors, unread, ...)."""
        ...

    async def requeue(self, tenant: str, conv_id: str) -> None:
        """Re-sort a queued conversation after its risk changed."""
        ...

    async def take(self, tenant: str, conv_id: str, username: str, now: float) -> bool: ...
    async def transfer(self, tenant: str, conv_id: str, from_user: str, to_user: str) -> bool: ...
    async def finish(self, tenant: str, conv_id: str, status: str, now: float, changes: dict[str, Any] | None = None) -> bool:
        """End an open conversation (closed/handed_back/timeout/cancelled); False if it was not open."""
        ...

    async def queue(self, tenant: str) -> list[Conversation]: ...
    async def live(self, tenant: str) -> list[Conversation]: ...
    async def history(self, tenant: str, user_id: str) -> list[Conversation]:
        """All of the resident's conversations, newest first."""
        ...

    async def append_message(self, tenant: str, conv_id: str, message: Message) -> None: ...
    async def transcript(self, tenant: str, conv_id: str) -> list[Message]: ...
    async def add_note(self, tenant: str, conv_id: str, note: Note) -> None: ...
    async def notes(self, tenant: str, conv_id: str) -> list[Note]: ...
    async def purge_closed_before(self, tenant: str, before: float) -> int:
        """Delete conversations (with transcripts and notes) that ended before ``before``; returns how many."""
        ...

    async def bump_unanswered(self, tenant: str, user_id: str, window_seconds: int, now: float) -> int:
        """Count one message the bot could not answer; returns the count within the window (repeated failures)."""
        ...

    async def reset_unanswered(self, tenant: str, user_id: str) -> None: ...

    async def set_presence(self, tenant: str, username: str, until: float) -> None:
        """A counsellor's console is open (heartbeat); ``until`` <= now removes them."""
        ...

    async def present(self, tenant: str, now: float) -> list[str]:
        """Staff with an open console now (for "is anybody free?")."""
        ...


def _check_changes(changes: dict[str, Any]) -> None:
    bad = set(changes) - MUTABLE_FIELDS
    if bad:
        raise ValueError(f"fields {sorted(bad)} change only through take/transfer/finish")


class MemoryHandoffStore:
    def __init__(self) -> None:
        self._convs: dict[tuple[str, str], Conversation] = {}
        self._open: dict[tuple[str, str], str] = {}
        self._msgs: dict[tuple[str, str], list[Message]] = {}
        self._notes: dict[tuple[str, str], list[Note]] = {}
        self._misses: dict[tuple[str, str], tuple[int, float]] = {}
        self._presence: dict[tuple[str, str], float] = {}

    @staticmethod
    def _copy(conv: Conversation) -> Conversation:
        return replace(conv, supervisors=list(conv.supervisors), labels=list(conv.labels))

    async def create_or_get(self, conv: Conversation) -> tuple[Conversation, bool]:
        existing = self._open.get((conv.tenant, conv.user_id))
        if existing is not None:
            return self._copy(self._convs[(conv.tenant, existing)]), False
        conv = self._copy(conv)
        conv.status = "queued"
        self._convs[(conv.tenant, conv.id)] = conv
        self._open[(conv.tenant, conv.user_id)] = conv.id
        return self._copy(conv), True

    async def get(self, tenant: str, conv_id: str) -> Conversation | None:
        conv = self._convs.get((tenant, conv_id))
        return None if conv is None else self._copy(conv)

    async def open_for_user(self, tenant: str, user_id: str) -> Conversation | None:
        cid = self._open.get((tenant, user_id))
        return None if cid is None else await self.get(tenant, cid)

    async def update(self, tenant: str, conv_id: str, changes: dict[str, Any]) -> None:
        _check_changes(changes)
        conv = self._convs.get((tenant, conv_id))
        if conv is not None:
            for k, v in changes.items():
                setattr(conv, k, list(v) if k in _LIST_FIELDS else v)

    async def requeue(self, tenant: str, conv_id: str) -> None:
        return None  # the memory queue is sorted on read

    async def take(self, tenant: str, conv_id: str, username: str, now: float) -> bool:
        conv = self._convs.get((tenant, conv_id))
        if conv is None or conv.status != "queued":
            return False
        conv.status, conv.holder, conv.taken_at, conv.last_activity = "active", username, now, now
        return True

    async def transfer(self, tenant: str, conv_id: str, from_user: str, to_user: str) -> bool:
        conv = self._convs.get((tenant, conv_id))
        if conv is None or conv.status != "active" or conv.holder != from_user:
            return False
        conv.holder = to_user
        return True

    async def finish(self, tenant: str, conv_id: str, status: str, now: float, changes: dict[str, Any] | None = None) -> bool:
        _check_changes(changes or {})
        conv = self._convs.get((tenant, conv_id))
        if conv is None or conv.status not in OPEN_STATUSES:
            return False
        conv.status, conv.closed_at = status, now
        for k, v in (changes or {}).items():
            setattr(conv, k, list(v) if k in _LIST_FIELDS else v)
        if self._open.get((tenant, conv.user_id)) == conv_id:
            del self._open[(tenant, conv.user_id)]
        return True

    async def queue(self, tenant: str) -> list[Conversation]:
        items = [c for (t, _), c in self._convs.items() if t == tenant and c.status == "queued"]
        return [self._copy(c) for c in sorted(items, key=queue_score)]

    async def live(self, tenant: str) -> list[Conversation]:
        items = [c for (t, _), c in self._convs.items() if t == tenant and c.status == "active"]
        return [self._copy(c) for c in sorted(items, key=lambda c: c.taken_at)]

    async def history(self, tenant: str, user_id: str) -> list[Conversation]:
        items = [c for (t, _), c in self._convs.items() if t == tenant and c.user_id == user_id]
        return [self._copy(c) for c in sorted(items, key=lambda c: c.created_at, reverse=True)]

    async def append_message(self, tenant: str, conv_id: str, message: Message) -> None:
        self._msgs.setdefault((tenant, conv_id), []).append(replace(message))

    async def transcript(self, tenant: str, conv_id: str) -> list[Message]:
        return [replace(m) for m in self._msgs.get((tenant, conv_id), [])]

    async def add_note(self, tenant: str, conv_id: str, note: Note) -> None:
        self._notes.setdefault((tenant, conv_id), []).append(replace(note))

    async def notes(self, tenant: str, conv_id: str) -> list[Note]:
        return [replace(n) for n in self._notes.get((tenant, conv_id), [])]

    async def purge_closed_before(self, tenant: str, before: float) -> int:
        doomed = [cid for (t, cid), c in self._convs.items() if t == tenant and not c.is_open and c.closed_at < before]
        for cid in doomed:
            self._convs.pop((tenant, cid), None)
            self._msgs.pop((tenant, cid), None)
            self._notes.pop((tenant, cid), None)
        return len(doomed)

    async def bump_unanswered(self, tenant: str, user_id: str, window_seconds: int, now: float) -> int:
        count, ends = self._misses.get((tenant, user_id), (0, 0.0))
        if ends <= now:
            count, ends = 0, now + window_seconds
        self._misses[(tenant, user_id)] = (count + 1, ends)
        return count + 1

    async def reset_unanswered(self, tenant: str, user_id: str) -> None:
        self._misses.pop((tenant, user_id), None)

    async def set_presence(self, tenant: str, username: str, until: float) -> None:
        self._presence[(tenant, username)] = until

    async def present(self, tenant: str, now: float) -> list[str]:
        return sorted(u for (t, u), until in self._presence.items() if t == tenant and until > now)


_CREATE = """
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
return ARGV[1]
"""

_TAKE = """
if redis.call('HGET', KEYS[1], 'status') ~= 'queued' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'active', 'holder', ARGV[2], 'taken_at', ARGV[3], 'last_activity', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
return 1
"""

_TRANSFER = """
if redis.call('HGET', KEYS[1], 'status') ~= 'active' then return 0 end
if redis.call('HGET', KEYS[1], 'holder') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'holder', ARGV[2])
return 1
"""

_FINISH = """
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'queued' and status ~= 'active' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'closed_at', ARGV[3])
if #ARGV > 3 then redis.call('HSET', KEYS[1], unpack(ARGV, 4)) end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
if redis.call('GET', KEYS[4]) == ARGV[1] then redis.call('DEL', KEYS[4]) end
redis.call('ZADD', KEYS[5], ARGV[3], ARGV[1])
return 1
"""


def _encode(key: str, value: Any) -> str:
    if key in _LIST_FIELDS:
        return json.dumps(list(value), ensure_ascii=False)
    if key in _BOOL_FIELDS:
        return "1" if value else "0"
    if key in _FLOAT_FIELDS:
        return repr(float(value))
    return str(value)


def _decode(raw: dict[str, str]) -> Conversation:
    kwargs: dict[str, Any] = {}
    for f in fields(Conversation):
        if f.name not in raw:
            continue
        v = raw[f.name]
        if f.name in _LIST_FIELDS:
            kwargs[f.name] = json.loads(v)
        elif f.name in _BOOL_FIELDS:
            kwargs[f.name] = v == "1"
        elif f.name in _FLOAT_FIELDS:
            kwargs[f.name] = float(v)
        elif f.name in _INT_FIELDS:
            kwargs[f.name] = int(v)
        else:
            kwargs[f.name] = v
    return Conversation(**kwargs)


def _flat(changes: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for k, v in changes.items():
        out += [k, _encode(k, v)]
    return out


class RedisHandoffStore:
    def __init__(self, client: RedisClient) -> None:
        self._r = client
        self._create = client.register_script(_CREATE)
        self._take = client.register_script(_TAKE)
        self._transfer = client.register_script(_TRANSFER)
        self._finish = client.register_script(_FINISH)

    @classmethod
    def from_url(cls, url: str) -> RedisHandoffStore:
        return cls(connect(url))

    @staticmethod
    def _k(tenant: str, name: str) -> str:
        return f"cb:{{{tenant}}}:handoff:{name}"

    async def create_or_get(self, conv: Conversation) -> tuple[Conversation, bool]:
        conv = replace(conv, status="queued")
        t = conv.tenant
        cid = await self._create(
            keys=[self._k(t, f"open:{conv.user_id}"), self._k(t, f"conv:{conv.id}"), self._k(t, "queue"), self._k(t, f"user:{conv.user_id}")],
            args=[conv.id, queue_score(conv), repr(conv.created_at), *_flat(asdict(conv))],
        )
        if cid == conv.id:
            return conv, True
        existing = await self.get(t, cid)
        assert existing is not None, "open pointer to a missing conversation"
        return existing, False

    async def get(self, tenant: str, conv_id: str) -> Conversation | None:
        raw = await self._r.hgetall(self._k(tenant, f"conv:{conv_id}"))
        return _decode(raw) if raw else None

    async def open_for_user(self, tenant: str, user_id: str) -> Conversation | None:
        cid = await self._r.get(self._k(tenant, f"open:{user_id}"))
        return None if cid is None else await self.get(tenant, cid)

    async def update(self, tenant: str, conv_id: str, changes: dict[str, Any]) -> None:
        _check_changes(changes)
        key = self._k(tenant, f"conv:{conv_id}")
        if changes and await self._r.exists(key):
            await self._r.hset(key, mapping={k: _encode(k, v) for k, v in changes.items()})

    async def requeue(self, tenant: str, conv_id: str) -> None:
        conv = await self.get(tenant, conv_id)
        if conv is not None and conv.status == "queued":
            await self._r.zadd(self._k(tenant, "queue"), {conv_id: queue_score(conv)}, xx=True)

    async def take(self, tenant: str, conv_id: str, username: str, now: float) -> bool:
        ok = await self._take(keys=[self._k(tenant, f"conv:{conv_id}"), self._k(tenant, "queue"), self._k(tenant, "live")], args=[conv_id, username, repr(now)])
        return bool(ok)

    async def transfer(self, tenant: str, conv_id: str, from_user: str, to_user: str) -> bool:
        return bool(await self._transfer(keys=[self._k(tenant, f"conv:{conv_id}")], args=[from_user, to_user]))

    async def finish(self, tenant: str, conv_id: str, status: str, now: float, changes: dict[str, Any] | None = None) -> bool:
        _check_changes(changes or {})
        conv = await self.get(tenant, conv_id)
        if conv is None:
            return False
        ok = await self._finish(
            keys=[
                self._k(tenant, f"conv:{conv_id}"),
                self._k(tenant, "queue"),
                self._k(tenant, "live"),
                self._k(tenant, f"open:{conv.user_id}"),
                self._k(tenant, "closed"),
            ],
            args=[conv_id, status, repr(now), *_flat(changes or {})],
        )
        return bool(ok)

    async def _many(self, tenant: str, ids: list[str]) -> list[Conversation]:
        if not ids:
            return []
        async with self._r.pipeline(transaction=False) as pipe:
            for cid in ids:
                pipe.hgetall(self._k(tenant, f"conv:{cid}"))
            raws = await pipe.execute()
        return [_decode(r) for r in raws if r]

    async def queue(self, tenant: str) -> list[Conversation]:
        return await self._many(tenant, await self._r.zrange(self._k(tenant, "queue"), 0, -1))

    async def live(self, tenant: str) -> list[Conversation]:
        convs = await self._many(tenant, sorted(await self._r.smembers(self._k(tenant, "live"))))
        return sorted(convs, key=lambda c: c.taken_at)

    async def history(self, tenant: str, user_id: str) -> list[Conversation]:
        return await self._many(tenant, await self._r.zrevrange(self._k(tenant, f"user:{user_id}"), 0, -1))

    async def append_message(self, tenant: str, conv_id: str, message: Message) -> None:
        await self._r.rpush(self._k(tenant, f"conv:{conv_id}:msgs"), json.dumps(asdict(message), ensure_ascii=False))

    async def transcript(self, tenant: str, conv_id: str) -> list[Message]:
        return [Message(**json.loads(m)) for m in await self._r.lrange(self._k(tenant, f"conv:{conv_id}:msgs"), 0, -1)]

    async def add_note(self, tenant: str, conv_id: str, note: Note) -> None:
        await self._r.rpush(self._k(tenant, f"conv:{conv_id}:notes"), json.dumps(asdict(note), ensure_ascii=False))

    async def notes(self, tenant: str, conv_id: str) -> list[Note]:
        return [Note(**json.loads(n)) for n in await self._r.lrange(self._k(tenant, f"conv:{conv_id}:notes"), 0, -1)]

    async def purge_closed_before(self, tenant: str, before: float) -> int:
        closed_key = self._k(tenant, "closed")
        ids = await self._r.zrangebyscore(closed_key, "-inf", f"({before!r}")
        for conv in await self._many(tenant, ids):
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.execute_command("DEL", self._k(tenant, f"conv:{conv.id}"), self._k(tenant, f"conv:{conv.id}:msgs"), self._k(tenant, f"conv:{conv.id}:notes"))
                pipe.zrem(self._k(tenant, f"user:{conv.user_id}"), conv.id)
                pipe.zrem(closed_key, conv.id)
                await pipe.execute()
        if ids:
            await self._r.zrem(closed_key, *ids)
        return len(ids)

    async def bump_unanswered(self, tenant: str, user_id: str, window_seconds: int, now: float) -> int:
        key = self._k(tenant, f"miss:{user_id}")
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window_seconds, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    async def reset_unanswered(self, tenant: str, user_id: str) -> None:
        await self._r.delete(self._k(tenant, f"miss:{user_id}"))

    async def set_presence(self, tenant: str, username: str, until: float) -> None:
        await self._r.zadd(self._k(tenant, "presence"), {username: until})

    async def present(self, tenant: str, now: float) -> list[str]:
        key = self._k(tenant, "presence")
        await self._r.zremrangebyscore(key, "-inf", now)
        return sorted(await self._r.zrangebyscore(key, f"({now!r}", "+inf"))
