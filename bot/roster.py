"""Dense per-tenant integer indexes for LINE user ids, and the bitmaps built on them (Redis only).

Why: a set of 1,000,000 user-id strings costs ~80 B per member in Redis, and targeting keeps a resident in a dozen
sets (areas × categories, language, active …). With an index per user, each of those memberships is one bit in a
bitmap (``SETBIT``/``BITOP``), and the id string is stored exactly once (``bench/fanout.py`` (c) measures it).

Keys (tenant hash tag, so one cluster slot per tenant):

* ``cb:{t}:uidx:<bucket>`` — hash user id → index, 16,384 buckets chosen by CRC32 (≈ 61 ids per bucket at 1M,
  small enough for Redis's compact listpack encoding);
* ``cb:{t}:uids`` — string of fixed 33-byte slots (LINE ids are ``U`` + 32 hex), slot ``i`` = id of index ``i``,
  NUL-padded; an id longer than a slot is marked ``\\x01`` there and kept in ``cb:{t}:uids:long`` (hash);
* ``cb:{t}:useq`` — the next index. Indexes are never reused: a resident who unfollows and returns keeps theirs.

Records keyed by index (``bucket_of``: 128 per hash) let stores keep per-user data in listpack-encoded hashes with
tiny field names instead of one key per user.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence

import numpy as np
from redis.exceptions import NoScriptError

from bot.redis_client import RedisClient

SLOT = 33
UID_BUCKETS = 16384
RECORDS_PER_BUCKET = 128
_LONG = b"\x01"
_CHUNK = 64 * 1024  # bytes of bitmap read per round trip (524,288 indexes)

_ENSURE = """
local out = {}
for i = 1, #ARGV do
  local b, uid = KEYS[i + 3], ARGV[i]
  local idx = redis.call('HGET', b, uid)
  if not idx then
    idx = redis.call('INCR', KEYS[1]) - 1
    redis.call('HSET', b, uid, idx)
    if #uid <= 33 then
      redis.call('SETRANGE', KEYS[2], idx * 33, uid .. string.rep('\\0', 33 - #uid))
    else
      redis.call('SETRANGE', KEYS[2], idx * 33, '\\1' .. string.rep('\\0', 32))
      redis.call('HSET', KEYS[3], idx, uid)
    end
  end
  out[i] = tonumber(idx)
end
return out
"""

_SLOTS = """
local out = {}
for i = 1, #ARGV do
  local idx = tonumber(ARGV[i])
  out[i] = redis.call('GETRANGE', KEYS[1], idx * 33, idx * 33 + 32)
end
return table.concat(out)
"""

_GETBITS = """
local out = {}
for i = 1, #ARGV do out[i] = redis.call('GETBIT', KEYS[1], ARGV[i]) end
return out
"""

_SETBITS = """
for i = 2, #ARGV do redis.call('SETBIT', KEYS[1], ARGV[i], ARGV[1]) end
return #ARGV - 1
"""

# dest = dest AND NOT src; src is first padded to dest's length (BITOP NOT of a shorter key would clear the tail)
_ANDNOT = """
local n = redis.call('STRLEN', KEYS[1])
if n == 0 then return 0 end
redis.call('SETBIT', KEYS[2], n * 8 - 1, redis.call('GETBIT', KEYS[2], n * 8 - 1))
redis.call('BITOP', 'NOT', KEYS[2], KEYS[2])
return redis.call('BITOP', 'AND', KEYS[1], KEYS[1], KEYS[2])
"""


class Lua:
    """A script run by EVALSHA (loaded on NOSCRIPT), optionally returning raw bytes."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._sha: str | None = None

    async def __call__(
        self, client: RedisClient, keys: Sequence[str], args: Sequence[str | int | float | bytes] = (), *, raw: bool = False
    ):
        opts = {"NEVER_DECODE": True} if raw else {}
        for _ in range(2):
            if self._sha is None:
                self._sha = await client.script_load(self.source)
            try:
                return await client.execute_command("EVALSHA", self._sha, len(keys), *keys, *args, **opts)
            except NoScriptError:
                self._sha = None  # SCRIPT FLUSH or a restarted server
        raise RuntimeError("script could not be loaded")


ENSURE, SLOTS, GETBITS, ANDNOT = Lua(_ENSURE), Lua(_SLOTS), Lua(_GETBITS), Lua(_ANDNOT)


def bucket_of(idx: int) -> tuple[int, int]:
    """(hash number, field) of an index's record: 128 consecutive indexes share one small hash."""
    return idx >> 7, idx & (RECORDS_PER_BUCKET - 1)


def set_bits(data: bytes, base: int = 0) -> np.ndarray:
    """Indexes of the set bits of a Redis bitmap chunk (bit 0 = most significant bit of byte 0) + ``base``."""
    if not data:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(np.unpackbits(np.frombuffer(data, dtype=np.uint8))).astype(np.int64) + base


class Roster:
    """The index registry of one Redis database; stateless apart from the client (build it in the composition root
    or inside a store that already holds the client)."""

    def __init__(self, client: RedisClient) -> None:
        self._r = client

    @staticmethod
    def key(tenant: str, name: str) -> str:
        return f"cb:{{{tenant}}}:{name}"

    def _bucket(self, tenant: str, uid: str) -> str:
        return self.key(tenant, f"uidx:{zlib.crc32(uid.encode()) & (UID_BUCKETS - 1)}")

    async def ensure(self, tenant: str, user_ids: Sequence[str]) -> list[int]:
        """The index of every id, allocating new ones atomically (safe when two processes see a new user)."""
        out: list[int] = []
        for lo in range(0, len(user_ids), 2000):
            chunk = list(user_ids[lo : lo + 2000])
            if any(not uid for uid in chunk):
                raise ValueError("empty user id")
            keys = [self.key(tenant, "useq"), self.key(tenant, "uids"), self.key(tenant, "uids:long")]
            out += await ENSURE(self._r, keys + [self._bucket(tenant, uid) for uid in chunk], chunk)
        return [int(i) for i in out]

    async def lookup(self, tenant: str, user_ids: Sequence[str]) -> list[int | None]:
        """Indexes of known ids (None for an id never seen); nothing is written."""
        if not user_ids:
            return []
        async with self._r.pipeline(transaction=False) as pipe:
            for uid in user_ids:
                pipe.hget(self._bucket(tenant, uid), uid)
            got = await pipe.execute()
        return [None if g is None else int(g) for g in got]

    async def user_ids(self, tenant: str, indexes: Sequence[int] | np.ndarray) -> list[str]:
        """Ids of indexes (same order). Dense runs are read as one slice of the slot string, scattered ones by a
        script that reads each slot — whichever ships fewer bytes."""
        idx = [int(i) for i in indexes]
        if not idx:
            return []
        lo, hi = min(idx), max(idx)
        key = self.key(tenant, "uids")
        if hi - lo + 1 <= 4 * len(idx):
            blob = await self._r.execute_command("GETRANGE", key, lo * SLOT, (hi + 1) * SLOT - 1, NEVER_DECODE=True)
            slots = [blob[(i - lo) * SLOT : (i - lo + 1) * SLOT] for i in idx]
        else:
            slots = []
            for s in range(0, len(idx), 5000):
                blob = await SLOTS(self._r, [key], idx[s : s + 5000], raw=True)
                slots += [blob[i : i + SLOT] for i in range(0, len(blob), SLOT)]
        out = [s.rstrip(b"\0").decode() for s in slots]
        longs = [n for n, s in enumerate(slots) if s[:1] == _LONG]
        if longs:
            names = await self._r.hmget(self.key(tenant, "uids:long"), [idx[n] for n in longs])
            for n, name in zip(longs, names):
                out[n] = name or ""
        return out

    async def records_of(self, tenant: str, user_ids: Sequence[str], bucket_key: Callable[[int], str]) -> list[str | None]:
        """Records of users (same order; None for unknown ids or no record) from index-keyed hashes, where
        ``bucket_key(n)`` names hash ``n`` (``bucket_of``): two pipelined round trips for the whole batch."""
        indexes = await self.lookup(tenant, user_ids)
        async with self._r.pipeline(transaction=False) as pipe:
            for idx in indexes:
                if idx is not None:
                    n, field = bucket_of(idx)
                    pipe.hget(bucket_key(n), field)
            got = iter(await pipe.execute())
        return [None if idx is None else next(got) for idx in indexes]

    async def records_at(self, indexes: Sequence[int], bucket_key: Callable[[int], str]) -> dict[int, str]:
        """Records of indexes that have one, from index-keyed hashes: one HGETALL per 128 indexes (walking a
        bitmap's dense runs)."""
        wanted = {int(i) for i in indexes}
        buckets = sorted({i >> 7 for i in wanted})
        async with self._r.pipeline(transaction=False) as pipe:
            for n in buckets:
                pipe.hgetall(bucket_key(n))
            found = await pipe.execute()
        out: dict[int, str] = {}
        for n, records in zip(buckets, found):
            for field, raw in records.items():
                idx = (n << 7) + int(field)
                if idx in wanted:
                    out[idx] = raw
        return out

    async def size(self, tenant: str) -> int:
        """Indexes handed out so far (an upper bound for every bitmap of the tenant)."""
        return int(await self._r.get(self.key(tenant, "useq")) or 0)

    async def bits(self, key: str) -> AsyncIterator[np.ndarray]:
        """Set bits of a bitmap, chunk by chunk (ascending)."""
        offset = 0
        while True:
            data = await self._r.execute_command("GETRANGE", key, offset, offset + _CHUNK - 1, NEVER_DECODE=True)
            if not data:
                return
            found = set_bits(data, offset * 8)
            if len(found):
                yield found
            if len(data) < _CHUNK:
                return
            offset += _CHUNK

    async def members(self, tenant: str, key: str, batch: int = 5000) -> AsyncIterator[list[str]]:
        """User ids of a bitmap's set bits, in batches of at most ``batch``."""
        async for found in self.bits(key):
            for s in range(0, len(found), batch):
                yield await self.user_ids(tenant, found[s : s + batch])

    async def test_bits(self, key: str, indexes: Iterable[int | None]) -> list[bool]:
        """Bit of each index (None → False)."""
        idx = list(indexes)
        known = [i for i in idx if i is not None]
        flags = iter(await GETBITS(self._r, [key], known) if known else [])
        return [False if i is None else bool(next(flags)) for i in idx]


def set_bits_command(key: str, indexes: Iterable[int], value: int) -> list[str | int]:
    """Arguments of one EVAL setting a bit per index to ``value`` (for pipelines: one command per key and batch,
    one argument per bit — cheaper to encode than ``BITFIELD … SET u1 i 1`` quadruples)."""
    return ["EVAL", _SETBITS, 1, key, value, *(int(i) for i in indexes)]
