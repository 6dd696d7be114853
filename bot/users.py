"""Residents known to a tenant's channel: follow/unfollow state, language, profile. A port with two adapters."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

from redis.asyncio.client import Pipeline
from redis.typing import EncodableT, FieldT

from bot.redis_client import RedisClient, scan_prefix
from bot.roster import Roster, bucket_of, set_bits_command


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
    async def get_many(self, tenant: str, user_ids: Sequence[str]) -> list[User | None]:
        """``get`` for a batch, same order (audiences read thousands at once)."""
        ...

    async def save(self, user: User) -> None: ...
    async def import_many(self, users: Sequence[User]) -> None:
        """Bulk ``save`` (seeding load tests, migrating); ``updated_at`` is kept as given."""
        ...

    async def set_active(self, tenant: str, user_id: str, active: bool) -> None: ...
    async def is_active(self, tenant: str, user_id: str) -> bool: ...
    async def active_many(self, tenant: str, user_ids: Sequence[str]) -> list[bool]:
        """``is_active`` for a batch (audiences check thousands at once)."""
        ...

    def active_ids(self, tenant: str) -> AsyncIterator[str]: ...
    async def count_active(self, tenant: str) -> int: ...


class MemoryUserStore:
    def __init__(self) -> None:
        self._users: dict[tuple[str, str], User] = {}

    async def get(self, tenant: str, user_id: str) -> User | None:
        user = self._users.get((tenant, user_id))
        return None if user is None else User(**asdict(user))

    async def get_many(self, tenant: str, user_ids: Sequence[str]) -> list[User | None]:
        return [await self.get(tenant, uid) for uid in user_ids]

    async def save(self, user: User) -> None:
        user.updated_at = time.time()
        self._users[(user.tenant, user.user_id)] = User(**asdict(user))

    async def import_many(self, users: Sequence[User]) -> None:
        for user in users:
            self._users[(user.tenant, user.user_id)] = User(**asdict(user))

    async def set_active(self, tenant: str, user_id: str, active: bool) -> None:
        user = self._users.get((tenant, user_id)) or User(tenant=tenant, user_id=user_id)
        user.active = active
        user.updated_at = time.time()
        self._users[(tenant, user_id)] = user

    async def is_active(self, tenant: str, user_id: str) -> bool:
        user = self._users.get((tenant, user_id))
        return bool(user and user.active)

    async def active_many(self, tenant: str, user_ids: Sequence[str]) -> list[bool]:
        return [await self.is_active(tenant, uid) for uid in user_ids]

    async def active_ids(self, tenant: str) -> AsyncIterator[str]:
        for (t, uid), user in sorted(self._users.items()):
            if t == tenant and user.active:
                yield uid

    async def count_active(self, tenant: str) -> int:
        return sum(1 for (t, _), u in self._users.items() if t == tenant and u.active)


class RedisUserStore:
    """Users by dense index (``bot.roster``): one 128-entry hash per index range holds the records, a bitmap the
    active flags — ~100 B per friend instead of a hash key + a set member each (``bench/fanout.py`` (c)).

    * ``cb:{t}:u:<n>`` — hash, field ``index % 128`` → ``active|language|followed ms|updated ms|synthetic|name``
    * ``cb:{t}:users:on`` — bitmap of active indexes (``active_key``; targeting intersects it server-side)

    ``migrate_legacy`` moves users stored in the former layout (a ``cb:{t}:user:<id>`` hash each + the
    ``cb:{t}:users:active`` set) into this one."""

    def __init__(self, client: RedisClient) -> None:
        self._r = client
        self.roster = Roster(client)

    @staticmethod
    def _bucket(tenant: str, n: int) -> str:
        return f"cb:{{{tenant}}}:u:{n}"

    def _record(self, tenant: str, idx: int) -> tuple[str, int]:
        n, field = bucket_of(idx)
        return self._bucket(tenant, n), field

    @staticmethod
    def active_key(tenant: str) -> str:
        return f"cb:{{{tenant}}}:users:on"

    async def get(self, tenant: str, user_id: str) -> User | None:
        (idx,) = await self.roster.lookup(tenant, [user_id])
        if idx is None:
            return None
        raw = await self._r.hget(*self._record(tenant, idx))
        return _decode_user(tenant, user_id, str(raw)) if raw else None

    async def get_many(self, tenant: str, user_ids: Sequence[str]) -> list[User | None]:
        raws = await self.roster.records_of(tenant, user_ids, lambda n: self._bucket(tenant, n))
        return [_decode_user(tenant, uid, raw) if raw else None for uid, raw in zip(user_ids, raws)]

    async def save(self, user: User) -> None:
        user.updated_at = time.time()
        (idx,) = await self.roster.ensure(user.tenant, [user.user_id])
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hset(*self._record(user.tenant, idx), _encode_user(user))
            pipe.setbit(self.active_key(user.tenant), idx, 1 if user.active else 0)
            await pipe.execute()

    async def import_many(self, users: Sequence[User]) -> None:
        """Bulk write (seeding load tests, migrating): one round trip per key touched, not per user."""
        if not users:
            return
        tenant = users[0].tenant
        if any(u.tenant != tenant for u in users):
            raise ValueError("import_many takes the users of one tenant")
        indexes = await self.roster.ensure(tenant, [u.user_id for u in users])
        records: dict[str, dict[FieldT, EncodableT]] = {}
        for user, idx in zip(users, indexes):
            key, field = self._record(tenant, idx)
            records.setdefault(key, {})[field] = _encode_user(user)
        async with self._r.pipeline(transaction=False) as pipe:
            for key, mapping in records.items():
                pipe.hset(key, mapping=mapping)
            for value in (0, 1):
                chosen = [i for u, i in zip(users, indexes) if u.active == bool(value)]
                if chosen:
                    pipe.execute_command(*set_bits_command(self.active_key(tenant), chosen, value))
            await pipe.execute()

    async def set_active(self, tenant: str, user_id: str, active: bool) -> None:
        (idx,) = await self.roster.ensure(tenant, [user_id])
        key, field = self._record(tenant, idx)

        async def apply(pipe: Pipeline) -> None:
            raw = await pipe.hget(key, field)
            user = _decode_user(tenant, user_id, str(raw)) if raw else User(tenant=tenant, user_id=user_id)
            user.active, user.updated_at = active, time.time()
            pipe.multi()
            pipe.hset(key, field, _encode_user(user))
            pipe.setbit(self.active_key(tenant), idx, 1 if active else 0)

        await self._r.transaction(apply, key)  # type: ignore[arg-type]  # redis-py types the cluster callback oddly

    async def is_active(self, tenant: str, user_id: str) -> bool:
        return (await self.active_many(tenant, [user_id]))[0]

    async def languages_at(self, tenant: str, indexes: Sequence[int]) -> dict[int, str]:
        """Language of each index with a record (audiences walk the active bitmap)."""
        records = await self.roster.records_at(indexes, lambda n: self._bucket(tenant, n))
        return {idx: raw.split("|", 2)[1] or "ja" for idx, raw in records.items()}

    async def active_many(self, tenant: str, user_ids: Sequence[str]) -> list[bool]:
        if not user_ids:
            return []
        return await self.roster.test_bits(self.active_key(tenant), await self.roster.lookup(tenant, user_ids))

    async def active_ids(self, tenant: str) -> AsyncIterator[str]:
        async for batch in self.roster.members(tenant, self.active_key(tenant)):
            for uid in batch:
                yield uid

    async def count_active(self, tenant: str) -> int:
        return int(await self._r.bitcount(self.active_key(tenant)))

    async def needs_migration(self, tenant: str) -> bool:
        return bool(await self._r.exists(f"cb:{{{tenant}}}:users:active"))

    async def migrate_legacy(self, tenant: str, *, batch: int = 1000) -> int:
        """Move users of the former layout into this one (idempotent; a user already stored here wins, since the
        record here was written later). Returns the users moved."""
        prefix = f"cb:{{{tenant}}}:user:"
        moved = 0
        keys: list[str] = []

        async def flush() -> int:
            async with self._r.pipeline(transaction=False) as pipe:
                for k in keys:
                    pipe.hgetall(k)
                raws = await pipe.execute()
            legacy = [_legacy_user(tenant, k[len(prefix) :], raw) for k, raw in zip(keys, raws) if raw]
            known = await self.roster.lookup(tenant, [u.user_id for u in legacy])
            present = await self._present(tenant, known)
            await self.import_many([u for u, p in zip(legacy, present) if not p])
            await self._r.delete(*keys)
            keys.clear()
            return len(legacy)

        async for key in scan_prefix(self._r, prefix):
            keys.append(key)
            if len(keys) >= batch:
                moved += await flush()
        if keys:
            moved += await flush()
        await self._r.delete(f"cb:{{{tenant}}}:users:active")
        return moved

    async def _present(self, tenant: str, indexes: Sequence[int | None]) -> list[bool]:
        async with self._r.pipeline(transaction=False) as pipe:
            for idx in indexes:
                if idx is not None:
                    pipe.hexists(*self._record(tenant, idx))
            found = iter(await pipe.execute())
        return [False if idx is None else bool(next(found)) for idx in indexes]


def _ms(t: float) -> str:
    return str(round(t * 1000))


def _encode_user(user: User) -> str:
    return "|".join(
        [
            "1" if user.active else "0",
            user.language,
            _ms(user.followed_at),
            _ms(user.updated_at),
            "1" if user.synthetic else "0",
            user.display_name,
        ]
    )


def _decode_user(tenant: str, user_id: str, raw: str) -> User:
    active, language, followed, updated, synthetic, name = raw.split("|", 5)
    return User(
        tenant=tenant,
        user_id=user_id,
        active=active == "1",
        language=language or "ja",
        display_name=name,
        followed_at=int(followed) / 1000,
        updated_at=int(updated) / 1000,
        synthetic=synthetic == "1",
    )


def _legacy_user(tenant: str, user_id: str, raw: dict[str, str]) -> User:
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
