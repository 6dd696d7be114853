"""Alert latency: the poll that sees a new JMA entry → the first push request, against a baseline.

    .venv/bin/python bench/alerts_latency.py [-n 20] [--subscribers 20000]

Everything real except LINE: embedded Redis, the mock JMA feed server over HTTP (127.0.0.1), the feed poller
(conditional GET, seen-set, telegram fetch), parsing, change detection, message rendering in 6 languages, the
Redis subscription store and audience. The deliverer stands in for the delivery engine: on ``submit`` it resolves
the job's audience and builds the first multicast request (≤500 ids) — the moment the first push request would
leave. Each iteration publishes a new earthquake (震源・震度情報, new EventID) reaching a third of the subscribers. Baseline (same run): one poll cycle that gets 304 Not Modified for both feeds.
Target: ≤ 1 s from the poll to the first push request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis.asyncio as aioredis  # noqa: E402
from aiohttp import web  # noqa: E402

from alerts.feeds import FeedConfig, JmaFeedPoller, RedisSeenStore, telegram_handler  # noqa: E402
from alerts.geo import Gazetteer  # noqa: E402
from alerts.mockfeed import MockFeed, make_app  # noqa: E402
from alerts.service import AlertDeps, RedisAlertLedger  # noqa: E402
from alerts.subscriptions import Place, RedisSubscriptionStore, Subscription, SubscriptionAudience  # noqa: E402
from bot.redis_server import embedded_redis  # noqa: E402
from bot.users import RedisUserStore, User  # noqa: E402
from broadcasts.jobs import DeliveryJob  # noqa: E402

FIX = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "jmx" / "osaka_VXSE53_5plus.xml"


class FirstPushDeliverer:
    def __init__(self, audience: SubscriptionAudience) -> None:
        self.audience = audience
        self.first_push: float | None = None
        self.recipients = 0

    async def submit(self, job: DeliveryJob) -> str:
        batch = []
        async for r in self.audience.resolve(job.audience):
            batch.append(r.user_id)
            self.recipients += 1
            if len(batch) == 500:
                break
        if batch and self.first_push is None:
            json.dumps({"to": batch, "messages": job.messages["ja"]})  # the multicast request body
            self.first_push = time.perf_counter()
        return job.source_id


async def run(url: str, n: int, subscribers: int) -> None:
    r = aioredis.Redis.from_url(url, decode_responses=True)
    await r.flushdb()
    g = Gazetteer.load()
    store, users = RedisSubscriptionStore(r, g), RedisUserStore(r)
    for i in range(subscribers):
        uid = f"U{i:032x}"
        await users.save(User(tenant="demo", user_id=uid))
        await store.save(Subscription("demo", uid, places=[Place("p1", "自宅", ("27205", "27104", "27207")[i % 3])]))
    audience = SubscriptionAudience(store, users, g)
    feed = MockFeed()
    runner = web.AppRunner(make_app(feed), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    feed.base_url = f"http://127.0.0.1:{port}"
    deliverer = FirstPushDeliverer(audience)
    deps = AlertDeps(deliverer, g, RedisAlertLedger(r), tenants=lambda: ["demo"])
    poller = JmaFeedPoller(FeedConfig(base_url=feed.base_url + "/developer/xml/feed/"), RedisSeenStore(r), telegram_handler(deps))
    await poller.poll_once()  # warm: validators, connections
    template = FIX.read_text(encoding="utf-8")
    base, lat = [], []
    for i in range(n):
        t = time.perf_counter()
        await poller.poll_once()
        base.append((time.perf_counter() - t) * 1000)
        feed.publish(template.replace("20260703075800", f"2026070308{i:04d}").encode())  # a new earthquake each time
        deliverer.first_push = None
        t = time.perf_counter()
        stats = await poller.poll_once()
        assert stats.fetched == 1 and deliverer.first_push is not None, stats
        lat.append((deliverer.first_push - t) * 1000)
    await poller.close()
    await runner.cleanup()
    b, m = statistics.median(base), statistics.median(lat)
    print(f"subscribers {subscribers:,}  iterations {n}  recipients resolved {deliverer.recipients:,}")
    print(f"baseline poll (304 ×2)        median {b:7.1f} ms")
    print(f"poll → first push request     median {m:7.1f} ms  p90 {sorted(lat)[int(0.9 * len(lat))]:7.1f} ms  max {max(lat):7.1f} ms  ({m / b:.1f}× baseline)")
    await r.flushdb()
    await r.aclose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("--subscribers", type=int, default=3000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, embedded_redis(tmp, appendonly=False) as handle:
        asyncio.run(run(handle.url, args.n, args.subscribers))


if __name__ == "__main__":
    main()
