"""Residents known to a tenant's channel: follow/unfollow state, language, profile. A port with two adapters."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Protocol

import redis.asyncio as aioredis


@dataclass
class User:
    tenant: str
    user_id: str
    active: bool = True  # False after unfollow or when LINE answers 403/404 (blocked): never pushed again
    language: str = "ja"
    display_name: str = ""
    followed_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    synthetic: bool = False  # load-test subscribers (civicbot subscribers seed)


class UserStore(Protocol):
    async def get(self, tenant: str, user_id: str) -> User | None: ...
    async def save(self, user: User) -> None: ...
    async def set_active(self, tenant: str, user_id: str, active: bool) -> None: ...
    async def is_active(self, tenant: str, user_id: str) -> bool: ...
    def active_ids(self, tenant: str) -> AsyncIterator[str]: ...
    async def count_active(self, tenant: str) -> int: ...


class MemoryUserStore:
    def __init__(self) -> None:
        self._users: dict[tuple[str, str], User] = {}

    async def get(self, tenant: str, user_id: str) -> User | None:
        user = self._users.get((tenant, user_id))
        return None if user is None else User(**asdict(user))

    async def save(self, user: User) -> None:
        user.updated_at = time.time()
        self._users[(user.tenant, user.user_id)] = User(**asdict(user))

    async def set_active(self, tenant: str, user_id: str, active: bool) -> None:
        user = self._users.get((tenant, user_id)) or User(tenant=tenant, user_id=user_id)
        user.active = active
        user.updated_at = time.time()
        self._users[(tenant, user_id)] = user

    async def is_active(self, tenant: str, user_id: str) -> bool:
        user = self._users.get((tenant, user_id))
        return bool(user and user.active)

    async def active_ids(self, tenant: str) -> AsyncIterator[str]:
        for (t, uid), user in sorted(self._users.items()):
            if t == tenant and user.active:
                yield uid

    async def count_active(self, tenant: str) -> int:
        return sum(1 for (t, _), u in self._users.items() if t == tenant and u.active)


class RedisUserStore:
    """Hash per user + a set of active ids per tenant (``cb:{tenant}:users:active``)."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._r = client

    @staticmethod
    def _key(tenant: str, user_id: str) -> str:
        return f"cb:{{{tenant}}}:user:{user_id}"

    @staticmethod
    def _active(tenant: str) -> str:
        return f"cb:{{{tenant}}}:users:active"

    async def get(self, tenant: str, user_id: str) -> User | None:
        raw = await self._r.hgetall(self._key(tenant, user_id))
        if not raw:
            return None
        return User(
            tenant=tenant,
            user_id=user_id,
            active=raw.get("active") == "1",
            language=raw.get("language", "ja"),
            display_name=raw.get("display_name", ""),
            followed_at=float(raw.get("followed_at", 0)),
            updated_at=float(raw.get("updated_at", 0)),
            synthetic=raw.get("synthetic") == "1",
        )

    async def save(self, user: User) -> None:
        user.updated_at = time.time()
        mapping = {
            "active": "1" if user.active else "0",
            "language": user.language,
            "display_name": user.display_name,
            "followed_at": repr(user.followed_at),
            "updated_at": repr(user.updated_at),
            "synthetic": "1" if user.synthetic else "0",
        }
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(user.tenant, user.user_id), mapping=mapping)
            if user.active:
                pipe.sadd(self._active(user.tenant), user.user_id)
            else:
                pipe.srem(self._active(user.tenant), user.user_id)
            await pipe.execute()

    async def set_active(self, tenant: str, user_id: str, active: bool) -> None:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(tenant, user_id), mapping={"active": "1" if active else "0", "updated_at": repr(time.time())})
            if active:
                pipe.sadd(self._active(tenant), user_id)
            else:
                pipe.srem(self._active(tenant), user_id)
            await pipe.execute()

    async def is_active(self, tenant: str, user_id: str) -> bool:
        return bool(await self._r.sismember(self._active(tenant), user_id))

    async def active_ids(self, tenant: str) -> AsyncIterator[str]:
        async for uid in self._r.sscan_iter(self._active(tenant), count=1000):
            yield uid

    async def count_active(self, tenant: str) -> int:
        return int(await self._r.scard(self._active(tenant)))
