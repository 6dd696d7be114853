"""Fan-out benchmark (issue 8, "Benchmark (bench/fanout)"): N synthetic subscribers, one alert to all of them.

    .venv/bin/python bench/fanout.py [--count 1000000] [--limit 200] [--concurrency 32] [--skip-emulator]

Everything runs on this machine and talks only to 127.0.0.1: an embedded Redis (temp dir), two LINE stand-ins in
child processes, and one delivery worker process at a time (``python -m app.delivery_worker``, line-bot-sdk inside):

* the project's LINE emulator (validates every request, keeps a ledger with one entry per request: ~0.5 ms CPU
  per 500-id multicast, so it shares the 2 cores with the worker but no longer sets the pace);
* a bare aiohttp app (``--serve-standin``) that only parses the body, counts ids, answers 409 to a repeated
  ``X-Line-Retry-Key`` and 429 above its token-bucket rate: it measures the engine rather than the emulator.

Figures: (a) throttled at LINE's multicast limit → achieved rate as a fraction of the limit; (b) unthrottled →
recipients/s from one worker process; (c) Redis memory per subscriber (INFO used_memory delta / N); (d) audience
resolution time (``alerts.SubscriptionAudience``) for one municipality and for a 1 km radius. Baselines, measured in
the same run: a naive sequential multicast loop (line-bot-sdk, 500 ids per call, no retry keys, no Redis) for (a)/(b);
the bare id set for (c); the raw BITOP/BITCOUNT or GEOSEARCH alone (no active/language filter, no ids shipped) for (d).

Seeding: the first ``--api-seed`` subscribers go through ``RedisUserStore.save`` and ``RedisSubscriptionStore.save``,
the rest through their ``import_many`` (checked: a sample of bulk-written subscribers reads back through both stores'
``get``, and the audience counts equal what was seeded).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._common import cpu_seconds, wait_http  # noqa: E402
from tests.system import free_port  # noqa: E402

TENANT = "bench"
TOKEN = "bench-token"  # the stand-ins' channel token for the synthetic tenant (not a secret)
LANG_MIX = ("ja",) * 17 + ("en", "zh-Hans", "ko")  # 85 % Japanese


# --- the bare LINE stand-in (child process) -------------------------------------------------------------------


def serve_standin(port: int) -> None:
    """LINE's multicast/push as cheaply as possible: count ids, dedupe retry keys, optional 429 above a rate."""
    from aiohttp import web

    state = {"deliveries": 0, "unique": set(), "keys": set(), "rate": 0.0, "tokens": 0.0, "t": time.monotonic(),
             "throttled": 0}

    def take() -> bool:
        rate = state["rate"]
        if not rate:
            return True
        now = time.monotonic()
        state["tokens"] = min(max(1.0, rate), state["tokens"] + (now - state["t"]) * rate)  # as the emulator
        state["t"] = now
        if state["tokens"] >= 1.0:
            state["tokens"] -= 1.0
            return True
        state["throttled"] += 1
        return False

    async def send(request: web.Request) -> web.Response:
        if not take():
            return web.json_response({"message": "Too many requests"}, status=429)
        body = json.loads(await request.read())
        key = request.headers.get("X-Line-Retry-Key")
        if key:
            if key in state["keys"]:
                return web.json_response({"message": "The retry key is already accepted", "sentMessages": []},
                                         status=409, headers={"x-line-accepted-request-id": key})
            state["keys"].add(key)
        to = body["to"] if isinstance(body["to"], list) else [body["to"]]
        state["deliveries"] += len(to)
        state["unique"].update(to)
        return web.json_response({"sentMessages": [{"id": "1", "quoteToken": "q"}]})

    async def quota(_: web.Request) -> web.Response:
        return web.json_response({"type": "none"})

    async def consumption(_: web.Request) -> web.Response:
        return web.json_response({"totalUsage": 0})

    async def stats(_: web.Request) -> web.Response:
        d, u = state["deliveries"], len(state["unique"])
        return web.json_response({"deliveries": d, "unique_recipients": u, "duplicates": d - u,
                                  "throttled": state["throttled"]})

    async def reset(_: web.Request) -> web.Response:
        state.update(deliveries=0, unique=set(), keys=set(), throttled=0)
        return web.json_response({})

    async def config(request: web.Request) -> web.Response:
        state["rate"] = float((await request.json()).get("rate_limits", {}).get("multicast", 0) or 0)
        state["tokens"], state["t"] = max(1.0, state["rate"]), time.monotonic()
        return web.json_response({})

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.add_routes([
        web.post("/v2/bot/message/multicast", send), web.post("/v2/bot/message/push", send),
        web.get("/v2/bot/message/quota", quota), web.get("/v2/bot/message/quota/consumption", consumption),
        web.get("/_emulator/stats", stats), web.post("/_emulator/reset", reset), web.post("/_emulator/config", config),
    ])
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def serve_emulator(port: int) -> None:
    """Child process: the project's LINE emulator with the synthetic tenant."""
    from aiohttp import web
    from pydantic import SecretStr

    from bot.config import Tenant
    from emulator.app import create_app

    tenants = {TENANT: Tenant(id=TENANT, display_name="ベンチ市", lg_code="27100", channel_token=SecretStr(TOKEN))}
    web.run_app(create_app(tenants, "http://127.0.0.1:9"), host="127.0.0.1", port=port, access_log=None, print=None)


