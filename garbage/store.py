"""The garbage room's ports: the tenant's dataset, unknown-item log and reminder subscriptions.

Each port is a Protocol with a memory fake and a Redis implementation (one contract suite,
``tests/integration/garbage/test_garbage_ports_contract.py``). Redis keys live under ``cb:{<tenant>}:garbage:``.

Reminders use the roster layout of ``bot.roster`` / ``alerts.subscriptions``: a dense index per resident, the
document in 128-entry hashes, and every membership (area, category, time slot, language, quiet-hours window) as a
bitmap, so an evening's audience is BITOP inside Redis and each id is shipped once.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np

from bot.quiet import QuietHours
from bot.redis_client import RedisClient
from bot.roster import Lua, Roster, bucket_of, set_bits, set_bits_command
from garbage.model import Dataset

LANGUAGES = ("ja", "ja-easy", "en", "zh-Hans", "ko", "vi")  # the languages a tenant may offer (bot.config)
SLOTS = ("eve", "morning")  # 前日 20:00 (default) / 当日 7:00
SLOT_TIMES = {"eve": dt.time(20, 0), "morning": dt.time(7, 0)}
AUDIENCE_TTL = 24 * 3600
SENT_TTL = 3 * 24 * 3600
_CHUNK = 64 * 1024  # bytes of a group bitmap read per round trip (524,288 indexes)
MAX_UNKNOWN = 40  # characters of an unknown item name kept for editors


def _k(tenant: str, name: str) -> str:
    return f"cb:{{{tenant}}}:garbage:{name}"


# ------------------------------------------------------------------------------------------- dataset
class DatasetStore(Protocol):
    async def get(self, tenant: str) -> Dataset | None: ...
    async def put(self, tenant: str, ds: Dataset) -> int:
        """Replace the tenant's dataset as a whole (readers see the old or the new one); returns the revision."""
        ...

    async def revision(self, tenant: str) -> int: ...


class MemoryDatasetStore:
    def __init__(self) -> None:
        self._data: dict[str, tuple[int, str]] = {}

    async def get(self, tenant: str) -> Dataset | None:
        got = self._data.get(tenant)
        return Dataset.from_json(got[1]) if got else None

    async def put(self, tenant: str, ds: Dataset) -> int:
        rev = self._data.get(tenant, (0, ""))[0] + 1
        self._data[tenant] = (rev, ds.to_json())
        return rev

    async def revision(self, tenant: str) -> int:
        return self._data.get(tenant, (0, ""))[0]


class RedisDatasetStore:
    """``cb:{t}:garbage:data`` — the dataset as one JSON string and its revision, written in one MULTI."""

    def __init__(self, client: RedisClient) -> None:
        self._r = client

    async def get(self, tenant: str) -> Dataset | None:
        raw = await self._r.hget(_k(tenant, "data"), "json")
        return Dataset.from_json(raw) if raw else None

    async def put(self, tenant: str, ds: Dataset) -> int:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hset(_k(tenant, "data"), "json", ds.to_json())
            pipe.hincrby(_k(tenant, "data"), "rev", 1)
            _, rev = await pipe.execute()
        return int(rev)

    async def revision(self, tenant: str) -> int:
        return int(await self._r.hget(_k(tenant, "data"), "rev") or 0)


# ------------------------------------------------------------------------------------------- unknown items
class UnknownLog(Protocol):
    async def record(self, tenant: str, name: str) -> None:
        """Count an item residents asked for and the data does not have (only the item name, never a message)."""
        ...

    async def top(self, tenant: str, n: int = 50) -> list[tuple[str, int]]: ...
    async def forget(self, tenant: str, name: str) -> None: ...


