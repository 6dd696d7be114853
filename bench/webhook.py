"""Webhook intake benchmark: civicbot's web process vs. a bare HMAC-only aiohttp handler, same run, loopback.

Prints events/s at saturation (closed loop, fixed concurrency) for both, the ratio, and the ack latency p50/p99
of civicbot's webhook at half of its peak rate (open loop). Targets: ratio ≥ 0.70, p99 ≤ 20 ms.

    .venv/bin/python bench/webhook.py [--requests 6000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._common import cpu_seconds  # noqa: E402
from bot.redis_server import embedded_redis  # noqa: E402
from tests.helpers import sign, text_event  # noqa: E402
from tests.system import free_port  # noqa: E402


def wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


def make_requests(n: int) -> list[tuple[bytes, str]]:
    out = []
    for i in range(n):
        body = json.dumps({"destination": "Ubench", "events": [text_event(f"U{i % 500:032d}", "ごみの日はいつですか")]}, ensure_ascii=False).encode()
        out.append((body, sign(body, "demo-secret")))
    return out


async def closed_loop(url: str, reqs: list[tuple[bytes, str]], concurrency: int) -> tuple[float, list[float]]:
    it = iter(reqs)
    lat: list[float] = []
    errors = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        for body, sig in it:
            t0 = time.perf_counter()
            async with session.post(url, data=body, headers={"X-Line-Signature": sig, "Content-Type": "application/json"}) as r:
                await r.read()
                if r.status != 200:
                    errors += 1
            lat.append(time.perf_counter() - t0)

    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{errors} non-200 answers")
    return len(reqs) / elapsed, lat


async def open_loop(url: str, reqs: list[tuple[bytes, str]], rate: float) -> list[float]:
    lat: list[float] = []
    conn = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=conn) as session:

        async def one(body: bytes, sig: str) -> None:
            t0 = time.perf_counter()
            async with session.post(url, data=body, headers={"X-Line-Signature": sig, "Content-Type": "application/json"}) as r:
                await r.read()
            lat.append(time.perf_counter() - t0)

        start = time.perf_counter()
        tasks = []
        for i, (body, sig) in enumerate(reqs):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(body, sig)))
        await asyncio.gather(*tasks)
    return lat


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=6000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp, embedded_redis(Path(tmp) / "redis") as redis:
        web_port, bare_port = free_port(), free_port()
        env = dict(os.environ, CIVICBOT_DEMO="1", REDIS_URL=redis.url, CIVICBOT_WEB_PORT=str(web_port), CIVICBOT_DATA_DIR=tmp)
        procs = [
            subprocess.Popen([py, "-m", "app.cli", "serve", "web"], env=env, cwd=REPO, stderr=subprocess.DEVNULL),
            subprocess.Popen([py, str(REPO / "bench" / "_bare_server.py"), str(bare_port)], cwd=REPO),
        ]
        try:
            wait_port(web_port)
            wait_port(bare_port)
            civic = f"http://127.0.0.1:{web_port}/callback/demo"
            bare = f"http://127.0.0.1:{bare_port}/callback/demo"
            warm = make_requests(500)
            asyncio.run(closed_loop(bare, warm, args.concurrency))
            asyncio.run(closed_loop(civic, warm, args.concurrency))
            results: dict[str, list[float]] = {"bare": [], "civicbot": []}
            cpu: dict[str, list[float]] = {"bare": [], "civicbot": []}
            pids = {"civicbot": procs[0].pid, "bare": procs[1].pid}
            for rnd in range(args.rounds):  # alternate, so background noise hits both alike
                for name, url in (("bare", bare), ("civicbot", civic)):
                    c0 = cpu_seconds(pids[name])
                    rps, lat = asyncio.run(closed_loop(url, make_requests(args.requests), args.concurrency))
                    cpu[name].append((cpu_seconds(pids[name]) - c0) / args.requests * 1e6)
                    results[name].append(rps)
                    print(f"round {rnd + 1} {name:9s} {rps:8.0f} events/s  server CPU {cpu[name][-1]:6.0f} µs/event  "
                          f"(c={args.concurrency}; p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms)")
            bare_rps = statistics.median(results["bare"])
            civic_rps = statistics.median(results["civicbot"])
            print(f"throughput ratio civicbot/bare (medians of {args.rounds} rounds): {civic_rps / bare_rps:.2f}  (target ≥ 0.70)")
            print(f"server CPU per event: civicbot {statistics.median(cpu['civicbot']):.0f} µs (+ Redis), "
                  f"bare {statistics.median(cpu['bare']):.0f} µs")
            rate = civic_rps / 2
            n = int(min(args.requests, rate * 10))
            lat = asyncio.run(open_loop(civic, make_requests(n), rate))
            print(f"ack latency at {rate:.0f} events/s (half of peak, open loop, {n} requests): p50 {pct(lat, 50):.2f} ms, p99 {pct(lat, 99):.2f} ms  (target p99 ≤ 20 ms)")
        finally:
            for p in procs:
                p.terminate()
                p.wait(timeout=10)


if __name__ == "__main__":
    main()