# --- helpers ----------------------------------------------------------------------------------------------------


async def call(url: str, method: str, path: str, body: dict | None = None) -> dict:
    async with aiohttp.ClientSession() as s, s.request(method, url + path, json=body) as r:
        return await r.json()


def redis_url_of(client: aioredis.Redis) -> str:
    kw = client.connection_pool.connection_kwargs
    return f"redis://{kw['host']}:{kw['port']}/{kw.get('db', 0)}"


# --- seeding ----------------------------------------------------------------------------------------------------


def leaf_units(gazetteer) -> list:
    """Wards and municipalities without wards: the finest unit a resident's place is registered under."""
    return [m for m in gazetteer.municipalities(wards=True) if not gazetteer.wards_of(m.jis5)]


def plan_subscriber(i: int, units: list, rnd: random.Random) -> tuple[str, object, float, float]:
    unit = units[i % len(units)]
    lat = unit.lat + rnd.gauss(0.0, 0.01)  # σ ≈ 1.1 km around the unit's centroid
    lng = unit.lng + rnd.gauss(0.0, 0.012)
    return LANG_MIX[i % len(LANG_MIX)], unit, round(lat, 6), round(lng, 6)


def make_subscription(uid: str, lang: str, unit, lat: float, lng: float):
    from alerts.subscriptions import Place, Subscription

    return Subscription(tenant=TENANT, user_id=uid, places=[Place(id="p1", name="自宅", code=unit.jis5, lat=lat, lng=lng)],
                        language=lang, updated_at=1_780_000_000.0)


