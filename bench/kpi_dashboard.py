"""KPI dashboard cost: the prefecture-wide page over a year, and the cost of recording one event.

    .venv/bin/python bench/kpi_dashboard.py [--tenants 43] [--days 365]

Embedded Redis with a year of daily hashes for every tenant (written directly, ~40 fields each). Measured:
* read: ``recorder.days`` for every tenant (the Redis round trips alone) — the baseline;
* aggregate: ``period_view`` over what was read (publishing every tenant-day with suppression);
* page: GET /dashboard?period=365d over HTTP, cold (cache empty), with only today re-read, and fully cached;
* open data: GET /opendata/daily.csv (all tenants, 365 days);
* record: ``message_received`` (one pipeline round trip) vs a bare PING.
Prints figures and ratios; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis.asyncio as aioredis  # noqa: E402
from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from bot.redis_server import embedded_redis  # noqa: E402
from kpi import recorder as R  # noqa: E402
from kpi.aggregate import period_view  # noqa: E402
from kpi.geo import Gazetteer  # noqa: E402
from kpi.recorder import RedisKpiRecorder, date_range  # noqa: E402
from kpi.web import KpiWebDeps, setup  # noqa: E402
from tests.helpers import tenant  # noqa: E402


async def seed(client: aioredis.Redis, tenant_ids: list[str], days: list[dt.date]) -> None:
    rng = random.Random(3)
    for tid in tenant_ids:
        scale = rng.uniform(0.02, 3.0)
        async with client.pipeline(transaction=False) as pipe:
            for d in days:
                fields = {m: int(rng.uniform(0, 200) * scale) for m in (R.MESSAGES, R.FAQ_ANSWERED, R.FAQ_RESOLVED, R.FAQ_UP, R.FAQ_DOWN)}
                fields.update({f"{R.CONSULT_OPENED}|{c}": int(rng.uniform(0, 6) * scale) for c in ("dv", "child", "living", "general")})
                fields[R.CONSULT_OPENED] = sum(v for k, v in fields.items() if k.startswith(R.CONSULT_OPENED + "|"))
                fields.update({f"h:{R.WAIT}|{i}": rng.randint(0, 3) for i in range(5, 15)})
                pipe.hset(RedisKpiRecorder.day_key(tid, d), mapping=fields)
                snap = {R.SNAP_FRIENDS: int(3000 * scale), R.SNAP_SUBSCRIBERS: int(2000 * scale)}
                snap.update({f"{R.SNAP_LANGUAGE}|{lang}": int(500 * scale) for lang in ("ja", "en", "vi")})
                pipe.hset(RedisKpiRecorder.snap_key(tid, d), mapping=snap)
            await pipe.execute()


async def timed(fn, n: int = 5) -> float:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


async def main(n_tenants: int, n_days: int) -> None:
    gaz = Gazetteer.load()
    codes = [p.jis5 for p in gaz.municipalities][:n_tenants]
    tenants = {f"t{c}": tenant(f"t{c}", display_name=gaz.name(c), lg_code=c) for c in codes}
    with tempfile.TemporaryDirectory() as tmp, embedded_redis(Path(tmp), appendonly=False) as handle:
        client = aioredis.Redis.from_url(handle.url, decode_responses=True)
        today = dt.date.today()
        days = date_range(today, n_days)
        await seed(client, list(tenants), days)
        rec = RedisKpiRecorder(client)

        async def read():
            return {t: await rec.days(t, days) for t in tenants}

        raw = await read()
        t_read = await timed(read, 3)
        t_agg = await timed(lambda: asyncio.sleep(0, period_view("all", "365d", raw)), 3)
        deps = KpiWebDeps(recorder=rec, tenants=tenants)
        app = web.Application()
        setup(app, deps)
        async with TestClient(TestServer(app)) as http:

            async def page():
                deps._cache.clear()
                r = await http.get("/dashboard?period=365d")
                await r.read()

            async def warm():
                r = await http.get("/dashboard?period=365d")
                await r.read()

            async def minute():  # the per-minute refresh: past days cached, today re-read
                for k in [k for k in deps._cache if k[0] == "today"]:
                    del deps._cache[k]
                r = await http.get("/dashboard?period=365d")
                await r.read()

            async def csv():
                deps._cache.clear()
                r = await http.get("/opendata/daily.csv")
                return await r.read()

            t_page = await timed(page, 3)
            await warm()
            t_warm = await timed(warm, 10)
            t_minute = await timed(minute, 5)
            t_csv = await timed(csv, 3)
            size = len(await csv())
        t_ping = await timed(client.ping, 200)
        t_rec = await timed(lambda: rec.message_received("t27100"), 200)
        await client.aclose()
    cells = n_tenants * n_days
    print(f"tenants={n_tenants} days={n_days} tenant-days={cells}")
    print(f"read (baseline, Redis only)   {t_read * 1000:8.1f} ms")
    print(f"aggregate (publish + sums)    {t_agg * 1000:8.1f} ms   ratio to read {t_agg / t_read:5.2f}")
    print(f"GET /dashboard 365d cold      {t_page * 1000:8.1f} ms   ratio to read {t_page / t_read:5.2f}")
    print(f"GET /dashboard 365d today re-read {t_minute * 1000:5.1f} ms   (past days cached; every cache_seconds)")
    print(f"GET /dashboard 365d cached    {t_warm * 1000:8.1f} ms")
    print(f"GET /opendata/daily.csv cold  {t_csv * 1000:8.1f} ms   {size / 1024:.0f} KiB")
    print(f"record one event              {t_rec * 1e6:8.0f} µs   ratio to PING {t_rec / t_ping:5.2f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--tenants", type=int, default=43)
    ap.add_argument("--days", type=int, default=365)
    a = ap.parse_args()
    asyncio.run(main(a.tenants, a.days))
