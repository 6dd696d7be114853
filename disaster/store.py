"""Ports of the disaster room, each with a memory fake and a Redis adapter (one contract suite runs both:
``tests/integration/disaster/test_disaster_store_contract.py``).

Redis keys (tenant in braces = cluster hash tag):

* ``cb:{t}:disaster:mode`` — hash mode/since/by/reason/applied; ``cb:{t}:disaster:hazards`` — set of hazards in force
  (both changed together by one Lua script: switching is atomic and idempotent);
* ``cb:{t}:disaster:request`` — the pending two-person switch request (JSON string);
* ``cb:{t}:disaster:menus`` — hash ``<mode>:<lang>`` → rich menu id, plus ``fingerprint``;
* ``cb:{t}:disaster:pending:<user>`` — what the resident's next message answers (short TTL);
* ``cb:{t}:shelters:sites`` — hash id → JSON; ``cb:{t}:shelters:status`` — hash id → JSON; ``cb:{t}:shelters:version``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Protocol

import redis.asyncio as aioredis

from bot.redis_client import RedisClient
from disaster.model import MenuRecord, Mode, ModeState, OpenStatus, Shelter, SwitchRequest

PENDING_TTL = 15 * 60


class DisasterStore(Protocol):
    async def state(self, tenant: str) -> ModeState: ...

    async def switch(self, tenant: str, mode: Mode, hazards: tuple[str, ...], by: str, reason: str, at: float) -> bool:
        """Set the mode; True when it changed. Switching to the mode already in force changes nothing except that
        new hazards are added to those in force (an earthquake, then a tsunami warning)."""
        ...

    async def mark_applied(self, tenant: str, mode: str) -> None: ...
    async def put_request(self, tenant: str, request: SwitchRequest) -> None: ...
    async def request(self, tenant: str) -> SwitchRequest | None: ...
    async def take_request(self, tenant: str, request_id: str) -> SwitchRequest | None:
        """Remove and return the pending request if its id matches (one approval only)."""
        ...

    async def menus(self, tenant: str) -> MenuRecord: ...
    async def save_menus(self, tenant: str, record: MenuRecord) -> None: ...
    async def set_pending(self, tenant: str, user_id: str, value: str | None) -> None:
        """What the resident's next message answers (``find:tsunami``, ``safety``); None clears it. Short TTL."""
        ...

    async def pending(self, tenant: str, user_id: str) -> str | None: ...


class ShelterStore(Protocol):
    async def replace_all(self, tenant: str, shelters: list[Shelter], municipality: str | None = None) -> int:
        """Store ``shelters``; with ``municipality`` only that municipality's former sites are replaced."""
        ...

    async def all(self, tenant: str) -> list[Shelter]: ...
    async def version(self, tenant: str) -> int: ...
    async def set_status(self, tenant: str, shelter_id: str, status: OpenStatus) -> None: ...
    async def statuses(self, tenant: str) -> dict[str, OpenStatus]: ...


# ------------------------------------------------------------------------------------------------------ memory