async def seed(client: aioredis.Redis, gazetteer, count: int, api_count: int, *, subscriptions: bool) -> dict:
    """Friends and, with ``subscriptions``, one alerts subscription each (自宅 with a point, default categories).

    The first ``api_count`` go through ``save`` of both stores (one resident at a time, as the bot does), the rest
    through the stores' ``import_many`` in chunks of 5,000 — the same records and bits, fewer round trips."""
    from alerts.subscriptions import RedisSubscriptionStore
    from bot.users import RedisUserStore, User
    from broadcasts.service import synthetic_user_id

    users, subs = RedisUserStore(client), RedisSubscriptionStore(client, gazetteer)
    units = leaf_units(gazetteer)
    rnd = random.Random(8)
    per_unit: dict[str, int] = defaultdict(int)
    now = 1_780_000_000.0
    sem = asyncio.Semaphore(64)

    def user(i: int, lang: str) -> User:
        return User(tenant=TENANT, user_id=synthetic_user_id(TENANT, i), language=lang, display_name=f"合成ユーザー{i}",
                    followed_at=now, synthetic=True)

    async def via_api(i: int) -> None:
        lang, unit, lat, lng = plan_subscriber(i, units, rnd)
        per_unit[unit.jis5] += 1
        async with sem:
            if subscriptions:
                await subs.save(make_subscription(synthetic_user_id(TENANT, i), lang, unit, lat, lng))
            else:
                await users.save(user(i, lang))

    api_count = min(api_count, count)
    await asyncio.gather(*(via_api(i) for i in range(api_count)))
    for lo in range(api_count, count, 5000):
        plans = [(i, *plan_subscriber(i, units, rnd)) for i in range(lo, min(lo + 5000, count))]
        for _, _, unit, _, _ in plans:
            per_unit[unit.jis5] += 1
        if subscriptions:  # friends first (their own memory figure), subscriptions in a second pass
            await subs.import_many([make_subscription(synthetic_user_id(TENANT, i), lang, unit, lat, lng)
                                    for i, lang, unit, lat, lng in plans])
        else:
            await users.import_many([user(i, lang) for i, lang, _, _, _ in plans])
    if count > api_count:  # bulk-written residents read back through the stores like the others
        for i in rnd.sample(range(api_count, count), min(20, count - api_count)):
            uid = synthetic_user_id(TENANT, i)
            got, friend = await subs.get(TENANT, uid), await users.get(TENANT, uid)
            assert friend is not None and friend.active and friend.synthetic, (uid, friend)
            if subscriptions:
                assert got is not None and got.places[0].code == units[i % len(units)].jis5, (uid, got)
    return dict(per_unit)


async def bare_id_set(client: aioredis.Redis) -> int:
    """Baseline for (c): bytes of a plain Redis set holding just the friends' ids (what one id set per user costs)."""
    from bot.users import RedisUserStore

    key = "bench:bare-ids"
    batch: list[str] = []
    async for uid in RedisUserStore(client).active_ids(TENANT):
        batch.append(uid)
        if len(batch) >= 10_000:
            await client.sadd(key, *batch)
            batch = []
    if batch:
        await client.sadd(key, *batch)
    try:
        return int(await client.memory_usage(key, samples=0) or 0)
    finally:
        await client.delete(key)


# --- delivery runs ----------------------------------------------------------------------------------------------


