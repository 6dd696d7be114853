"""End to end: a police mail → the delivery engine → line-bot-sdk → the LINE emulator, whose ledger is the judge.

A subscriber 500 m from the town gets the notice in their language; one 3 km away (same city) does not; one
registered for the whole municipality does.
"""

from __future__ import annotations

import math
import random
import time

from alerts.geo import Gazetteer
from alerts.notices.audience import NoticeAudience
from alerts.notices.config import NoticesConfig
from alerts.notices.service import NoticeDeps, RawNotice, process
from alerts.notices.store import RedisIncidentStore
from alerts.subscriptions import Place, RedisSubscriptionStore, Subscription, SubscriptionAudience
from bot.users import RedisUserStore, User
from broadcasts.engine import DeliveryWorker, EngineOptions, RedisDeliverer
from broadcasts.ratelimit import RedisRateLimiter
from broadcasts.service import synthetic_user_id
from tests.integration.broadcasts.conftest import emulator, sdk_line  # noqa: F401 - fixtures
from tests.unit.broadcasts.conftest import Running, job_done, wait_for

T = "t1"  # the tenant the broadcasts fixtures configure in the emulator
G = Gazetteer.load()
OPTS = EngineOptions(backoff_base=0.01, backoff_cap=0.1, poll_max=0.02, reclaim_interval=0.2)


def offset(lat: float, lng: float, north_m: float, east_m: float) -> tuple[float, float]:
    return lat + north_m / 111_320, lng + east_m / (111_320 * math.cos(math.radians(lat)))


async def test_notice_reaches_500m_not_3km_in_the_emulator_ledger(redis, emulator, sdk_line, samples):  # noqa: F811
    users, subs = RedisUserStore(redis), RedisSubscriptionStore(redis, G)
    town = G.find_towns("若江北町三丁目", within="27227")[0]
    people = {
        "near": (Place("p1", "自宅", "27227", *offset(town.lat, town.lng, 300, 400)), "vi"),
        "far": (Place("p1", "自宅", "27227", *offset(town.lat, town.lng, 3000, 0)), "ja"),
        "whole": (Place("p1", "東大阪市", "27227"), "ja-easy"),
    }
    ids = {}
    for n, (name, (place, lang)) in enumerate(people.items()):
        uid = synthetic_user_id(T, n)
        ids[name] = uid
        await users.save(User(tenant=T, user_id=uid, language=lang))
        await subs.save(Subscription(tenant=T, user_id=uid, places=[place], categories=["crime"], language=lang))

    deliverer = RedisDeliverer(redis)
    deps = NoticeDeps(gazetteer=G, store=RedisIncidentStore(redis), deliverer=deliverer,
                      config=lambda t: NoticesConfig(radius_m=1000), clock=time.time)
    raw = RawNotice("imap:anmachi", "大阪府警察", time.time(), data=samples["03_koekake_higashiosaka.eml"])
    out = await process(T, raw, deps)
    assert out.status == "delivered"

    audience = NoticeAudience(SubscriptionAudience(subs, users, G), subs, G)
    worker = DeliveryWorker(redis, sdk_line, audience, users, [T], limiter=RedisRateLimiter(redis, {}), options=OPTS,
                            rng=random.Random(1))
    running = Running(worker)
    try:
        await wait_for(await job_done(deliverer, out.job_id), timeout=60)
    finally:
        await running.halt()

    ledger = emulator.state.ledger
    assert ledger.deliveries(to=ids["far"], tenant=T) == []
    [near] = ledger.deliveries(to=ids["near"], tenant=T)
    [whole] = ledger.deliveries(to=ids["whole"], tenant=T)
    near_text, whole_text = near.messages[0]["text"], whole.messages[0]["text"]
    assert "Người lạ bắt chuyện" in near_text and "若江北町三丁目" in near_text and "出典：大阪府警察" in near_text
    assert "こえかけ" in whole_text and "東大阪市若江北町三丁目の ちかく" in whole_text
    # a re-delivered mail does not reach anyone twice
    again = await process(T, RawNotice("imap:other", "大阪府警察", time.time(), data=samples["03_koekake_higashiosaka.eml"]), deps)
    assert again.status == "duplicate"
    assert (await emulator.stats())["duplicates"] == 0
