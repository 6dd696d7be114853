"""「近くで不審者情報ある？」 answered from the resident's registered places; the scheduler job factory."""

from __future__ import annotations

import datetime as dt

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from pydantic import SecretStr

from alerts.geo import Gazetteer
from alerts.notices.chat import is_nearby_question, nearby
from alerts.notices.config import FeedSourceConfig, ImapSourceConfig, NoticesConfig
from alerts.notices.ingest import schedule_jobs
from alerts.notices.model import JST
from alerts.notices.service import NoticeDeps, RawNotice, process
from alerts.notices.store import MemoryIncidentStore
from alerts.subscriptions import MemorySubscriptionStore, Place, Subscription
from bot.chat import Incoming
from bot.config import Tenant
from broadcasts.jobs import MemoryDeliverer

T = "demo"
G = Gazetteer.load()
NOW = dt.datetime(2026, 11, 21, 9, 0, tzinfo=JST).timestamp()
TENANT = Tenant(id=T, display_name="デモ市", lg_code="27227")


@pytest.fixture
async def deps(samples):
    d = NoticeDeps(gazetteer=G, store=MemoryIncidentStore(), deliverer=MemoryDeliverer(),
                   subscriptions=MemorySubscriptionStore(G), clock=lambda: NOW)
    for name in samples:  # 12th–20th November
        await process(T, RawNotice("imap:t", "大阪府警察", NOW, data=samples[name]), d)
    return d


def _incoming(uid: str, language: str = "ja") -> Incoming:
    return Incoming(tenant=TENANT, user_id=uid, kind="text", webhook_event_id="e", timestamp_ms=0,
                    text="近くで不審者情報ある？", language=language)


async def _places(d, uid, *places, language="ja"):
    await d.subscriptions.save(Subscription(tenant=T, user_id=uid, places=list(places), categories=["crime"], language=language))


async def test_nearby_lists_recent_incidents_near_located_places(deps):
    town = G.find_towns("蒲生一丁目", within="27118")[0]
    await _places(deps, "U1", Place("p1", "学校", "27118", town.lat + 0.004, town.lng))  # ~450 m north
    [msg] = await nearby(_incoming("U1"), deps)
    assert "（1件）" in msg["text"] and "大阪市城東区蒲生一丁目付近" in msg["text"] and "出典：大阪府警察" in msg["text"]
    assert "梅田" not in msg["text"]  # 3.9 km away
    assert msg["quickReply"]["items"]


async def test_whole_municipality_place_matches_every_incident_in_it(deps):
    await _places(deps, "U2", Place("p1", "大阪市", "27100"), language="en")
    deps.config = lambda t: NoticesConfig(nearby_days=10)
    [msg] = await nearby(_incoming("U2", "en"), deps)
    assert msg["text"].startswith("2 report(s) near your places (within 1 km) in the last 10 days")
    assert "Kita Ward, Osaka City" in msg["text"]
    assert "梅田一丁目" in msg["text"] and "蒲生一丁目" in msg["text"] and "南瓦町" not in msg["text"]


async def test_nothing_nearby_and_old_incidents_ignored(deps):
    await _places(deps, "U3", Place("p1", "自宅", "27205", 34.78, 135.52))
    [msg] = await nearby(_incoming("U3"), deps)
    assert msg["text"].startswith("過去7日間、登録地点の近く（1km以内）で不審者情報はありません")
    deps.clock = lambda: NOW + 30 * 86400
    await _places(deps, "U4", Place("p1", "大阪市", "27100"))
    [msg] = await nearby(_incoming("U4"), deps)
    assert "ありません" in msg["text"]


async def test_no_places_asks_to_register(deps):
    [msg] = await nearby(_incoming("U5", "vi"), deps)
    assert "chưa đăng ký" in msg["text"]


@pytest.mark.parametrize(
    "message,expected",
    [("近くで不審者情報ある？", True), ("近くで不審者情報ある?", True), ("声かけの情報を教えて", True),
     ("近くの不審者情報", True), ("ごみの日を教えて", False), ("", False)],
)
def test_is_nearby_question(message, expected):
    assert is_nearby_question(message) is expected


async def test_schedule_jobs_one_job_per_tenant_with_sources():
    configs = {
        "a": NoticesConfig(poll_seconds=120, imap=[ImapSourceConfig(host="127.0.0.1", username="u", password=SecretStr("p"))]),
        "b": NoticesConfig(feeds=[FeedSourceConfig(name="f", url="http://127.0.0.1:1/", source_name="x")], enabled=False),
        "c": NoticesConfig(),
    }
    d = NoticeDeps(gazetteer=G, store=MemoryIncidentStore(), deliverer=MemoryDeliverer(),
                   config=lambda t: configs[t], tenant_ids=("a", "b", "c"))
    scheduler = AsyncIOScheduler()
    assert schedule_jobs(scheduler, d) == ["notices:a"]
    job = scheduler.get_job("notices:a")
    assert job.trigger.interval == dt.timedelta(seconds=120) and job.max_instances == 1
