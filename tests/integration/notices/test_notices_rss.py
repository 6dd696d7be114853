"""The RSS/Atom adapter against a local aiohttp server: entries ingested once, bad feeds reported, not raised."""

from __future__ import annotations

import time
from html import escape

import aiohttp
import pytest
from aiohttp import web

from alerts.geo import Gazetteer
from alerts.notices.config import FeedSourceConfig, NoticesConfig
from alerts.notices.ingest import FeedSource, poll_tenant
from alerts.notices.service import NoticeDeps
from alerts.notices.store import MemoryIncidentStore, RedisIncidentStore
from broadcasts.jobs import MemoryDeliverer

T = "demo"
G = Gazetteer.load()

ITEM_1 = (
    "<p>■子どもに対する声かけ</p><p>11月20日(金)午後5時頃、吹田市江坂町1丁目付近の路上で、下校中の男子児童に対し、"
    "男が「一緒に行こう」等と声をかける事案が発生しました。</p><p>■男の特徴</p><p>40歳位、黒色帽子</p>"
    "<p>■防犯アドバイス</p><p>知らない人について行かないよう教えてください。</p><p>吹田警察署</p>"
)
ITEM_2 = (
    "【豊中市で露出】21日午後4時頃、豊中市上野東2丁目付近の路上で、女子中学生に対して、男が下半身を露出する事案が発生しました。"
    "男は30歳位、黒色ジャンパー。不審者を見かけたら110番通報してください。"
)
RSS = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>防犯情報</title><link>http://127.0.0.1/</link><description>t</description>
<item><title>子どもに対する声かけ（吹田市）</title><guid>n-1</guid><pubDate>Fri, 20 Nov 2026 18:00:00 +0900</pubDate>
<description>{escape(ITEM_1)}</description></item>
<item><title>露出（豊中市）</title><guid>n-2</guid><pubDate>Sat, 21 Nov 2026 17:00:00 +0900</pubDate>
<description>{escape(ITEM_2)}</description></item>
<item><title>防犯教室のお知らせ</title><guid>n-3</guid><pubDate>Sat, 21 Nov 2026 17:00:00 +0900</pubDate>
<description>来週、防犯教室を開きます。</description></item>
</channel></rss>"""
ATOM = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:t</id><updated>2026-11-21T08:00:00Z</updated>
<entry><title>声かけ（吹田市）</title><id>urn:n-1</id><updated>2026-11-20T09:00:00Z</updated>
<content type="html">{escape(ITEM_1)}</content></entry></feed>"""


@pytest.fixture
async def feed_server():
    state = {"status": 200, "body": RSS, "type": "application/rss+xml"}

    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=state["status"], text=state["body"], content_type=state["type"])

    app = web.Application()
    app.router.add_get("/feed", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with aiohttp.ClientSession() as session:
        yield f"http://127.0.0.1:{port}/feed", state, session
    await runner.cleanup()


@pytest.fixture(params=["memory", "redis"])
def deps(request, redis):
    store = MemoryIncidentStore() if request.param == "memory" else RedisIncidentStore(redis)
    return NoticeDeps(gazetteer=G, store=store, deliverer=MemoryDeliverer(), config=lambda t: NoticesConfig(), clock=time.time)


def _source(url, session, **kw) -> FeedSource:
    return FeedSource(FeedSourceConfig(name="suita", url=url, source_name="大阪府警察", **kw), session)


async def test_feed_entries_are_delivered_once(feed_server, deps):
    url, _, session = feed_server
    report = await poll_tenant(T, deps, [_source(url, session)])
    assert (report.handed, report.delivered, report.review, report.errors) == (3, 2, 1, ())
    kinds = sorted((i.kind, i.town) for i in await deps.store.recent(T, 3650))
    assert kinds == [("声かけ", "江坂町一丁目"), ("露出", "上野東二丁目")]
    exposure = next(i for i in await deps.store.recent(T, 3650) if i.kind == "露出")
    assert exposure.occurred_at == "2026-11-21T16:00:00+09:00"  # 「21日」 resolved against the entry's pubDate
    again = await poll_tenant(T, deps, [_source(url, session)])
    assert (again.delivered, again.duplicate) == (0, 3) and len(deps.deliverer.jobs) == 2
    assert len(await deps.store.list_review(T)) == 1


async def test_atom_feed(feed_server, deps):
    url, state, session = feed_server
    state.update(body=ATOM, type="application/atom+xml")
    report = await poll_tenant(T, deps, [_source(url, session)])
    assert report.delivered == 1
    [job] = deps.deliverer.jobs.values()
    assert "吹田市江坂町一丁目" in job.messages["ja"][0]["text"]


@pytest.mark.parametrize(
    "status,body,kw,error",
    [
        (500, "oops", {}, "HTTP 500"),
        (200, "<html><body>not a feed</body></html>", {}, "not a feed"),
        (200, RSS, {"max_bytes": 100}, "larger than"),
    ],
)
async def test_bad_feeds_are_reported_not_raised(feed_server, deps, status, body, kw, error):
    url, state, session = feed_server
    state.update(status=status, body=body, type="text/html")
    report = await poll_tenant(T, deps, [_source(url, session, **kw)])
    assert report.handed == 0 and len(report.errors) == 1 and error in report.errors[0]


async def test_unreachable_feed_is_reported(deps):
    async with aiohttp.ClientSession() as session:
        report = await poll_tenant(T, deps, [_source("http://127.0.0.1:9/feed", session, timeout_s=2)])
    assert report.errors and "rss:suita" in report.errors[0]


async def test_scheduled_job_polls_the_tenants_feed(feed_server, redis):
    import asyncio

    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from alerts.notices.ingest import schedule_jobs

    url, _, _ = feed_server
    cfg = NoticesConfig(poll_seconds=3600, feeds=[FeedSourceConfig(name="suita", url=url, source_name="大阪府警察")])
    deps = NoticeDeps(gazetteer=G, store=RedisIncidentStore(redis), deliverer=MemoryDeliverer(), config=lambda t: cfg,
                      tenant_ids=(T,))
    scheduler = AsyncIOScheduler()
    assert schedule_jobs(scheduler, deps) == [f"notices:{T}"]
    scheduler.start()
    try:
        async with asyncio.timeout(20):
            while len(deps.deliverer.jobs) < 2:
                await asyncio.sleep(0.05)
    finally:
        scheduler.shutdown(wait=False)
    assert len(await deps.store.list_review(T)) == 1
