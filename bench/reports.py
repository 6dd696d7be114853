"""通報: the duplicate lookup among N open reports (default 100,000) and Open311 ``requests.json`` over 10,000.

Measured on an embedded Redis of its own, through the real code:
* ``duplicate``  — ``reports.service.find_duplicate`` (GEOSEARCH 30 m on the category's open set, then the nearest
  report read back and checked): what runs when a resident sends the location of a report;
* ``requests``   — GET ``/open311/v2/{t}/requests.json`` over HTTP (aiohttp server in this process, the real app):
  the default page (1,000 newest of 10,000) and the whole 10,000 (page size raised), status/blur/labels included.
Baselines in the same run, on the same data:
* ``GEOSEARCH`` — the raw GEOSEARCH command alone (the floor of ``duplicate``);
* ``HMGET``     — HMGET of the same public summaries, not parsed (the storage floor of ``requests``);
* ``MGET``      — MGET of the full report documents + ``json.loads`` (what a listing without summaries would pay);
* ``static``    — the same HTTP server answering a precomputed response body of the same size (HTTP + transfer floor);
``requests.json`` is measured cold (a fresh ``PublicRows`` memo: every row rendered) and with the rows of the previous
poll memoized (what a polling client meets).
* ``old path``  — the listing as it was before the one-call listing and the direct renderer (ids by ZREVRANGEBYSCORE,
  HMGET in chunks, a dict per row through ``public_request``, ``web.json_response``), served by the same server;
  its body is checked to be byte-for-byte the new one.
Targets: duplicate p95 ≤ 20 ms at N = 100,000; requests.json for 10,000 reports ≤ 200 ms.

Load shape: reports spread uniformly over a 20 × 20 km box on 大阪市 (8 categories, all open), written with
``RedisReportStore.import_many`` in chunks of 2,000; lookups at random points in the same box, half of them placed
within 20 m of an existing report (so a duplicate is found), half anywhere.

    .venv/bin/python bench/reports.py [--n 100000] [--requests 10000] [--repeat 200]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.redis_server import embedded_redis  # noqa: E402
from reports.config import DEFAULT_CATEGORIES, ReportsConfig  # noqa: E402
from reports.model import Report  # noqa: E402
from reports.open311 import Labels, Open311Deps, PublicRows, create_app, public_request  # noqa: E402
from reports.service import find_duplicate  # noqa: E402
from reports.store import MemoryApiKeyStore, RedisDraftStore, RedisReportStore  # noqa: E402
from reports.testing import demo_tenant, make_deps  # noqa: E402

CATS = [c["id"] for c in DEFAULT_CATEGORIES]
SOUTH, WEST = 34.58, 135.40
SPAN_LAT, SPAN_LNG = 0.18, 0.22  # ≈ 20 × 20 km


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def line(name: str, ms: list[float]) -> str:
    return f"{name:<34} p50 {statistics.median(ms):7.2f} ms   p95 {pct(ms, 95):7.2f} ms   (n={len(ms)})"


def synthetic(tenant: str, n: int, rng: random.Random, now: float) -> list[Report]:
    return [
        Report(
            tenant=tenant, id=f"R{i + 1:06d}", category=CATS[i % len(CATS)], lat=SOUTH + rng.random() * SPAN_LAT,
            lng=WEST + rng.random() * SPAN_LNG, created_at=now - rng.random() * 80 * 86400, reporter=f"U{i:032x}",
            address="大阪市北区梅田一丁目", department="road", comment="synthetic",
        )
        for i in range(n)
    ]


async def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def main(n: int, n_requests: int, repeat: int) -> None:
    rng = random.Random(18)
    with tempfile.TemporaryDirectory() as tmp, embedded_redis(Path(tmp), appendonly=False) as handle:
        client = aioredis.Redis.from_url(handle.url, decode_responses=True)
        store = RedisReportStore(client)
        now = time.time()
        t0 = time.perf_counter()
        big = synthetic("bench", n, rng, now)
        await store.import_many(big)
        print(f"loaded {n:,} open reports in {time.perf_counter() - t0:.1f} s")
        deps, _, _ = make_deps(config=ReportsConfig())
        deps.reports, deps.drafts = store, RedisDraftStore(client)
        deps.configs = {"bench": ReportsConfig(), "b10k": ReportsConfig()}

        points = []
        for i in range(repeat):
            if i % 2:
                r = big[rng.randrange(n)]
                points.append((r.category, r.lat + 0.00012, r.lng))
            else:
                points.append((CATS[i % len(CATS)], SOUTH + rng.random() * SPAN_LAT, WEST + rng.random() * SPAN_LNG))
        # the loader's 100,000 Report objects are not what a web process holds: drop them, or every garbage
        # collection during the listings below walks them (it tripled both the old and the new path's times)
        del big
        gc.collect()
        it = iter(points * 2)
        found = 0

        async def dup() -> None:
            nonlocal found
            cat, lat, lng = next(it)
            found += await find_duplicate(deps, "bench", cat, lat, lng) is not None

        it_raw = iter(points * 2)

        async def raw() -> None:
            cat, lat, lng = next(it_raw)
            await client.geosearch(f"cb:{{bench}}:reports:open:{cat}", longitude=lng, latitude=lat, radius=30, unit="m", withdist=True, sort="ASC")

        await timed(raw, 20)
        base = await timed(raw, repeat)
        got = await timed(dup, repeat)
        print(f"\nduplicate lookup among {n:,} open reports ({found} of {repeat} found one)")
        print(line("baseline: raw GEOSEARCH 30 m", base))
        print(line("find_duplicate", got) + f"   ratio p95 {pct(got, 95) / max(pct(base, 95), 1e-9):.1f}x   target p95 ≤ 20 ms")

        # ---- Open311 requests.json over n_requests reports
        await store.import_many(synthetic("b10k", n_requests, rng, now))
        tenants = {"bench": demo_tenant(), "b10k": demo_tenant()}
        app = web.Application()
        o311 = Open311Deps(reports=deps, keys=MemoryApiKeyStore(), tenants=tenants, base_url="https://x")
        app.add_subapp("/open311/v2", create_app(o311))
        static_body: dict[str, bytes] = {}

        async def static(request: web.Request) -> web.Response:
            return web.Response(body=static_body[request.query["size"]], content_type="application/json")

        async def old_path(request: web.Request) -> web.Response:
            """requests.json without filters as the code answered it before (same store, same labels)."""
            labels = Labels(o311, "b10k", "https://x")
            page = deps.config("b10k").open311_page_size
            ids = await store.ids("b10k", time.time() - 90 * 86400, time.time())
            out = []
            for i in range(0, min(page, len(ids)), 2000):
                for summary in await store.summaries("b10k", ids[i : min(i + 2000, page)]):
                    if summary is not None:
                        out.append(public_request(summary, labels))
            return web.json_response(out)

        app.router.add_get("/static", static)
        app.router.add_get("/old", old_path)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}"
        ids = await store.ids("b10k")
        async with aiohttp.ClientSession() as http:
            for label, page in (("default page (1,000 newest)", 1000), (f"all {n_requests:,}", n_requests)):
                deps.configs["b10k"] = ReportsConfig(open311_page_size=page)
                async with http.get(f"{url}/open311/v2/b10k/requests.json") as r:
                    body = await r.read()
                    assert r.status == 200 and len(json.loads(body)) == min(page, n_requests)
                static_body[str(page)] = body
                async with http.get(f"{url}/old") as r:
                    assert await r.read() == body, "the old path and requests.json differ"

                async def real() -> None:
                    async with http.get(f"{url}/open311/v2/b10k/requests.json") as r:
                        await r.read()

                async def old() -> None:
                    async with http.get(f"{url}/old") as r:
                        await r.read()

                async def stat(page: int = page) -> None:
                    async with http.get(f"{url}/static?size={page}") as r:
                        await r.read()

                wanted = ids[:page]

                async def mget(wanted: list[str] = wanted) -> None:
                    for i in range(0, len(wanted), 2000):
                        raws = await client.mget([f"cb:{{b10k}}:reports:r:{x}" for x in wanted[i : i + 2000]])
                        [json.loads(x) for x in raws]

                async def hmget(wanted: list[str] = wanted) -> None:
                    for i in range(0, len(wanted), 2000):
                        await client.hmget("cb:{b10k}:reports:sum", wanted[i : i + 2000])

                reps = max(10, repeat // 10)
                await timed(real, 3)
                b_static, b_hmget, b_mget = await timed(stat, reps), await timed(hmget, reps), await timed(mget, reps)
                b_old, cold, got = [], [], []
                for _ in range(reps):  # interleaved, so load on the machine hits all alike
                    b_old += await timed(old, 1)
                    o311.rows = PublicRows()  # no row rendered yet: every row written (a restart, or all changed)
                    cold += await timed(real, 1)
                    got += await timed(real, 1)
                floor = pct(b_static, 50) + pct(b_hmget, 50)
                print(f"\nrequests.json over {n_requests:,} reports, {label}: {len(body) / 1024:.0f} KiB")
                print(line("baseline: static body over HTTP", b_static))
                print(line("baseline: HMGET summaries (raw)", b_hmget))
                print(line("reference: MGET docs + json.loads", b_mget))
                print(line("baseline: old path (same body)", b_old))
                for name, ms in (("requests.json, cold (no row memo)", cold), ("requests.json, rows memoized", got)):
                    print(line(name, ms) + f"   p50 {pct(ms, 50) / max(floor, 1e-9):.1f}x the floor (static + HMGET), "
                          f"{pct(b_old, 50) / max(pct(ms, 50), 1e-9):.1f}x faster than the old path   target ≤ 200 ms")
        await runner.cleanup()
        await client.aclose()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args()
    asyncio.run(main(args.n, args.requests, args.repeat))
