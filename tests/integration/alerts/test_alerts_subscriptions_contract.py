"""One contract suite for the subscription store and its audience, run on the memory fake and on Redis."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.categories import earthquake_targets
from alerts.geo import Gazetteer
from alerts.subscriptions import (
    MemorySubscriptionStore,
    Place,
    QuietHours,
    RedisSubscriptionStore,
    Subscription,
    SubscriptionAudience,
    SubscriptionError,
)
from bot.users import MemoryUserStore, RedisUserStore, User
from broadcasts.audience import AudienceQuery
from tests.conftest import BACKENDS, redis_for
from tests.helpers import write_legacy_subscriber

T = "demo"
# 2026-11-25 23:30 JST: inside 22:00-07:00 quiet hours
NIGHT = dt.datetime(2026, 11, 25, 14, 30, tzinfo=dt.UTC)
NOON = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)


@pytest.fixture(params=BACKENDS)
def env(request):
    g = Gazetteer.load()
    clock = {"now": NOON}
    if request.param == "memory":
        store, users = MemorySubscriptionStore(g), MemoryUserStore()
    else:
        store, users = RedisSubscriptionStore(redis_for(request), g), RedisUserStore(redis_for(request))
    audience = SubscriptionAudience(store, users, g, clock=lambda: clock["now"])
    return store, users, audience, clock


async def _sub(store, users, uid, places, **kw):
    await users.save(User(tenant=T, user_id=uid, language=kw.get("language", "ja")))
    sub = Subscription(tenant=T, user_id=uid, places=places, **kw)
    await store.save(sub)
    return sub


async def _ids(audience, **kw) -> set[str]:
    return {r.user_id async for r in audience.resolve(AudienceQuery(tenant=T, **kw))}


async def test_roundtrip_and_delete(env):
    store, users, audience, _ = env
    sub = await _sub(store, users, "U1", [Place("p1", "自宅", "27205")], language="en", quiet_hours=QuietHours())
    got = await store.get(T, "U1")
    assert got.places == sub.places and got.language == "en" and got.quiet_hours == QuietHours()
    assert await store.count(T) == 1
    await store.delete(T, "U1")
    assert await store.get(T, "U1") is None
    assert await _ids(audience, area_codes=("2720500",)) == set()


async def test_area_and_category_targeting(env):
    store, users, audience, _ = env
    await _sub(store, users, "suita_rain", [Place("p1", "自宅", "27205")], categories=["rain_flood"])
    await _sub(store, users, "suita_wind", [Place("p1", "自宅", "27205")], categories=["wind_snow"])
    await _sub(store, users, "toyonaka", [Place("p1", "自宅", "27203")], categories=["rain_flood"])
    assert await _ids(audience, area_codes=("2720500",), categories=("rain_flood",)) == {"suita_rain"}
    assert await _ids(audience, area_codes=("27205",)) == {"suita_rain", "suita_wind"}
    assert await _ids(audience, categories=("rain_flood",)) == {"suita_rain", "toyonaka"}


async def test_ward_city_rollup_both_ways(env):
    store, users, audience, _ = env
    await _sub(store, users, "konohana", [Place("p1", "自宅", "27104")])
    await _sub(store, users, "osaka_city", [Place("p1", "職場", "27100")])
    await _sub(store, users, "kita", [Place("p1", "学校", "27127")])
    # a city-level warning reaches everybody in the city, whatever the ward
    assert await _ids(audience, area_codes=("2710000",)) == {"konohana", "osaka_city", "kita"}
    # a ward-level earthquake report reaches that ward and those who chose the whole city
    assert await _ids(audience, area_codes=("2710400",)) == {"konohana", "osaka_city"}
    # 地震 細分区域 大阪府北部 covers 大阪市; 南部 does not
    assert await _ids(audience, area_codes=("520",)) == {"konohana", "osaka_city", "kita"}
    assert await _ids(audience, area_codes=("521",)) == set()


async def test_earthquake_threshold(env):
    store, users, audience, _ = env
    await _sub(store, users, "t3", [Place("p1", "自宅", "27205")], categories=["earthquake"], threshold="3")
    await _sub(store, users, "t5", [Place("p1", "自宅", "27205")], categories=["earthquake"], threshold="5-")
    assert await _ids(audience, area_codes=("2720500",), categories=earthquake_targets(4)) == {"t3"}
    assert await _ids(audience, area_codes=("2720500",), categories=earthquake_targets(5)) == {"t3", "t5"}
    assert await _ids(audience, area_codes=("2720500",), categories=("earthquake",)) == {"t3", "t5"}


async def test_quiet_hours_and_bypass(env):
    store, users, audience, clock = env
    await _sub(store, users, "sleeper", [Place("p1", "自宅", "27205")], quiet_hours=QuietHours("22:00", "07:00"))
    await _sub(store, users, "owl", [Place("p1", "自宅", "27205")])
    clock["now"] = NIGHT
    assert await _ids(audience, area_codes=("2720500",)) == {"owl"}
    assert await _ids(audience, area_codes=("2720500",), ignore_quiet_hours=True) == {"sleeper", "owl"}
    clock["now"] = NOON
    assert await _ids(audience, area_codes=("2720500",)) == {"sleeper", "owl"}


async def test_inactive_users_and_languages(env):
    store, users, audience, _ = env
    await _sub(store, users, "gone", [Place("p1", "自宅", "27205")])
    await _sub(store, users, "en", [Place("p1", "自宅", "27205")], language="en")
    await users.set_active(T, "gone", False)
    got = [r async for r in audience.resolve(AudienceQuery(tenant=T, area_codes=("27205",)))]
    assert [(r.user_id, r.language) for r in got] == [("en", "en")]
    assert await _ids(audience, area_codes=("27205",), languages=("ja",)) == set()


async def test_location_place_radius_and_change(env):
    store, users, audience, _ = env
    g = Gazetteer.load()
    loc = g.locate(34.7025, 135.4959)  # 梅田
    sub = await _sub(store, users, "umeda", [Place("p1", "職場", loc.code, 34.7025, 135.4959, loc.town.name)])
    assert await _ids(audience, center=(34.7030, 135.4960), radius_m=500) == {"umeda"}
    assert await _ids(audience, center=(34.60, 135.50), radius_m=500) == set()
    assert await _ids(audience, area_codes=("2710000",)) == {"umeda"}  # reached through the containing city
    # moving the place removes the old index entries
    sub.places = [Place("p1", "職場", "27205")]
    await store.save(sub)
    assert await _ids(audience, center=(34.7030, 135.4960), radius_m=500) == set()
    assert await _ids(audience, area_codes=("2710000",)) == set()
    assert await _ids(audience, area_codes=("2720500",)) == {"umeda"}


async def test_paused_subscription_is_not_targeted_but_kept(env):
    store, users, audience, _ = env
    sub = await _sub(store, users, "U1", [Place("p1", "自宅", "27205")])
    sub.paused = True
    await store.save(sub)
    assert await _ids(audience, area_codes=("27205",)) == set()
    assert (await store.get(T, "U1")).places[0].code == "27205"


async def test_limits_validated(env):
    store, users, *_ = env
    with pytest.raises(SubscriptionError):
        await store.save(Subscription(T, "U1", places=[Place(f"p{i}", "x", "27205") for i in range(6)]))
    with pytest.raises(SubscriptionError):
        await store.save(Subscription(T, "U1", categories=["volcano"]))


async def test_all_friends(env):
    store, users, audience, _ = env
    await users.save(User(tenant=T, user_id="friend", language="ko"))
    await _sub(store, users, "sub", [Place("p1", "自宅", "27205")], language="vi")
    await users.save(User(tenant=T, user_id="sub", language="en"))  # chat language changed, alerts kept in vi
    await users.save(User(tenant=T, user_id="left", language="en"))
    await users.set_active(T, "left", False)
    got = {(r.user_id, r.language) async for r in audience.resolve(AudienceQuery(tenant=T, all_friends=True))}
    assert got == {("friend", "ko"), ("sub", "vi")}  # the subscription's language wins over the user record's
    only_ko = AudienceQuery(tenant=T, all_friends=True, languages=("ko",))
    assert [r.user_id async for r in audience.resolve(only_ko)] == ["friend"]


async def test_may_reach_is_a_cheap_superset_check(env):
    store, users, audience, _ = env
    await _sub(store, users, "suita", [Place("p1", "自宅", "27205")], categories=["rain_flood"])
    assert await audience.may_reach(AudienceQuery(tenant=T, area_codes=("2720500",), categories=("rain_flood",)))
    assert not await audience.may_reach(AudienceQuery(tenant=T, area_codes=("2720500",), categories=("tsunami",)))
    assert not await audience.may_reach(AudienceQuery(tenant=T, area_codes=("2720300",)))
    assert not await audience.may_reach(AudienceQuery(tenant="other", area_codes=("2720500",)))


async def test_concurrent_saves_leave_no_stale_membership(env):
    import asyncio

    store, users, audience, _ = env
    await users.save(User(tenant=T, user_id="U1"))
    subs = [Subscription(T, "U1", places=[Place("p1", "自宅", code)]) for code in ("27205", "27203", "27207", "27211")]
    await asyncio.gather(*(store.save(s) for s in subs))
    final = (await store.get(T, "U1")).places[0].code
    for code in ("27205", "27203", "27207", "27211"):
        assert await _ids(audience, area_codes=(code,)) == ({"U1"} if code == final else set())


async def test_radius_with_area_reaches_nearby_points_and_whole_area_registrants_only(env):
    store, users, audience, _ = env
    g = Gazetteer.load()
    near, far = (34.7025, 135.4959), (34.7100, 135.5150)  # 梅田 / 天満 (both 大阪市北区, ~1.9 km apart)
    for uid, point in (("near", near), ("far", far)):
        loc = g.locate(*point)
        assert loc.code == "27127"
        await _sub(store, users, uid, [Place("p1", "自宅", loc.code, point[0], point[1], loc.town.name)], categories=["crime"])
    await _sub(store, users, "ward", [Place("p1", "自宅", "27127")], categories=["crime"])
    await _sub(store, users, "city", [Place("p1", "自宅", "27100")], categories=["crime"])
    await _sub(store, users, "other_ward", [Place("p1", "自宅", "27104")], categories=["crime"])
    q = dict(area_codes=("27127",), center=(34.7030, 135.4965), radius_m=800, categories=("crime",))
    assert await _ids(audience, **q) == {"near", "ward", "city"}
    assert await _ids(audience, area_codes=("27127",), categories=("crime",)) == {"near", "far", "ward", "city"}


async def test_language_and_quiet_hours_changes_are_reindexed(env):
    store, users, audience, clock = env
    sub = await _sub(store, users, "U1", [Place("p1", "自宅", "27205")], language="en", quiet_hours=QuietHours())
    clock["now"] = NIGHT
    assert await _ids(audience, area_codes=("27205",)) == set()
    sub.language, sub.quiet_hours = "ko", None
    await store.save(sub)
    got = [(r.user_id, r.language) async for r in audience.resolve(AudienceQuery(tenant=T, area_codes=("27205",)))]
    assert got == [("U1", "ko")]
    assert await _ids(audience, area_codes=("27205",), languages=("en",)) == set()
    await store.delete(T, "U1")
    assert await _ids(audience, area_codes=("27205",), ignore_quiet_hours=True) == set()


async def test_near_reads_the_category_index_only(env):
    store, users, audience, _ = env
    umeda = (34.7025, 135.4959)
    await _sub(store, users, "crime", [Place("p1", "自宅", "27127", *umeda)], categories=["crime", "rain_flood"])
    await _sub(store, users, "rain", [Place("p1", "自宅", "27127", *umeda)], categories=["rain_flood"])
    await _sub(store, users, "quake5", [Place("p1", "自宅", "27127", *umeda)], categories=["earthquake"], threshold="5-")
    paused = await _sub(store, users, "paused", [Place("p1", "自宅", "27127", *umeda)], categories=["crime"])
    paused.paused = True
    await store.save(paused)
    await _sub(store, users, "whole", [Place("p1", "北区", "27127")], categories=["crime"])
    assert await store.near(T, *umeda, 500, ("crime",)) == {"crime"}
    assert await store.near(T, *umeda, 500, ("crime", "rain_flood")) == {"crime", "rain"}
    assert await store.near(T, *umeda, 500, ("earthquake:4",)) == set()
    assert await store.near(T, *umeda, 500, ("earthquake:4", "earthquake:5-")) == {"quake5"}
    assert await store.near(T, *umeda, 500, ()) == set()
    assert await store.near("other", *umeda, 500, ("crime",)) == set()


async def test_near_follows_moves_category_changes_and_deletes(env):
    store, users, audience, _ = env
    umeda, suita = (34.7025, 135.4959), (34.7590, 135.5160)
    sub = await _sub(store, users, "U1", [Place("p1", "自宅", "27127", *umeda), Place("p2", "学校", "27205", *suita)],
                     categories=["crime"])
    assert await store.near(T, *umeda, 300, ("crime",)) == {"U1"}
    sub.places = [sub.places[1]]  # 自宅 removed: its point leaves the index, the school stays
    await store.save(sub)
    assert await store.near(T, *umeda, 300, ("crime",)) == set()
    assert await store.near(T, *suita, 300, ("crime",)) == {"U1"}
    sub.categories = ["rain_flood"]
    await store.save(sub)
    assert await store.near(T, *suita, 300, ("crime",)) == set()
    assert await store.near(T, *suita, 300, ("rain_flood",)) == {"U1"}
    await store.delete(T, "U1")
    assert await store.near(T, *suita, 300, ("rain_flood",)) == set()


async def test_whole_area_registrants_are_their_own_index(env):
    from alerts.subscriptions import area_keys_for_query

    store, users, audience, _ = env
    g = Gazetteer.load()
    await _sub(store, users, "located", [Place("p1", "自宅", "27127", 34.7025, 135.4959)], categories=["crime"])
    await _sub(store, users, "ward", [Place("p1", "北区", "27127")], categories=["crime"])
    await _sub(store, users, "city", [Place("p1", "大阪市", "27100")], categories=["crime"])
    await _sub(store, users, "ward_rain", [Place("p1", "北区", "27127")], categories=["rain_flood"])
    await _sub(store, users, "other_ward", [Place("p1", "福島区", "27104")], categories=["crime"])
    keys = area_keys_for_query(("27127",), g, unlocated_only=True)
    assert await store.members(T, keys, ("crime",)) == {"ward", "city"}
    assert await store.members(T, area_keys_for_query(("27127",), g), ("crime",)) == {"located", "ward", "city"}


async def test_rebuild_indexes_is_an_idempotent_repair(env):
    store, users, audience, _ = env
    umeda = (34.7025, 135.4959)
    await _sub(store, users, "near", [Place("p1", "自宅", "27127", *umeda)], categories=["crime"])
    await _sub(store, users, "ward", [Place("p1", "北区", "27127")], categories=["crime"])
    paused = await _sub(store, users, "paused", [Place("p1", "自宅", "27127", *umeda)], categories=["crime"])
    paused.paused = True
    await store.save(paused)
    q = dict(area_codes=("27127",), center=umeda, radius_m=500, categories=("crime",))
    for _ in range(2):
        assert await store.rebuild_indexes(T) == 3
        assert not await store.needs_rebuild(T)
        assert await _ids(audience, **q) == {"near", "ward"}
        assert await store.near(T, *umeda, 500, ("crime",)) == {"near"}


async def test_rebuild_indexes_migrates_the_former_layout(any_redis):
    """Data written by the previous release (JSON document + a dozen id sets per resident) moves into the bitmap
    layout: same targeting answers, 取消 recipients kept, former keys gone, a resident who saved meanwhile wins.
    On the cluster the migration scans only the node owning the tenant's slot."""
    redis = any_redis
    g = Gazetteer.load()
    store, users = RedisSubscriptionStore(redis, g), RedisUserStore(redis)
    audience = SubscriptionAudience(store, users, g, clock=lambda: NOON)
    umeda = (34.7025, 135.4959)
    legacy = [
        Subscription(T, "near", places=[Place("p1", "自宅", "27127", *umeda)], categories=["crime"]),
        Subscription(T, "ward", places=[Place("p1", "北区", "27127")], categories=["crime", "rain_flood"], language="en"),
        Subscription(T, "gone", places=[Place("p1", "北区", "27127")], categories=["crime"]),
        Subscription(T, "resaved", places=[Place("p1", "吹田", "27205")]),
    ]
    async with redis.pipeline(transaction=False) as pipe:
        for sub in legacy:
            write_legacy_subscriber(pipe, T, sub, g, active=sub.user_id != "gone")
        pipe.sadd(f"cb:{{{T}}}:alerts:sent:jma-1", "near", "ward")
        pipe.expire(f"cb:{{{T}}}:alerts:sent:jma-1", 3600)
        await pipe.execute()
    await store.save(Subscription(T, "resaved", places=[Place("p1", "豊中", "27203")]))  # after the upgrade
    assert await store.needs_rebuild(T) and await users.needs_migration(T)

    assert await users.migrate_legacy(T) == 4
    assert await store.rebuild_indexes(T) == 4
    assert not await store.needs_rebuild(T) and not await users.needs_migration(T)
    q = dict(area_codes=("27127",), center=umeda, radius_m=500, categories=("crime",))
    assert await _ids(audience, **q) == {"near", "ward"}  # "gone" unfollowed before the upgrade
    assert await _ids(audience, area_codes=("27127",), languages=("en",)) == {"ward"}
    assert await _ids(audience, area_codes=("27203",)) == {"resaved"}
    assert await _ids(audience, area_codes=("27205",)) == set()
    assert await store.recipients(T, "jma-1") == {"near", "ward"}
    assert (await store.get(T, "ward")).categories == ["crime", "rain_flood"]
    assert (await users.get(T, "ward")).language == "en"
    assert [k async for k in redis.scan_iter(match=f"cb:{{{T}}}:alerts:sub:*")] == []
    for name in ("users", "profile", "geo:crime", "lang:ja", "sent:jma-1", "m:A:27127:crime"):
        assert not await redis.exists(f"cb:{{{T}}}:alerts:{name}"), name
    assert not await redis.exists(f"cb:{{{T}}}:user:near", f"cb:{{{T}}}:users:active")
    assert await store.rebuild_indexes(T) == 4  # twice: nothing changes
    assert await _ids(audience, **q) == {"near", "ward"}
