"""Delivery engine benchmark: one alert to N synthetic subscribers through the LINE emulator.

    .venv/bin/python bench/delivery.py --count 100000 [--workers 1] [--skip-throttled]

Everything runs on this machine and talks only to 127.0.0.1: an embedded Redis (temp dir), the emulator in a child
process, worker processes (``python -m app.delivery_worker``). Prints, for each scenario, recipients/s, time to the
first and last recipient, duplicates from the emulator's ledger, and the same figures for a baseline measured in the
same run: a naive sequential multicast loop (line-bot-sdk, 500 ids per call, no retry keys, no Redis).

Scenarios: (a) emulator throttled at LINE's multicast limit (200 req/s) → achieved rate as a fraction of the limit;
(b) unthrottled → recipients/s; plus Redis memory per subscriber and audience resolution time (all friends).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._common import cpu_seconds, wait_http  # noqa: E402
from bot.redis_server import embedded_redis  # noqa: E402
from bot.users import RedisUserStore  # noqa: E402
from broadcasts.audience import AudienceQuery  # noqa: E402
from broadcasts.engine import RedisDeliverer  # noqa: E402
from broadcasts.friends import FriendsAudience  # noqa: E402
from broadcasts.jobs import DeliveryJob  # noqa: E402
from broadcasts.service import seed_subscribers  # noqa: E402
from tests.system import free_port  # noqa: E402

TENANT = "bench"
EMULATOR_PID = [0]
TOKEN = "bench-token"  # the emulator's channel token for the synthetic tenant (not a secret)


def serve_emulator(port: int) -> None:
    """Child process: the emulator with one tenant."""
    from aiohttp import web
    from pydantic import SecretStr

    from bot.config import Tenant
    from emulator.app import create_app

    tenants = {TENANT: Tenant(id=TENANT, display_name="ベンチ市", lg_code="27100", channel_token=SecretStr(TOKEN))}
    web.run_app(create_app(tenants, "http://127.0.0.1:9"), host="127.0.0.1", port=port, print=None)


async def emu(url: str, method: str, path: str, body: dict | None = None) -> dict:
    async with aiohttp.ClientSession() as s, s.request(method, url + path, json=body) as r:
        return await r.json()


def start_workers(k: int, redis_url: str, line_url: str, rates: dict[str, float]) -> list[subprocess.Popen]:
    procs = []
    for i in range(k):
        args = [sys.executable, "-m", "app.delivery_worker", "--redis-url", redis_url, "--line-url", line_url,
                "--tenant", TENANT, "--concurrency", "32", "--name", f"bench-{i}"]
        for ep, rate in rates.items():
            args += ["--rate", f"{ep}={rate}"]
        p = subprocess.Popen(args, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        p.stdin.write(json.dumps({TENANT: TOKEN}) + "\n")
        p.stdin.close()
        procs.append(p)
    for p in procs:
        p.stdout.readline()  # "worker ready"
    return procs


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


async def engine_run(client, line_url: str, workers: int, rates: dict[str, float], count: int, label: str) -> dict:
    await emu(line_url, "POST", "/_emulator/reset")
    procs = start_workers(workers, _url(client), line_url, rates)
    cpu0 = [cpu_seconds(p.pid) for p in procs]
    emu_cpu0 = cpu_seconds(EMULATOR_PID[0])
    try:
        deliverer = RedisDeliverer(client)
        job = DeliveryJob(
            tenant=TENANT,
            audience=AudienceQuery(tenant=TENANT, all_friends=True),
            messages={"ja": [{"type": "text", "text": f"ベンチマーク {label} {time.time()}"}]},
            priority="emergency",
            title=f"bench {label}",
        )
        job_id = await deliverer.submit(job)
        while True:
            st = await deliverer.status(job_id)
            if st and st.state == "done":
                break
            await asyncio.sleep(0.05)
        attempts = await _attempts(client, job_id, st.batches)
        worker_cpu = sum(cpu_seconds(p.pid) for p in procs) - sum(cpu0)
        emu_cpu = cpu_seconds(EMULATOR_PID[0]) - emu_cpu0
    finally:
        stop(procs)
    stats = await emu(line_url, "GET", "/_emulator/stats")
    span = st.last_send_at - st.created_at
    sending = st.last_send_at - st.first_send_at
    return {
        "label": label,
        "recipients": st.sent,
        "failed": st.failed,
        "first_s": st.first_send_at - st.created_at,
        "last_s": span,
        "rate": st.sent / span if span else float("nan"),
        "cpu": f"{st.batches} batches, {attempts} LINE calls; worker CPU {worker_cpu:.1f}s, emulator CPU {emu_cpu:.1f}s, sending phase {sending:.2f}s",
        **stats,
    }


async def _attempts(client, job_id: str, batches: int) -> int:
    from broadcasts.store import Keys

    async with client.pipeline(transaction=False) as pipe:
        for n in range(batches):
            pipe.hget(Keys(TENANT).batch(job_id, n), "attempts")
        return sum(int(a or 0) for a in await pipe.execute())


def _url(client) -> str:
    kw = client.connection_pool.connection_kwargs
    return f"redis://{kw['host']}:{kw['port']}/{kw.get('db', 0)}"


async def naive_run(client, line_url: str, count: int, label: str) -> dict:
    """Baseline: what a first version would do — resolve everyone, then multicast 500 at a time, one after another."""
    from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApi, Configuration, MulticastRequest
    from linebot.v3.messaging.exceptions import ApiException

    await emu(line_url, "POST", "/_emulator/reset")
    users = RedisUserStore(client)
    t0 = time.monotonic()
    ids = [uid async for uid in users.active_ids(TENANT)]
    first = None
    errors = 0
    async with AsyncApiClient(Configuration(host=line_url, access_token=TOKEN)) as api_client:
        api = AsyncMessagingApi(api_client)
        for i in range(0, len(ids), 500):
            req = MulticastRequest.from_dict(
                {"to": ids[i : i + 500], "messages": [{"type": "text", "text": f"ベースライン {label}"}]}
            )
            try:
                await api.multicast(req)
            except ApiException:
                errors += 1  # a naive loop drops the batch (or would resend it without a key)
            first = first or time.monotonic() - t0
    span = time.monotonic() - t0
    stats = await emu(line_url, "GET", "/_emulator/stats")
    return {"label": label, "recipients": stats["unique_recipients"], "failed_calls": errors, "first_s": first,
            "last_s": span, "rate": stats["unique_recipients"] / span, **stats}


def show(row: dict) -> None:
    print(
        f"  {row['label']:<34} recipients {row['recipients']:>8}  first {row['first_s']:.3f}s  last {row['last_s']:.3f}s"
        f"  {row['rate']:>10,.0f}/s  deliveries {row['deliveries']}  unique {row['unique_recipients']}"
        f"  duplicates {row['duplicates']}" + (f"  failed calls {row['failed_calls']}" if "failed_calls" in row else ""),
        flush=True,
    )
    if "cpu" in row:
        print("    " + row["cpu"], flush=True)


async def main(args: argparse.Namespace) -> None:
    port = free_port()
    line_url = f"http://127.0.0.1:{port}"
    emulator = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve-emulator", str(port)], cwd=REPO)
    EMULATOR_PID[0] = emulator.pid
    with tempfile.TemporaryDirectory() as tmp, embedded_redis(Path(tmp), appendonly=args.aof) as handle:
        client = aioredis.Redis.from_url(handle.url, decode_responses=True)
        try:
            await wait_http(line_url + "/_emulator/stats")
            before = int((await client.info("memory"))["used_memory"])
            t0 = time.monotonic()
            await seed_subscribers(RedisUserStore(client), TENANT, args.count)
            seed_s = time.monotonic() - t0
            after = int((await client.info("memory"))["used_memory"])
            print(f"seeded {args.count} synthetic subscribers in {seed_s:.1f}s; Redis memory "
                  f"{(after - before) / args.count:.0f} bytes/subscriber (user record, roster slot and index, active bit)")
            t0 = time.monotonic()
            n = 0
            async for _ in FriendsAudience(RedisUserStore(client), with_language=False).resolve(
                AudienceQuery(tenant=TENANT, all_friends=True)
            ):
                n += 1
            print(f"audience resolution (all friends, ids only): {n} in {time.monotonic() - t0:.3f}s")

            # the shared token bucket alone (no HTTP): 3 competing "workers", 2 s of LINE's multicast limit
            from broadcasts.ratelimit import RedisRateLimiter, acquire

            limiters = [RedisRateLimiter(client, {"multicast": 200.0}) for _ in range(3)]
            granted = 0

            async def taker(lim) -> None:
                nonlocal granted
                while granted < 400:
                    await acquire(lim, TENANT + "-bucket", "multicast")
                    granted += 1

            t0 = time.monotonic()
            await asyncio.gather(*(taker(lim) for lim in limiters for _ in range(8)))
            took = time.monotonic() - t0
            print(f"token bucket alone: {granted} grants at 200/s across 24 takers in {took:.2f}s = {granted / took:.0f}/s")

            # the engine alone: one in-process worker, a fake LINE that answers at once (no HTTP, no emulator)
            from broadcasts.engine import DeliveryWorker, EngineOptions
            from broadcasts.line import FakeLinePort
            from broadcasts.ratelimit import MemoryRateLimiter

            fake = FakeLinePort()
            users = RedisUserStore(client)
            worker = DeliveryWorker(client, fake, FriendsAudience(users, with_language=False), users, [TENANT],
                                    limiter=MemoryRateLimiter({"multicast": 1e9}), options=EngineOptions(concurrency=32))
            stop_ev = asyncio.Event()
            deliverer = RedisDeliverer(client)
            cpu0 = time.process_time()
            job_id = await deliverer.submit(DeliveryJob(tenant=TENANT, audience=AudienceQuery(tenant=TENANT, all_friends=True),
                                                        messages={"ja": [{"type": "text", "text": "engine only"}]},
                                                        priority="emergency"))
            task = asyncio.create_task(worker.run(stop_ev))
            while (st := await deliverer.status(job_id)) is None or st.state != "done":
                await asyncio.sleep(0.02)
            stop_ev.set()
            await task
            cpu = time.process_time() - cpu0
            span = st.last_send_at - st.created_at
            dup = sum(1 for v in fake.delivered.values() if v != 1)
            print(f"engine alone (fake LINE, 1 process): {st.sent} recipients, last at {span:.2f}s = {st.sent / span:,.0f}/s;"
                  f" this process {cpu:.2f} CPU s ({st.sent / cpu:,.0f} recipients per CPU second); users not once: {dup}")

            if not args.skip_throttled:
                limit = args.limit
                print(f"(a) emulator throttled at {limit} multicast req/s (LINE's limit: 200), {args.workers} worker(s):")
                await emu(line_url, "POST", "/_emulator/config", {"rate_limits": {"multicast": limit}})
                row = await engine_run(client, line_url, args.workers, {"multicast": limit}, args.count,
                                       f"engine, throttled {limit} req/s")
                show(row)
                calls = -(-args.count // 500)
                print(f"  achieved {calls / row['last_s']:.1f} multicast req/s from submit = {calls / row['last_s'] / limit:.2f}"
                      f" of the limit (last recipient at {row['last_s']:.2f}s; ideal {calls / limit:.2f}s)")
                base = await naive_run(client, line_url, args.count, "baseline: sequential loop, throttled")
                show(base)
            print(f"(b) emulator unthrottled, {args.workers} worker process(es):")
            await emu(line_url, "POST", "/_emulator/config", {"rate_limits": {}})
            row = await engine_run(client, line_url, args.workers, {"multicast": 1e6}, args.count, "engine, unthrottled")
            show(row)
            base = await naive_run(client, line_url, args.count, "baseline: sequential loop, unthrottled")
            show(base)
            print(f"  engine / baseline: {row['rate'] / base['rate']:.2f}x")
            if args.faults:
                print("(c) unthrottled, 20% faulty calls (10% 500, 5% 500 after delivery, 5% slow 200 ms):")
                await emu(line_url, "POST", "/_emulator/config",
                          {"fault_rate": 0.1, "fault_after_delivery_rate": 0.05, "slow_rate": 0.05, "slow_ms": 200})
                show(await engine_run(client, line_url, args.workers, {"multicast": 1e6}, args.count, "engine, faulty"))
                show(await naive_run(client, line_url, args.count, "baseline: sequential loop, faulty"))
        finally:
            await client.aclose()
            emulator.terminate()
            emulator.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--limit", type=float, default=200.0, help="multicast req/s for the throttled scenario")
    parser.add_argument("--skip-throttled", action="store_true")
    parser.add_argument("--faults", action="store_true")
    parser.add_argument("--aof", action="store_true", help="Redis with appendonly (as in production)")
    parser.add_argument("--serve-emulator", type=int, help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.serve_emulator:
        serve_emulator(ns.serve_emulator)
    else:
        asyncio.run(main(ns))