class MemoryDisasterStore:
    def __init__(self) -> None:
        self._modes: dict[str, ModeState] = {}
        self._requests: dict[str, SwitchRequest] = {}
        self._menus: dict[str, MenuRecord] = {}
        self._pending: dict[tuple[str, str], tuple[str, float]] = {}

    async def state(self, tenant: str) -> ModeState:
        return self._modes.get(tenant, ModeState())

    async def switch(self, tenant: str, mode: Mode, hazards: tuple[str, ...], by: str, reason: str, at: float) -> bool:
        cur = await self.state(tenant)
        if cur.mode == mode:
            if mode == "disaster":
                merged = tuple(sorted(set(cur.hazards) | set(hazards)))
                self._modes[tenant] = ModeState(cur.mode, merged, cur.since, cur.by, cur.reason, cur.applied)
            return False
        kept = tuple(sorted(set(hazards))) if mode == "disaster" else ()
        self._modes[tenant] = ModeState(mode, kept, at, by, reason, cur.applied)
        return True

    async def mark_applied(self, tenant: str, mode: str) -> None:
        cur = await self.state(tenant)
        self._modes[tenant] = ModeState(cur.mode, cur.hazards, cur.since, cur.by, cur.reason, mode)

    async def put_request(self, tenant: str, request: SwitchRequest) -> None:
        self._requests[tenant] = request

    async def request(self, tenant: str) -> SwitchRequest | None:
        return self._requests.get(tenant)

    async def take_request(self, tenant: str, request_id: str) -> SwitchRequest | None:
        req = self._requests.get(tenant)
        if req is None or req.id != request_id:
            return None
        return self._requests.pop(tenant)

    async def menus(self, tenant: str) -> MenuRecord:
        return self._menus.get(tenant, MenuRecord())

    async def save_menus(self, tenant: str, record: MenuRecord) -> None:
        self._menus[tenant] = MenuRecord(dict(record.ids), record.fingerprint, dict(record.stale))

    async def set_pending(self, tenant: str, user_id: str, value: str | None) -> None:
        if value is None:
            self._pending.pop((tenant, user_id), None)
        else:
            self._pending[(tenant, user_id)] = (value, time.monotonic() + PENDING_TTL)

    async def pending(self, tenant: str, user_id: str) -> str | None:
        item = self._pending.get((tenant, user_id))
        if item is None or item[1] < time.monotonic():
            return None
        return item[0]


class MemoryShelterStore:
    def __init__(self) -> None:
        self._sites: dict[str, dict[str, Shelter]] = {}
        self._status: dict[str, dict[str, OpenStatus]] = {}
        self._version: dict[str, int] = {}

    async def replace_all(self, tenant: str, shelters: list[Shelter], municipality: str | None = None) -> int:
        sites = self._sites.setdefault(tenant, {})
        for sid in [sid for sid, s in sites.items() if municipality is None or s.municipality == municipality]:
            del sites[sid]
        sites.update({s.id: s for s in shelters})
        self._version[tenant] = self._version.get(tenant, 0) + 1
        return len(shelters)

    async def all(self, tenant: str) -> list[Shelter]:
        return list(self._sites.get(tenant, {}).values())

    async def version(self, tenant: str) -> int:
        return self._version.get(tenant, 0)

    async def set_status(self, tenant: str, shelter_id: str, status: OpenStatus) -> None:
        self._status.setdefault(tenant, {})[shelter_id] = status

    async def statuses(self, tenant: str) -> dict[str, OpenStatus]:
        return dict(self._status.get(tenant, {}))


# ------------------------------------------------------------------------------------------------------- Redis

_SWITCH = """
local cur = redis.call('HGET', KEYS[1], 'mode') or 'normal'
local mode = ARGV[1]
if cur == mode then
  if mode == 'disaster' then
    for i = 6, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
  end
  return 0
end
redis.call('HSET', KEYS[1], 'mode', mode, 'since', ARGV[2], 'by', ARGV[3], 'reason', ARGV[4])
redis.call('DEL', KEYS[2])
if mode == 'disaster' then
  for i = 6, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
end
return 1
"""


def _k(tenant: str, name: str) -> str:
    return f"cb:{{{tenant}}}:{name}"


