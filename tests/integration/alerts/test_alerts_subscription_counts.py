"""Contract cases for ``SubscriptionStore.counts`` (the public dashboard's subscriber figures), on both stores."""

from __future__ import annotations

import pytest

from alerts.categories import CATEGORIES, CRIME, EARTHQUAKE, RAIN_FLOOD
from alerts.geo import Gazetteer
from alerts.subscriptions import LANGUAGES, MemorySubscriptionStore, Place, RedisSubscriptionStore, Subscription
from tests.conftest import BACKENDS, redis_for

T = "demo"
OSAKA, KONOHANA, NISHI = "27100", "27104", "27106"  # 大阪市 and two of its wards
SAKAI, SAKAI_KU = "27140", "27141"
SUITA, TOYONAKA = "27205", "27203"


@pytest.fixture(params=BACKENDS)
def store(request):
    g = Gazetteer.load()
    return MemorySubscriptionStore(g) if request.param == "memory" else RedisSubscriptionStore(redis_for(request), g)


async def _save(store, uid, codes, tenant=T, **kw):
    places = [Place(f"p{i}", f"場所{i}", code) for i, code in enumerate(codes, 1)]
    await store.save(Subscription(tenant=tenant, user_id=uid, places=places, **kw))


async def test_empty_tenant_has_every_requested_code_and_category_at_zero(store):
    got = await store.counts(T, [SUITA, OSAKA, KONOHANA])
    assert got.total == 0 and got.paused == 0
    assert got.by_area == {SUITA: 0, OSAKA: 0, KONOHANA: 0}
    assert got.by_category == dict.fromkeys(CATEGORIES, 0)
    assert got.by_language == dict.fromkeys(LANGUAGES, 0)


async def test_user_counts_once_per_area_and_category_however_many_places(store):
    # two places in 吹田市 and one in 豊中市, default categories: one subscriber per city, once per category
    await _save(store, "U1", [SUITA, SUITA, TOYONAKA])
    got = await store.counts(T, [SUITA, TOYONAKA, OSAKA])
    assert got.total == 1
    assert got.by_area == {SUITA: 1, TOYONAKA: 1, OSAKA: 0}
    assert got.by_category[RAIN_FLOOD] == 1 and got.by_category[EARTHQUAKE] == 1 and got.by_category[CRIME] == 0


async def test_ward_subscribers_count_for_their_city_and_city_level_ones_not_for_wards(store):
    await _save(store, "W1", [KONOHANA])
    await _save(store, "W2", [KONOHANA, NISHI])  # two wards of the same city: once for the city
    await _save(store, "C1", [OSAKA])  # 大阪市 without a ward
    await _save(store, "S1", [SAKAI_KU])
    got = await store.counts(T, [OSAKA, KONOHANA, NISHI, SAKAI, SAKAI_KU])
    assert got.by_area == {OSAKA: 3, KONOHANA: 2, NISHI: 1, SAKAI: 1, SAKAI_KU: 1}
    # without the city among the codes, the ward figure stands alone
    assert (await store.counts(T, [KONOHANA])).by_area == {KONOHANA: 2}


async def test_categories_languages_and_paused(store):
    await _save(store, "U1", [SUITA], categories=[CRIME], language="en")
    await _save(store, "U2", [SUITA], categories=[CRIME, EARTHQUAKE], threshold="3", notify_lift=True, language="en")
    await _save(store, "U3", [SUITA], language="vi")
    await _save(store, "P1", [SUITA], categories=[CRIME], language="ko", paused=True)
    got = await store.counts(T, [SUITA])
    assert got.total == 3 and got.paused == 1
    assert got.by_area == {SUITA: 3}
    assert got.by_category[CRIME] == 2 and got.by_category[EARTHQUAKE] == 2 and got.by_category[RAIN_FLOOD] == 1
    assert got.by_language["en"] == 2 and got.by_language["vi"] == 1 and got.by_language["ko"] == 0
    assert await store.count(T) == 4  # count() is documents stored, paused included


async def test_counts_follow_saves_deletes_and_stay_within_the_tenant(store):
    await _save(store, "U1", [SUITA], language="en")
    await _save(store, "U2", [SUITA])
    await _save(store, "X1", [SUITA], tenant="other")
    await _save(store, "U1", [TOYONAKA], language="zh-Hans")  # moved and switched language
    await store.delete(T, "U2")
    got = await store.counts(T, [SUITA, TOYONAKA])
    assert got.total == 1
    assert got.by_area == {SUITA: 0, TOYONAKA: 1}
    assert got.by_language["en"] == 0 and got.by_language["zh-Hans"] == 1 and got.by_language["ja"] == 0


async def test_user_without_places_or_with_unknown_code_counts_only_in_total(store):
    await _save(store, "U1", [])
    await _save(store, "U2", ["99999"])
    got = await store.counts(T, [SUITA])
    assert got.total == 2 and got.by_area == {SUITA: 0} and got.by_category[RAIN_FLOOD] == 2


async def test_redis_counts_across_many_scan_batches(redis):
    store = RedisSubscriptionStore(redis, Gazetteer.load())
    for i in range(250):
        await _save(store, f"U{i}", [SUITA if i % 2 else KONOHANA], language=LANGUAGES[i % len(LANGUAGES)])
    got = await store.counts(T, [SUITA, KONOHANA, OSAKA], batch=10)
    assert got.total == 250
    assert got.by_area == {SUITA: 125, KONOHANA: 125, OSAKA: 125}
    assert sum(got.by_language.values()) == 250
