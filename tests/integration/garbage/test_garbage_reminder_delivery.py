"""Reminders through the real delivery engine on Redis (fake LINE port): the evening run reaches exactly the
registered resident whose area collects tomorrow, in their language, once; with the month's quota nearly used the
run is skipped (nothing queued to send later) and the resident is told once in the room's next reply."""

from __future__ import annotations

import asyncio
import datetime as dt
import random

import pytest

from bot.chat import Incoming
from bot.users import RedisUserStore, User
from broadcasts import DeliveryWorker, EngineOptions, FakeLinePort, QuotaGuard, QuotaReading, RedisDeliverer, RedisRateLimiter
from broadcasts.store import RedisDeliveryStore
from garbage import DEMO_DATA, GarbageAudience, GarbageDeps, GarbageRoom, Reminder, read_dir, redis_ports, tick
from garbage.search import LazyAnalyzer
from garbage.service import import_files
from tests.helpers import tenant

JST = dt.timezone(dt.timedelta(hours=9))
EVENING = dt.datetime(2027, 1, 6, 20, 2, tzinfo=JST)  # Wednesday → Thursday 1/7
KEMA, FUKU = "都島北部（毛馬町・大東町）", "福島中部（野田・玉川・吉野）"  # Thursday: 燃やすごみ / プラスチック製容器包装
OPTS = EngineOptions(concurrency=8, backoff_base=0.01, backoff_cap=0.1, reclaim_idle_seconds=2, reclaim_interval=0.2,
                     poll_max=0.02, resume_interval=0.1)


@pytest.fixture
async def env(redis):
    users = RedisUserStore(redis)
    ports = redis_ports(redis, users.active_key)
    await import_files(ports.datasets, "demo", read_dir(DEMO_DATA))
    deps = GarbageDeps(ports.datasets, ports.unknown, ports.reminders, LazyAnalyzer(), clock=lambda: EVENING)
    for uid, area, cats, lang in [("Ua", KEMA, ("燃やすごみ",), "en"), ("Ub", KEMA, ("古紙・衣類",), "ja"),
                                  ("Uc", FUKU, ("燃やすごみ",), "ja"), ("Ud", FUKU, ("プラスチック製容器包装",), "ko")]:
        await users.save(User(tenant="demo", user_id=uid, language=lang))
        await ports.reminders.save(Reminder("demo", uid, area, cats, language=lang))
    line = FakeLinePort()
    worker = DeliveryWorker(redis, line, GarbageAudience(ports.reminders), users, ["demo"],
                            limiter=RedisRateLimiter(redis, {}), options=OPTS, rng=random.Random(1))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield deps, ports, line, QuotaGuard(RedisDeliveryStore(redis), line), RedisDeliverer(redis)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def delivered(line: FakeLinePort, count: int) -> None:
    for _ in range(500):
        if sum(line.delivered.values()) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"expected {count} deliveries, got {dict(line.delivered)}")


async def test_evening_reminders_reach_exactly_the_right_people(env):
    deps, ports, line, quota, deliverer = env
    runs = await tick(deps, deliverer, quota, ports.ledger, {"demo": ["ja", "en", "ko"]})
    assert [r.recipients for r in runs] == [2]
    await delivered(line, 2)
    await asyncio.sleep(0.3)
    assert dict(line.delivered) == {("demo", "Ua"): 1, ("demo", "Ud"): 1}
    texts = {r.to[0]: r.messages[0]["text"] for r in line.requests if r.status == 200}
    assert texts["Ua"].startswith("Tomorrow is collection day for: burnable garbage.")
    assert texts["Ud"].startswith("내일은 플라스틱 용기・포장 수거일입니다.")
    assert await tick(deps, deliverer, quota, ports.ledger, {"demo": ["ja", "en", "ko"]}) == []


async def test_exhausted_quota_skips_and_tells_once(env):
    deps, ports, line, quota, deliverer = env
    line.quota_reading = QuotaReading(limit=1000, used=999)
    await quota.state("demo", refresh=True)
    runs = await tick(deps, deliverer, quota, ports.ledger, {"demo": ["ja", "en", "ko"]})
    assert runs[0].skipped and runs[0].jobs == ()
    await asyncio.sleep(0.3)
    assert not line.requests
    room = GarbageRoom(deps)
    ask = Incoming(tenant=tenant("demo"), user_id="Ua", kind="text", webhook_event_id="e", timestamp_ms=0,
                   text="電池", language="en")
    first, again = await room.on_text(ask), await room.on_text(ask)
    assert "message limit was reached" in first[-1]["text"] and len(again) == 1