class RedisDisasterStore:
    def __init__(self, client: RedisClient) -> None:
        self._r = client
        self._switch = client.register_script(_SWITCH)

    async def state(self, tenant: str) -> ModeState:
        raw = await self._r.hgetall(_k(tenant, "disaster:mode"))
        hazards = tuple(sorted(await self._r.smembers(_k(tenant, "disaster:hazards"))))
        if not raw:
            return ModeState()
        mode: Mode = "disaster" if raw.get("mode") == "disaster" else "normal"
        return ModeState(
            mode,
            hazards if mode == "disaster" else (),
            float(raw.get("since") or 0),
            raw.get("by", ""),
            raw.get("reason", ""),
            raw.get("applied", ""),
        )

    async def switch(self, tenant: str, mode: Mode, hazards: tuple[str, ...], by: str, reason: str, at: float) -> bool:
        keys = [_k(tenant, "disaster:mode"), _k(tenant, "disaster:hazards")]
        changed = await self._switch(keys=keys, args=[mode, repr(at), by, reason, "", *sorted(set(hazards))])
        return bool(int(changed))

    async def mark_applied(self, tenant: str, mode: str) -> None:
        await self._r.hset(_k(tenant, "disaster:mode"), "applied", mode)

    async def put_request(self, tenant: str, request: SwitchRequest) -> None:
        await self._r.set(_k(tenant, "disaster:request"), json.dumps(asdict(request), ensure_ascii=False))

    async def request(self, tenant: str) -> SwitchRequest | None:
        raw = await self._r.get(_k(tenant, "disaster:request"))
        return _request(raw) if raw else None

    async def take_request(self, tenant: str, request_id: str) -> SwitchRequest | None:
        key = _k(tenant, "disaster:request")
        async with self._r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if not raw or _request(raw).id != request_id:
                        await pipe.unwatch()
                        return None
                    pipe.multi()
                    pipe.delete(key)
                    await pipe.execute()
                    return _request(raw)
                except aioredis.WatchError:
                    continue

    async def menus(self, tenant: str) -> MenuRecord:
        raw = dict(await self._r.hgetall(_k(tenant, "disaster:menus")))
        fingerprint = raw.pop("fingerprint", "")
        stale = {k[6:]: v for k, v in raw.items() if k.startswith("stale:")}
        ids = {k: v for k, v in raw.items() if not k.startswith("stale:")}
        return MenuRecord(ids, fingerprint, stale)

    async def save_menus(self, tenant: str, record: MenuRecord) -> None:
        key = _k(tenant, "disaster:menus")
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            stale = {f"stale:{rid}": key_ for rid, key_ in record.stale.items()}
            pipe.hset(key, mapping={**record.ids, **stale, "fingerprint": record.fingerprint})
            await pipe.execute()

    async def set_pending(self, tenant: str, user_id: str, value: str | None) -> None:
        key = _k(tenant, f"disaster:pending:{user_id}")
        if value is None:
            await self._r.delete(key)
        else:
            await self._r.set(key, value, ex=PENDING_TTL)

    async def pending(self, tenant: str, user_id: str) -> str | None:
        return await self._r.get(_k(tenant, f"disaster:pending:{user_id}"))


def _request(raw: str) -> SwitchRequest:
    data = json.loads(raw)
    data["hazards"] = tuple(data.get("hazards") or ())
    return SwitchRequest(**data)


class RedisShelterStore:
    def __init__(self, client: RedisClient) -> None:
        self._r = client

    async def replace_all(self, tenant: str, shelters: list[Shelter], municipality: str | None = None) -> int:
        key = _k(tenant, "shelters:sites")
        old = await self._r.hgetall(key)
        stale = [
            sid
            for sid, raw in old.items()
            if municipality is None or Shelter.from_dict(json.loads(raw)).municipality == municipality
        ]
        async with self._r.pipeline(transaction=True) as pipe:
            if stale:
                pipe.hdel(key, *stale)
            if shelters:
                pipe.hset(key, mapping={s.id: json.dumps(s.to_dict(), ensure_ascii=False) for s in shelters})
            pipe.incr(_k(tenant, "shelters:version"))
            await pipe.execute()
        return len(shelters)

    async def all(self, tenant: str) -> list[Shelter]:
        return [Shelter.from_dict(json.loads(raw)) for raw in (await self._r.hgetall(_k(tenant, "shelters:sites"))).values()]

    async def version(self, tenant: str) -> int:
        return int(await self._r.get(_k(tenant, "shelters:version")) or 0)

    async def set_status(self, tenant: str, shelter_id: str, status: OpenStatus) -> None:
        await self._r.hset(_k(tenant, "shelters:status"), shelter_id, json.dumps(asdict(status), ensure_ascii=False))

    async def statuses(self, tenant: str) -> dict[str, OpenStatus]:
        raw = await self._r.hgetall(_k(tenant, "shelters:status"))
        return {sid: OpenStatus(**json.loads(v)) for sid, v in raw.items()}
