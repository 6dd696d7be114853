"""``bot.roster``: the per-tenant user index every bitmap relies on. A wrong index or a lost bit means an alert
that reaches the wrong resident or none, so the edges are pinned here on a real server."""

from __future__ import annotations

import asyncio
import datetime as dt

import numpy as np
import pytest

from alerts.geo import Gazetteer
from alerts.subscriptions import (
    Place,
    QuietHours,
    RedisSubscriptionStore,
    Subscription,
    SubscriptionAudience,
)
from bot.roster import ANDNOT, Roster, set_bits
from bot.users import RedisUserStore, User
from broadcasts.audience import AudienceQuery

NIGHT = dt.datetime(2026, 11, 25, 14, 30, tzinfo=dt.UTC)  # 23:30 JST


async def test_indexes_are_dense_stable_and_per_tenant(redis):
    roster = Roster(redis)
    assert await roster.ensure("a", ["U1", "U2", "U1"]) == [0, 1, 0]
    assert await roster.ensure("b", ["U2"]) == [0]
    assert await roster.ensure("a", ["U3"]) == [2]
    assert await roster.lookup("a", ["U2", "nobody"]) == [1, None]
    assert await roster.size("a") == 3


async def test_an_empty_user_id_is_refused_and_nothing_is_allocated(redis):
    roster = Roster(redis)
    with pytest.raises(ValueError):
        await roster.ensure("a", ["U1", ""])
    assert await roster.size("a") == 0 and await roster.lookup("a", ["U1"]) == [None]


async def test_concurrent_first_sightings_get_one_index(redis):
    roster = Roster(redis)
    got = await asyncio.gather(*(roster.ensure("a", [f"U{i % 7}"]) for i in range(70)))
    by_id: dict[str, set[int]] = {}
    for i, (idx,) in enumerate(got):
        by_id.setdefault(f"U{i % 7}", set()).add(idx)
    assert all(len(v) == 1 for v in by_id.values())
    assert sorted(next(iter(v)) for v in by_id.values()) == list(range(7))


async def test_ids_read_back_dense_scattered_long_and_non_ascii(redis):
    roster = Roster(redis)
    line_ids = ["U" + f"{i:032x}" for i in range(300)]
    odd = ["U" + "f" * 40, "住民-ひとり", "x"]  # longer than a slot, multi-byte, short
    indexes = await roster.ensure("a", line_ids + odd)
    assert await roster.user_ids("a", indexes) == line_ids + odd  # one dense slice
    pick = [indexes[0], indexes[150], indexes[-3], indexes[-2]]
    assert await roster.user_ids("a", pick) == [line_ids[0], line_ids[150], odd[0], odd[1]]  # scattered: per slot


async def test_bitmap_chunks_decode_every_set_bit(redis):
    roster = Roster(redis)
    wanted = [0, 7, 8, 524_287, 524_288, 1_000_003]  # both sides of a byte and of a 64 KB chunk
    for i in wanted:
        await redis.setbit("bits", i, 1)
    found = [int(i) for chunk in [c async for c in roster.bits("bits")] for i in chunk]
    assert found == wanted
    assert list(set_bits(bytes([0b10000001]), 16)) == [16, 23]
    assert len(set_bits(b"")) == 0 and set_bits(b"\x00").dtype == np.int64


async def test_and_not_keeps_residents_beyond_the_subtracted_bitmap(redis):
    """BITOP NOT of a shorter bitmap would end at its length: residents with high indexes must survive."""
    for i in (3, 90_000):
        await redis.setbit("dest", i, 1)
    await redis.setbit("quiet", 3, 1)  # a short bitmap
    await ANDNOT(redis, ["dest", "quiet"])
    assert [int(i) async for c in Roster(redis).bits("dest") for i in c] == [90_000]


async def test_quiet_hours_hold_back_only_their_residents_at_any_index(redis):
    g = Gazetteer.load()
    store, users = RedisSubscriptionStore(redis, g), RedisUserStore(redis)
    quiet = "U" + "0" * 32
    await users.save(User("t", quiet))
    await store.save(Subscription("t", quiet, places=[Place("p1", "自宅", "27205")], quiet_hours=QuietHours()))
    late = [User("t", "U" + f"{i:032x}") for i in range(1, 20_001)]
    await users.import_many(late)
    await store.import_many([Subscription("t", u.user_id, places=[Place("p1", "自宅", "27205")]) for u in late])
    audience = SubscriptionAudience(store, users, g, clock=lambda: NIGHT)
    got = {r.user_id async for r in audience.resolve(AudienceQuery("t", area_codes=("27205",)))}
    assert got == {u.user_id for u in late}
    await users.set_active("t", late[-1].user_id, False)
    emergency = AudienceQuery("t", area_codes=("27205",), ignore_quiet_hours=True)
    got = {r.user_id async for r in audience.resolve(emergency)}
    assert got == {quiet} | {u.user_id for u in late[:-1]}


async def test_radius_search_answers_long_and_short_ids(redis):
    g = Gazetteer.load()
    store = RedisSubscriptionStore(redis, g)
    umeda = (34.7025, 135.4959)
    for uid in ("U" + "a" * 32, "U" + "b" * 40, "住民"):
        await store.save(Subscription("t", uid, places=[Place("p1", "自宅", "27127", *umeda)], categories=["crime"]))
    await store.save(Subscription("t", "rain", places=[Place("p1", "自宅", "27127", *umeda)], categories=["rain_flood"]))
    assert await store.near("t", *umeda, 300, ("crime",)) == {"U" + "a" * 32, "U" + "b" * 40, "住民"}


async def test_resolving_leaves_no_scratch_keys_behind(redis):
    g = Gazetteer.load()
    store, users = RedisSubscriptionStore(redis, g), RedisUserStore(redis)
    umeda = (34.7025, 135.4959)
    await users.save(User("t", "U1"))
    await store.save(Subscription("t", "U1", places=[Place("p1", "自宅", "27127", *umeda)], categories=["crime"],
                                  quiet_hours=QuietHours()))
    audience = SubscriptionAudience(store, users, g, clock=lambda: NIGHT)
    before = {k async for k in redis.scan_iter(match="*")}
    queries = [AudienceQuery("t", area_codes=("27127",), center=umeda, radius_m=500, categories=("crime",)),
               AudienceQuery("t", categories=("crime",), record_as="x"), AudienceQuery("t", replay_of="x")]
    for q in queries:
        assert [r.user_id async for r in audience.resolve(q)] in ([], ["U1"])
    assert await store.members("t", ["N:27127"], ("crime",)) == set()
    assert await store.near("t", *umeda, 500, ("crime",)) == {"U1"}
    leftovers = {k async for k in redis.scan_iter(match="*")} - before
    assert leftovers == {"cb:{t}:alerts:r:x"}  # the recorded recipients (for a 取消), and nothing else
    assert 0 < await redis.ttl("cb:{t}:alerts:r:x") <= 3 * 24 * 3600
