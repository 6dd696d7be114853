"""Handoff latency: resident message → live console event, over Redis (embedded server), against a baseline.

    .venv/bin/python bench/handoff_latency.py [--redis-url URL] [-n 300]

Baseline (same run): a bare Redis PUBLISH → pub/sub receive. Measured: ``handoff.on_resident_message`` (transcript
append + state update + publish) until a console-side subscriber of ``RedisHandoffBus`` has the event; and one
take-over race of 20 concurrent counsellors (winners must be exactly 1). Also Argon2 verify time at the production
parameters (what one login costs the web process).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis.asyncio as aioredis  # noqa: E402

import handoff  # noqa: E402
from bot.chat import Incoming  # noqa: E402
from bot.redis_server import embedded_redis  # noqa: E402
from handoff import HandoffDeps, RecordingLinePort, RedisHandoffBus, RedisHandoffStore  # noqa: E402
from handoff.testing import demo_tenants  # noqa: E402
from staff.service import default_hasher  # noqa: E402


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


def show(name: str, ms: list[float], base: float | None = None) -> None:
    med = statistics.median(ms)
    ratio = f"  ({med / base:.1f}× baseline)" if base else ""
    print(f"{name:<44} p50 {med:7.3f} ms  p95 {pct(ms, 0.95):7.3f} ms  max {max(ms):7.3f} ms{ratio}")


async def run(url: str, n: int) -> None:
    r = aioredis.Redis.from_url(url, decode_responses=True)
    sub_client = aioredis.Redis.from_url(url, decode_responses=True)
    await r.flushdb()
    tenant = demo_tenants()["demo"]

    # baseline: bare publish → receive
    ps = sub_client.pubsub(ignore_subscribe_messages=True)
    await ps.subscribe("bench:baseline")
    base = []
    for i in range(n):
        t0 = time.perf_counter()
        await r.publish("bench:baseline", str(i))
        while (await ps.get_message(timeout=1.0)) is None:
            pass
        base.append((time.perf_counter() - t0) * 1000)
    await ps.aclose()

    deps = HandoffDeps(store=RedisHandoffStore(r), bus=RedisHandoffBus(r), line=RecordingLinePort())
    console_bus = RedisHandoffBus(sub_client)
    cid = (await handoff.request_handoff(deps, tenant, "U1", risk="crisis")).conversation_id
    await handoff.take_over(deps, "demo", cid, "alice")
    lat = []
    async with console_bus.subscribe("demo") as events:
        for i in range(n):
            inc = Incoming(tenant=tenant, user_id="U1", kind="text", webhook_event_id=f"e{i}", timestamp_ms=0, text=f"メッセージ{i}", message_id=f"m{i}")
            t0 = time.perf_counter()
            await handoff.on_resident_message(deps, tenant, "U1", inc)
            while True:
                ev = await anext(events)
                if ev.get("type") == "message" and ev["message"]["id"] == f"m{i}":
                    break
            lat.append((time.perf_counter() - t0) * 1000)

    wins = []
    race = []
    for i in range(20):
        c = (await handoff.request_handoff(deps, tenant, f"R{i}")).conversation_id
        t0 = time.perf_counter()
        results = await asyncio.gather(*(deps.store.take("demo", c, f"c{k}", time.time()) for k in range(20)))
        race.append((time.perf_counter() - t0) * 1000)
        wins.append(sum(results))

    hasher = default_hasher()
    h = hasher.hash("correct horse battery")
    argon = []
    for _ in range(10):
        t0 = time.perf_counter()
        hasher.verify(h, "correct horse battery")
        argon.append((time.perf_counter() - t0) * 1000)

    print(f"handoff latency, n={n}, Redis {url}")
    show("baseline: bare PUBLISH → receive", base)
    show("resident message → console event", lat, statistics.median(base))
    show("take-over race, 20 counsellors (per race)", race)
    print(f"{'take-over race winners per conversation':<44} {sorted(set(wins))} (must be [1])")
    show("argon2id verify (staff.default_hasher)", argon)
    await r.aclose()
    await sub_client.aclose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--redis-url")
    ap.add_argument("-n", type=int, default=300)
    args = ap.parse_args()
    if args.redis_url:
        asyncio.run(run(args.redis_url, args.n))
        return
    with tempfile.TemporaryDirectory() as tmp, embedded_redis(tmp, appendonly=False) as handle:
        asyncio.run(run(handle.url, args.n))


if __name__ == "__main__":
    main()