class MemoryUnknownLog:
    def __init__(self) -> None:
        self._c: dict[str, dict[str, int]] = {}

    async def record(self, tenant: str, name: str) -> None:
        name = name[:MAX_UNKNOWN]
        if name:
            t = self._c.setdefault(tenant, {})
            t[name] = t.get(name, 0) + 1

    async def top(self, tenant: str, n: int = 50) -> list[tuple[str, int]]:
        return sorted(self._c.get(tenant, {}).items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    async def forget(self, tenant: str, name: str) -> None:
        self._c.get(tenant, {}).pop(name, None)


class RedisUnknownLog:
    """``cb:{t}:garbage:unknown`` — sorted set, item name → times asked."""

    def __init__(self, client: RedisClient) -> None:
        self._r = client

    async def record(self, tenant: str, name: str) -> None:
        name = name[:MAX_UNKNOWN]
        if name:
            await self._r.zincrby(_k(tenant, "unknown"), 1, name)

    async def top(self, tenant: str, n: int = 50) -> list[tuple[str, int]]:
        got = await self._r.zrange(_k(tenant, "unknown"), 0, n - 1, desc=True, withscores=True)
        return sorted(((m, int(s)) for m, s in got), key=lambda kv: (-kv[1], kv[0]))

    async def forget(self, tenant: str, name: str) -> None:
        await self._r.zrem(_k(tenant, "unknown"), name)


# ------------------------------------------------------------------------------------------- reminders
@dataclass(frozen=True)
class Reminder:
    tenant: str
    user_id: str
    area: str
    categories: tuple[str, ...]
    slot: str = "eve"
    language: str = "ja"
    quiet: QuietHours | None = None
    updated_at: float = field(default_factory=time.time)

    def validate(self) -> None:
        if self.slot not in SLOTS:
            raise ValueError(f"unknown reminder time {self.slot!r}")
        if not self.area:
            raise ValueError("a reminder needs an area")

    def encode(self) -> str:
        d = {
            "a": self.area,
            "c": list(self.categories),
            "s": self.slot,
            "l": self.language,
            "q": self.quiet.encode() if self.quiet else "",
            "u": round(self.updated_at, 3),
        }
        return json.dumps(d, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def decode(cls, tenant: str, user_id: str, raw: str) -> Reminder:
        d = json.loads(raw)
        return cls(tenant, user_id, d["a"], tuple(d["c"]), d["s"], d["l"], QuietHours.decode(d.get("q", "")), d.get("u", 0.0))


@dataclass(frozen=True)
class Group:
    """Residents who get the same reminder text: ``categories`` is what their message names."""

    categories: tuple[str, ...]
    handle: str  # where the audience is kept until the delivery engine reads it
    count: int


Plan = Mapping[str, Sequence[str]]  # area name → categories collected on the day


class ReminderStore(Protocol):
    async def get(self, tenant: str, user_id: str) -> Reminder | None: ...
    async def save(self, r: Reminder) -> None: ...
    async def delete(self, tenant: str, user_id: str) -> None: ...
    async def count(self, tenant: str) -> int: ...
    async def resolve(self, tenant: str, day: str, slot: str, plan: Plan, local_time: dt.datetime) -> list[Group]:
        """Partition the residents to remind for ``day`` (ISO) in ``slot`` by the categories their message names:
        their area collects them that day, they chose them, their quiet hours do not cover ``local_time``, they are
        active, and nobody is in two groups or reminded twice for one day (they are marked sent here)."""
        ...

    def members(self, tenant: str, handle: str, batch: int = 5000) -> AsyncIterator[list[tuple[str, str]]]:
        """(user id, language) of a group, in batches."""
        ...

    async def mark_skipped(self, tenant: str, handles: Sequence[str]) -> None:
        """The groups' reminders were not sent (monthly quota): remember to tell these residents once."""
        ...

    async def take_skipped(self, tenant: str, user_id: str) -> bool:
        """True once after ``mark_skipped`` named the resident (the flag is cleared)."""
        ...


def _groups_of(plan: Plan, area: str, chosen: Sequence[str]) -> tuple[str, ...]:
    return tuple(c for c in plan.get(area, ()) if c in chosen)


class MemoryReminderStore:
    def __init__(self, active: Callable[[str, str], bool] | None = None) -> None:
        self._r: dict[tuple[str, str], Reminder] = {}
        self._sent: dict[tuple[str, str], set[str]] = {}
        self._handles: dict[str, list[tuple[str, str]]] = {}
        self._skipped: set[tuple[str, str]] = set()
        self._active = active or (lambda tenant, uid: True)

    async def get(self, tenant: str, user_id: str) -> Reminder | None:
        return self._r.get((tenant, user_id))

    async def save(self, r: Reminder) -> None:
        r.validate()
        self._r[(r.tenant, r.user_id)] = replace(r, updated_at=round(time.time(), 3))

    async def import_many(self, reminders: Sequence[Reminder]) -> None:
        for r in reminders:
            await self.save(r)

    async def delete(self, tenant: str, user_id: str) -> None:
        self._r.pop((tenant, user_id), None)

    async def count(self, tenant: str) -> int:
        return sum(1 for t, _ in self._r if t == tenant)

    async def resolve(self, tenant: str, day: str, slot: str, plan: Plan, local_time: dt.datetime) -> list[Group]:
        sent = self._sent.setdefault((tenant, day), set())
        by: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        for (t, uid), r in sorted(self._r.items()):
            if t != tenant or r.slot != slot or uid in sent or not self._active(tenant, uid):
                continue
            if r.quiet and r.quiet.contains(local_time):
                continue
            cats = _groups_of(plan, r.area, r.categories)
            if cats:
                by.setdefault(cats, []).append((uid, r.language))
        out: list[Group] = []
        for cats, members in sorted(by.items()):
            handle = uuid.uuid4().hex
            self._handles[handle] = members
            sent |= {uid for uid, _ in members}
            out.append(Group(cats, handle, len(members)))
        return out

    async def members(self, tenant: str, handle: str, batch: int = 5000) -> AsyncIterator[list[tuple[str, str]]]:
        got = self._handles.get(handle, [])
        for i in range(0, len(got), batch):
            yield got[i : i + batch]

    async def mark_skipped(self, tenant: str, handles: Sequence[str]) -> None:
        for h in handles:
            self._skipped |= {(tenant, uid) for uid, _ in self._handles.get(h, [])}

    async def take_skipped(self, tenant: str, user_id: str) -> bool:
        if (tenant, user_id) in self._skipped:
            self._skipped.discard((tenant, user_id))
            return True
        return False


_TAKE_BIT = Lua("""
local idx = tonumber(ARGV[1])
local was = redis.call('GETBIT', KEYS[1], idx)
if was == 1 then redis.call('SETBIT', KEYS[1], idx, 0) end
return was
""")


class RedisReminderStore:
    """Keys under ``cb:{t}:garbage:``: ``r:<n>`` (128 documents by index), bitmaps ``a:<area>``, ``c:<category>``,
    ``s:<slot>``, ``l:<language>``, ``q:<quiet window>`` (+ set ``quietwins``), ``all``; ``sent:<day>`` (who was
    reminded for a day), ``aud:<id>`` (a resolved group, until the engine has read it), ``skipped``."""

    def __init__(self, client: RedisClient, active_key: Callable[[str], str] | None = None) -> None:
        self._r = client
        self._roster = Roster(client)
        self._active_key = active_key

    def _doc(self, tenant: str, idx: int) -> tuple[str, int]:
        n, f = bucket_of(idx)
        return _k(tenant, f"r:{n}"), f

    @staticmethod
    def _bits(r: Reminder) -> set[str]:
        out = {"all", f"a:{r.area}", f"s:{r.slot}", f"l:{r.language}"} | {f"c:{c}" for c in r.categories}
        if r.quiet:
            out.add(f"q:{r.quiet.encode()}")
        return out

    async def get(self, tenant: str, user_id: str) -> Reminder | None:
        (idx,) = await self._roster.lookup(tenant, [user_id])
        if idx is None:
            return None
        raw = await self._r.hget(*self._doc(tenant, idx))
        return Reminder.decode(tenant, user_id, raw) if raw else None

    async def save(self, r: Reminder) -> None:
        r.validate()
        r = replace(r, updated_at=round(time.time(), 3))
        (idx,) = await self._roster.ensure(r.tenant, [r.user_id])
        key, f = self._doc(r.tenant, idx)

        async def apply(pipe) -> None:
            raw = await pipe.hget(key, f)
            before = self._bits(Reminder.decode(r.tenant, r.user_id, raw)) if raw else set()
            pipe.multi()
            for name in before - self._bits(r):
                pipe.setbit(_k(r.tenant, name), idx, 0)
            for name in self._bits(r):
                pipe.setbit(_k(r.tenant, name), idx, 1)
            if r.quiet:
                pipe.sadd(_k(r.tenant, "quietwins"), r.quiet.encode())
            pipe.hset(key, f, r.encode())

        await self._r.transaction(apply, key)

    async def import_many(self, reminders: Sequence[Reminder]) -> None:
        """Bulk write of reminders not stored yet (bench seeding): one command per bitmap and batch."""
        if not reminders:
            return
        tenant = reminders[0].tenant
        indexes = await self._roster.ensure(tenant, [r.user_id for r in reminders])
        docs: dict[str, dict[int, str]] = {}
        bits: dict[str, list[int]] = {}
        quiet = {r.quiet.encode() for r in reminders if r.quiet}
        for r, idx in zip(reminders, indexes):
            key, f = self._doc(tenant, idx)
            docs.setdefault(key, {})[f] = r.encode()
            for name in self._bits(r):
                bits.setdefault(name, []).append(idx)
        async with self._r.pipeline(transaction=False) as pipe:
            for key, mapping in docs.items():
                pipe.hset(key, mapping=mapping)
            for name, idxs in bits.items():
                pipe.execute_command(*set_bits_command(_k(tenant, name), idxs, 1))
            if quiet:
                pipe.sadd(_k(tenant, "quietwins"), *quiet)
            await pipe.execute()

    async def delete(self, tenant: str, user_id: str) -> None:
        (idx,) = await self._roster.lookup(tenant, [user_id])
        if idx is None:
            return
        key, f = self._doc(tenant, idx)

        async def apply(pipe) -> None:
            raw = await pipe.hget(key, f)
            pipe.multi()
            if raw:
                for name in self._bits(Reminder.decode(tenant, user_id, raw)):
                    pipe.setbit(_k(tenant, name), idx, 0)
            pipe.hdel(key, f)

        await self._r.transaction(apply, key)

    async def count(self, tenant: str) -> int:
        return int(await self._r.bitcount(_k(tenant, "all")))

    async def resolve(self, tenant: str, day: str, slot: str, plan: Plan, local_time: dt.datetime) -> list[Group]:
        """Bitmap algebra in one pipeline. Per area: base = area AND slot AND active, minus X (those reminded for
        the day OR in a quiet window in force); per non-empty subset G of the area's collected categories:
        base AND every c in G, minus the residents who also chose another collected category. "minus" is
        ``p XOR (p AND m)`` (no NOT, so no padding to the bitmap length). Subsets equal across areas share one
        ``aud:`` bitmap; the groups are then OR-ed into ``sent:<day>``."""
        k = lambda name: _k(tenant, name)  # noqa: E731
        scratch = k(f"tmp:{uuid.uuid4().hex}")
        sent, x, t = k(f"sent:{day}"), f"{scratch}:x", f"{scratch}:t"
        windows = [
            w
            for raw in await self._r.smembers(k("quietwins"))
            if (w := QuietHours.decode(raw)) is not None and w.contains(local_time)
        ]
        subsets: dict[tuple[str, ...], list[str]] = {}
        temps = [x, t]
        active = [self._active_key(tenant)] if self._active_key else []
        try:
            async with self._r.pipeline(transaction=False) as pipe:
                pipe.execute_command("BITOP", "OR", x, sent, *[k(f"q:{w.encode()}") for w in windows])
                for ai, (area, cats) in enumerate(plan.items()):
                    cats = list(dict.fromkeys(cats))
                    if not cats:
                        continue
                    base = f"{scratch}:b{ai}"
                    temps.append(base)
                    pipe.execute_command("BITOP", "AND", base, k(f"a:{area}"), k(f"s:{slot}"), *active)
                    pipe.execute_command("BITOP", "AND", t, base, x)
                    pipe.execute_command("BITOP", "XOR", base, base, t)
                    for mask in range(1, 1 << len(cats)):
                        chosen = tuple(c for i, c in enumerate(cats) if mask >> i & 1)
                        others = [k(f"c:{c}") for c in cats if c not in chosen]
                        part = f"{scratch}:p{ai}:{mask}"
                        temps.append(part)
                        pipe.execute_command("BITOP", "AND", part, base, *[k(f"c:{c}") for c in chosen])
                        if others:
                            pipe.execute_command("BITOP", "OR", t, *others)
                            pipe.execute_command("BITOP", "AND", t, part, t)
                            pipe.execute_command("BITOP", "XOR", part, part, t)
                        subsets.setdefault(chosen, []).append(part)
                handles: list[tuple[tuple[str, ...], str]] = []
                for chosen, keys in sorted(subsets.items()):
                    handle = k(f"aud:{day}:{slot}:{uuid.uuid4().hex[:12]}")
                    handles.append((chosen, handle))
                    pipe.execute_command("BITOP", "OR", handle, *keys)
                    pipe.expire(handle, AUDIENCE_TTL)
                for _, handle in handles:
                    pipe.bitcount(handle)
                results = await pipe.execute()
            counts = results[len(results) - len(handles) :] if handles else []
            groups: list[Group] = []
            async with self._r.pipeline(transaction=True) as pipe:
                for (chosen, handle), n in zip(handles, counts):
                    if n:
                        groups.append(Group(chosen, handle, int(n)))
                        pipe.execute_command("BITOP", "OR", sent, sent, handle)
                    else:
                        pipe.delete(handle)
                pipe.expire(sent, SENT_TTL)
                await pipe.execute()
            return groups
        finally:
            for i in range(0, len(temps), 500):
                await self._r.delete(*temps[i : i + 500])

    async def members(self, tenant: str, handle: str, batch: int = 5000) -> AsyncIterator[list[tuple[str, str]]]:
        """The group's ids in one ascending walk (dense id slices), each with its language: the same byte range of
        every ``l:<language>`` bitmap is read next to each chunk of the group and tested with numpy."""
        offset = 0
        while True:
            data = await self._r.execute_command("GETRANGE", handle, offset, offset + _CHUNK - 1, NEVER_DECODE=True)
            if not data:
                return
            found = set_bits(data, offset * 8)
            if len(found):
                which = np.full(len(found), -1, dtype=np.int8)
                for li, lang in enumerate(LANGUAGES):
                    raw = await self._r.execute_command(
                        "GETRANGE", _k(tenant, f"l:{lang}"), offset, offset + len(data) - 1, NEVER_DECODE=True
                    )
                    bits = np.unpackbits(np.frombuffer(raw.ljust(len(data), b"\0"), dtype=np.uint8))
                    which[(which < 0) & (bits[found - offset * 8] == 1)] = li
                for s in range(0, len(found), batch):
                    ids = await self._roster.user_ids(tenant, found[s : s + batch])
                    yield [(uid, LANGUAGES[li] if li >= 0 else "ja") for uid, li in zip(ids, which[s : s + batch])]
            if len(data) < _CHUNK:
                return
            offset += _CHUNK

    async def mark_skipped(self, tenant: str, handles: Sequence[str]) -> None:
        if handles:
            await self._r.bitop("OR", _k(tenant, "skipped"), _k(tenant, "skipped"), *handles)

    async def take_skipped(self, tenant: str, user_id: str) -> bool:
        (idx,) = await self._roster.lookup(tenant, [user_id])
        if idx is None:
            return False
        return bool(await _TAKE_BIT(self._r, [_k(tenant, "skipped")], [idx]))


# ------------------------------------------------------------------------------------------- run ledger
class MemoryRunLedger:
    def __init__(self) -> None:
        self._runs: dict[tuple[str, str, str], list[str]] = {}
        self._closed: set[tuple[str, str, str]] = set()

    async def claim(self, tenant: str, day: str, slot: str) -> bool:
        if (tenant, day, slot) in self._runs:
            return False
        self._runs[(tenant, day, slot)] = []
        return True

    async def remember_jobs(self, tenant: str, day: str, slot: str, jobs: Sequence[str]) -> None:
        self._runs[(tenant, day, slot)] = list(jobs)

    async def jobs_to_close(self, tenant: str, before: dt.datetime) -> list[tuple[str, str, list[str]]]:
        out = []
        for (t, day, slot), jobs in self._runs.items():
            if t == tenant and (t, day, slot) not in self._closed and _run_end(day, slot) < before:
                self._closed.add((t, day, slot))
                out.append((day, slot, jobs))
        return out


def _run_end(day: str, slot: str) -> dt.datetime:
    """When a run's window starts (its slot time, Asia/Tokyo); callers compare it with now - grace."""
    d = dt.date.fromisoformat(day) - dt.timedelta(days=1 if slot == "eve" else 0)
    t = SLOT_TIMES[slot]
    return dt.datetime(d.year, d.month, d.day, t.hour, t.minute, tzinfo=ZoneInfo("Asia/Tokyo"))


class RedisRunLedger:
    """``cb:{t}:garbage:runs`` — hash ``<day>:<slot>`` → JSON job ids (claimed with HSETNX); ``…:runs:closed`` set."""

    def __init__(self, client: RedisClient) -> None:
        self._r = client

    async def claim(self, tenant: str, day: str, slot: str) -> bool:
        return bool(await self._r.hsetnx(_k(tenant, "runs"), f"{day}:{slot}", "[]"))

    async def remember_jobs(self, tenant: str, day: str, slot: str, jobs: Sequence[str]) -> None:
        await self._r.hset(_k(tenant, "runs"), f"{day}:{slot}", json.dumps(list(jobs)))

    async def jobs_to_close(self, tenant: str, before: dt.datetime) -> list[tuple[str, str, list[str]]]:
        out = []
        for field_, raw in (await self._r.hgetall(_k(tenant, "runs"))).items():
            day, slot = field_.split(":")
            if _run_end(day, slot) < before and await self._r.sadd(_k(tenant, "runs:closed"), field_):
                out.append((day, slot, json.loads(raw)))
            if dt.date.fromisoformat(day) < before.date() - dt.timedelta(days=7):  # forget old runs
                await self._r.hdel(_k(tenant, "runs"), field_)
                await self._r.srem(_k(tenant, "runs:closed"), field_)
        return out
