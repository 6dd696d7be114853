"""Who a police job reaches: located subscribers within the radius, plus whole-municipality subscribers —
never a located subscriber 3 km away, even in the same ward. Runs on the memory fakes and on Redis."""

from __future__ import annotations

import math

import pytest

from alerts.geo import Gazetteer, haversine_m
from alerts.notices.audience import NoticeAudience
from alerts.notices.config import NoticesConfig
from alerts.notices.service import NoticeDeps, RawNotice, process
from alerts.notices.store import MemoryIncidentStore
from alerts.subscriptions import MemorySubscriptionStore, Place, RedisSubscriptionStore, Subscription, SubscriptionAudience
from bot.users import MemoryUserStore, RedisUserStore, User
from broadcasts.audience import AudienceQuery
from broadcasts.jobs import MemoryDeliverer
from tests.conftest import BACKENDS, redis_for

T = "demo"
G = Gazetteer.load()
HIGASHI_OSAKA = "27227"
TOWN = G.find_towns("若江北町三丁目", within=HIGASHI_OSAKA)[0]


def offset(lat: float, lng: float, north_m: float, east_m: float) -> tuple[float, float]:
    return lat + north_m / 111_320, lng + east_m / (111_320 * math.cos(math.radians(lat)))


class Opaque:
    """An inner source that does not narrow police queries itself: NoticeAudience must do it."""

    def __init__(self, inner) -> None:
        self._inner = inner

    def resolve(self, query):
        return self._inner.resolve(query)


class NoDocumentReads:
    """The subscription store, minus per-subscriber reads: narrowing must use the indexes only."""

    def __init__(self, inner) -> None:
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    async def get(self, tenant, user_id):
        raise AssertionError(f"per-subscriber read of {user_id}")


@pytest.fixture(params=[*BACKENDS, "memory-opaque", "redis-opaque", pytest.param("cluster-opaque", marks=pytest.mark.cluster)])
def env(request):
    if request.param.startswith("memory"):
        subs, users = MemorySubscriptionStore(G), MemoryUserStore()
    else:
        subs, users = RedisSubscriptionStore(redis_for(request), G), RedisUserStore(redis_for(request))
    inner = SubscriptionAudience(NoDocumentReads(subs), users, G)
    audience = NoticeAudience(Opaque(inner) if request.param.endswith("opaque") else inner, NoDocumentReads(subs), G)
    return subs, users, audience


async def _sub(subs, users, uid, place: Place, categories=("crime",), language="ja"):
    await users.save(User(tenant=T, user_id=uid, language=language))
    await subs.save(Subscription(tenant=T, user_id=uid, places=[place], categories=list(categories), language=language))


async def test_police_job_reaches_500m_not_3km(samples, env):
    subs, users, audience = env
    near = offset(TOWN.lat, TOWN.lng, 300, 400)  # 500 m
    far = offset(TOWN.lat, TOWN.lng, 3000, 0)  # 3 km north, still in 東大阪市
    assert 450 < haversine_m(TOWN.lat, TOWN.lng, *near) < 550
    assert G.locate(*far).municipality.jis5 == HIGASHI_OSAKA
    await _sub(subs, users, "U500", Place("p1", "自宅", HIGASHI_OSAKA, *near), language="en")
    await _sub(subs, users, "U3000", Place("p1", "自宅", HIGASHI_OSAKA, *far))
    await _sub(subs, users, "Uwhole", Place("p1", "東大阪市", HIGASHI_OSAKA))  # whole municipality
    await _sub(subs, users, "Uother", Place("p1", "吹田市", "27205"))  # another municipality
    await _sub(subs, users, "Unocrime", Place("p1", "自宅", HIGASHI_OSAKA, *near), categories=("rain_flood",))

    deliverer = MemoryDeliverer()
    deps = NoticeDeps(gazetteer=G, store=MemoryIncidentStore(), deliverer=deliverer, config=lambda t: NoticesConfig(radius_m=1000))
    out = await process(T, RawNotice("imap:t", "大阪府警察", 1_795_300_000.0, data=samples["03_koekake_higashiosaka.eml"]), deps)
    [job] = deliverer.jobs.values()
    got = {r.user_id: r.language async for r in audience.resolve(job.audience)}
    assert got == {"U500": "en", "Uwhole": "ja"}
    assert out.incident.town == "若江北町三丁目"


async def test_ward_notice_reaches_city_level_registrants_but_not_other_wards(env):
    subs, users, audience = env
    umeda = G.find_towns("梅田一丁目", within="27127")[0]
    await _sub(subs, users, "Ucity", Place("p1", "大阪市", "27100"))
    await _sub(subs, users, "Uward", Place("p1", "北区", "27127"))
    await _sub(subs, users, "Uotherward", Place("p1", "城東区", "27118"))
    q = AudienceQuery(tenant=T, area_codes=("27127",), categories=("crime",), center=(umeda.lat, umeda.lng), radius_m=1000)
    assert {r.user_id async for r in audience.resolve(q)} == {"Ucity", "Uward"}


async def test_other_queries_pass_through(env):
    subs, users, audience = env
    await _sub(subs, users, "U1", Place("p1", "自宅", "27205", 34.78, 135.52), categories=("crime", "rain_flood"))
    q = AudienceQuery(tenant=T, area_codes=("27205",), categories=("rain_flood",))
    assert {r.user_id async for r in audience.resolve(q)} == {"U1"}