def start_worker(redis_url: str, line_url: str, rate: float, concurrency: int, fast: bool) -> subprocess.Popen:
    args = [sys.executable, "-m", "app.delivery_worker", "--redis-url", redis_url, "--line-url", line_url,
            "--tenant", TENANT, "--concurrency", str(concurrency), "--name", "fanout", "--rate", f"multicast={rate}"]
    if fast:
        args.append("--fast-multicast")
    p = subprocess.Popen(args, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    p.stdin.write(json.dumps({TENANT: TOKEN}) + "\n")
    p.stdin.close()
    p.stdout.readline()  # "worker ready"
    return p


def stop(p: subprocess.Popen) -> None:
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


async def engine_run(client, line_url: str, server_pid: int, rate: float, concurrency: int, fast: bool,
                     label: str) -> dict:
    """One alert (emergency lane, all friends) through one worker process; the server's ledger is the judge."""
    from broadcasts.audience import AudienceQuery
    from broadcasts.engine import RedisDeliverer
    from broadcasts.jobs import DeliveryJob
    from broadcasts.store import Keys

    await call(line_url, "POST", "/_emulator/reset")
    worker = start_worker(redis_url_of(client), line_url, rate, concurrency, fast)
    cpu_w, cpu_s = cpu_seconds(worker.pid), cpu_seconds(server_pid)
    try:
        deliverer = RedisDeliverer(client)
        job_id = await deliverer.submit(DeliveryJob(
            tenant=TENANT, audience=AudienceQuery(tenant=TENANT, all_friends=True),
            messages={"ja": [{"type": "text", "text": f"【大津波警報】ベンチマーク {label}"}]},
            priority="emergency", title=f"fanout {label}"))
        while (st := await deliverer.status(job_id)) is None or st.state != "done":
            await asyncio.sleep(0.05)
        cpu_w, cpu_s = cpu_seconds(worker.pid) - cpu_w, cpu_seconds(server_pid) - cpu_s
    finally:
        stop(worker)
    async with client.pipeline(transaction=False) as pipe:
        for n in range(st.batches):
            pipe.hget(Keys(TENANT).batch(job_id, n), "attempts")
        attempts = sum(int(a or 0) for a in await pipe.execute())
    stats = await call(line_url, "GET", "/_emulator/stats")
    span = st.last_send_at - st.created_at
    return {"label": label, "sent": st.sent, "failed": st.failed, "batches": st.batches, "calls": attempts,
            "first": st.first_send_at - st.created_at, "span": span, "sending": st.last_send_at - st.first_send_at,
            "rate": st.sent / span, "cpu_worker": cpu_w, "cpu_server": cpu_s, **stats}


async def naive_run(client, line_url: str, server_pid: int, label: str) -> dict:
    """Baseline: read every active id, then multicast 500 at a time, one call after another (no keys, no retry)."""
    from linebot.v3.messaging import (
        AsyncApiClient,
        AsyncMessagingApi,
        Configuration,
        MulticastRequest,
    )
    from linebot.v3.messaging.exceptions import ApiException

    from bot.users import RedisUserStore

    await call(line_url, "POST", "/_emulator/reset")
    cpu_s = cpu_seconds(server_pid)
    t0 = time.monotonic()
    ids = [uid async for uid in RedisUserStore(client).active_ids(TENANT)]
    errors = calls = 0
    async with AsyncApiClient(Configuration(host=line_url, access_token=TOKEN)) as api_client:
        api = AsyncMessagingApi(api_client)
        for i in range(0, len(ids), 500):
            req = MulticastRequest.from_dict({"to": ids[i : i + 500], "messages": [{"type": "text", "text": label}]})
            calls += 1
            try:
                await api.multicast(req)
            except ApiException:
                errors += 1  # a naive loop loses the batch (or, retrying without a key, risks duplicates)
    span = time.monotonic() - t0
    stats = await call(line_url, "GET", "/_emulator/stats")
    return {"label": label, "sent": stats["unique_recipients"], "failed": errors, "batches": calls, "calls": calls,
            "first": float("nan"), "span": span, "sending": span, "rate": stats["unique_recipients"] / span,
            "cpu_worker": float("nan"), "cpu_server": cpu_seconds(server_pid) - cpu_s, **stats}


def show(row: dict, limit: float | None = None) -> None:
    line = (f"  {row['label']:<44} sent {row['sent']:>8} failed {row['failed']:>5}  last at {row['span']:7.2f}s"
            f"  {row['rate']:>9,.0f} recipients/s  ledger: deliveries {row['deliveries']} unique"
            f" {row['unique_recipients']} duplicates {row['duplicates']}")
    if limit:
        ideal = row["batches"] / limit
        line += f"\n    {row['batches'] / row['span']:.1f} multicast/s from submit = {ideal / row['span']:.3f} of the limit"
        if row["sending"] > 0 and row["batches"] > 1:
            line += f" ({(row['batches'] - 1) / row['sending']:.1f}/s = {(row['batches'] - 1) / row['sending'] / limit:.3f} between first and last send)"
    line += (f"\n    {row['batches']} batches, {row['calls']} LINE calls, first send at {row['first']:.3f}s;"
             f" CPU: worker {row['cpu_worker']:.1f}s, LINE side {row['cpu_server']:.1f}s")
    print(line, flush=True)


# --- audience resolution ------------------------------------------------------------------------------------------


async def timed_resolve(audience, query) -> tuple[int, float, float]:
    t0 = time.monotonic()
    first = None
    n = 0
    async for _ in audience.resolve(query):
        if first is None:
            first = time.monotonic() - t0
        n += 1
    return n, first or 0.0, time.monotonic() - t0


async def audience_figures(client, gazetteer, per_unit: dict[str, int]) -> None:
    from alerts.categories import RAIN_FLOOD
    from alerts.geo import haversine_m
    from alerts.subscriptions import (
        RedisSubscriptionStore,
        SubscriptionAudience,
        area_keys_for_query,
    )
    from bot.users import RedisUserStore
    from broadcasts.audience import AudienceQuery

    store = RedisSubscriptionStore(client, gazetteer)
    audience = SubscriptionAudience(store, RedisUserStore(client), gazetteer)
    k = RedisSubscriptionStore._k
    big = gazetteer.get("27100")  # 大阪市: 24 wards, the largest audience a municipality query can have
    small = gazetteer.get("27205")  # 吹田市: a typical city
    print("(d) audience resolution (SubscriptionAudience, emergency: quiet hours ignored; baseline = one raw Redis call):")
    for m in (small, big):
        expected = sum(v for code, v in per_unit.items() if code == m.jis5 or gazetteer.get(code).parent == m.jis5)
        q = AudienceQuery(tenant=TENANT, area_codes=(m.jis5,), categories=(RAIN_FLOOD,), ignore_quiet_hours=True)
        n, first, took = await timed_resolve(audience, q)
        areas = [k(TENANT, f"b:{a}") for a in area_keys_for_query((m.jis5,), gazetteer)]
        t0 = time.monotonic()
        async with client.pipeline(transaction=True) as pipe:  # the bitmap algebra alone, nothing shipped
            pipe.bitop("OR", "bench:a", *areas)
            pipe.bitop("AND", "bench:a", "bench:a", k(TENANT, f"c:{RAIN_FLOOD}"))
            pipe.bitcount("bench:a")
            pipe.delete("bench:a")
            raw = (await pipe.execute())[2]
        base = time.monotonic() - t0
        print(f"  municipality {m.name} ({m.jis5}): {n} recipients (seeded {expected}) in {took:.3f}s, first batch at"
              f" {first * 1000:.1f} ms   baseline BITOP+BITCOUNT {raw} in {base:.3f}s", flush=True)
    center = gazetteer.get("27127")  # 大阪市北区 (梅田)
    q = AudienceQuery(tenant=TENANT, categories=(RAIN_FLOOD,), center=(center.lat, center.lng), radius_m=1000.0,
                      ignore_quiet_hours=True)
    n, first, took = await timed_resolve(audience, q)
    t0 = time.monotonic()
    hits = await client.geosearch(k(TENANT, "g"), longitude=center.lng, latitude=center.lat, radius=1000, unit="m",
                                  withcoord=True)
    base = time.monotonic() - t0
    inside = sum(1 for _, (lng, lat) in hits if haversine_m(center.lat, center.lng, lat, lng) <= 1000.0)
    print(f"  1 km radius around {center.name} ({center.lat}, {center.lng}): {n} recipients (GEO index: {inside}) in"
          f" {took:.3f}s, first batch at {first * 1000:.1f} ms   baseline GEOSEARCH {len(hits)} in {base:.3f}s", flush=True)
    q = AudienceQuery(tenant=TENANT, all_friends=True)
    n, first, took = await timed_resolve(audience, q)
    t0 = time.monotonic()
    bare = sum([1 async for _ in RedisUserStore(client).active_ids(TENANT)])
    base = time.monotonic() - t0
    print(f"  every friend (broadcast --all, with each one's language): {n} recipients in {took:.3f}s, first batch at"
          f" {first * 1000:.1f} ms   baseline: the active ids alone ({bare}) in {base:.3f}s", flush=True)


RUNS = (("standin", False), ("standin", True), ("emulator", False), ("emulator", True))  # (LINE side, FastMulticastLinePort?)


def label(server: str, fast: bool) -> str:
    return f"engine ({'FastMulticastLinePort' if fast else 'SdkLinePort'}) → {server}"


# --- main -------------------------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    from alerts.geo import Gazetteer
    from bot.redis_server import embedded_redis

    started = time.monotonic()
    servers = {}
    for name, flag in (("standin", "--serve-standin"), ("emulator", "--serve-emulator")):
        if name == "emulator" and args.skip_emulator:
            continue
        port = free_port()
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), flag, str(port)], cwd=REPO)
        servers[name] = (f"http://127.0.0.1:{port}", proc)
    gazetteer = Gazetteer.load()
    print(f"fanout benchmark: {args.count:,} synthetic subscribers, tenant {TENANT!r}, one worker process "
          f"(concurrency {args.concurrency}), {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory() as tmp, embedded_redis(Path(tmp), appendonly=args.aof) as handle:
        client = aioredis.Redis.from_url(handle.url, decode_responses=True)
        try:
            for url, _ in servers.values():
                await wait_http(url + "/_emulator/stats")

            # (c) memory, measured while seeding
            mem0 = int((await client.info("memory"))["used_memory"])
            t0 = time.monotonic()
            per_unit = await seed(client, gazetteer, args.count, args.api_seed, subscriptions=False)
            t_users = time.monotonic() - t0
            mem1 = int((await client.info("memory"))["used_memory"])
            bare = await bare_id_set(client)
            t0 = time.monotonic()
            per_unit = await seed(client, gazetteer, args.count, args.api_seed, subscriptions=True)
            t_subs = time.monotonic() - t0
            mem2 = int((await client.info("memory"))["used_memory"])
            n = args.count
            print(f"seeded {n:,} friends in {t_users:.1f}s and their alerts subscriptions (1 place with a point, default"
                  f" categories) in {t_subs:.1f}s ({len(per_unit)} wards/municipalities)", flush=True)
            print(f"(c) Redis memory per subscriber (INFO used_memory delta / N): friend {(mem1 - mem0) / n:.0f} B"
                  f" (roster slot + index, user record, active bit) + alerts subscription {(mem2 - mem1) / n:.0f} B"
                  f" (document, bitmaps, GEO) = {(mem2 - mem0) / n:.0f} B   baseline: the bare id set {bare / n:.0f} B",
                  flush=True)

            await audience_figures(client, gazetteer, per_unit)

            limit = args.limit
            print(f"(a) throttled at LINE's multicast limit, {limit:.0f} req/s (server answers 429 above it; the engine's"
                  f" shared token bucket set to the same rate):", flush=True)
            for name, fast in RUNS:
                if name not in servers:
                    continue
                url, proc = servers[name]
                await call(url, "POST", "/_emulator/config", {"rate_limits": {"multicast": limit}})
                show(await engine_run(client, url, proc.pid, limit, args.concurrency, fast, label(name, fast)), limit)
            url, proc = servers["standin"]
            show(await naive_run(client, url, proc.pid, "baseline: sequential loop → standin"), limit)

            print("(b) unthrottled (engine bucket 1e6 req/s), one worker process:", flush=True)
            rows = {}
            for name, fast in RUNS:
                if name not in servers:
                    continue
                url, proc = servers[name]
                await call(url, "POST", "/_emulator/config", {"rate_limits": {}})
                rows[name, fast] = await engine_run(client, url, proc.pid, 1e6, args.concurrency, fast, label(name, fast))
                show(rows[name, fast])
            for name, (url, proc) in servers.items():
                base = await naive_run(client, url, proc.pid, f"baseline: sequential loop → {name}")
                show(base)
                print("    engine / baseline: " + ", ".join(f"{row['label']} {row['rate'] / base['rate']:.2f}x"
                                                         for (n, _), row in rows.items() if n == name), flush=True)
        finally:
            await client.aclose()
            for _, proc in servers.values():
                proc.terminate()
                proc.wait(10)
    print(f"total {time.monotonic() - started:.0f}s", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--limit", type=float, default=200.0, help="multicast req/s for (a) (LINE: 200)")
    parser.add_argument("--concurrency", type=int, default=32, help="in-flight LINE calls of the worker")
    parser.add_argument("--api-seed", type=int, default=2000, help="subscribers seeded through the stores' save()")
    parser.add_argument("--skip-emulator", action="store_true", help="only the bare stand-in (faster)")
    parser.add_argument("--aof", action="store_true", help="Redis with appendonly (as in production)")
    parser.add_argument("--serve-emulator", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-standin", type=int, help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.serve_emulator:
        serve_emulator(ns.serve_emulator)
    elif ns.serve_standin:
        serve_standin(ns.serve_standin)
    else:
        asyncio.run(main(ns))
