"""Scale-out on a Redis Cluster (3 primaries, 3 replicas, started here): every figure against a baseline measured
in the same run on the same machine.

    .venv/bin/python bench/cluster.py [--requests 4000] [--count 100000] [--skip-webhook] [--skip-delivery]

(a) webhook intake, events/s at saturation: 2 web processes sharing one port (SO_REUSEPORT) vs 1 (target ≥ 1.7×);
    and the cost of ``WAIT 1`` (CIVICBOT_REDIS_WAIT_REPLICAS=1) on the same 2 web processes (events/s, p50/p99).
    The load comes from two client processes so the client is not the bottleneck.
(b) delivery, emulator throttled at LINE's multicast limit (200 req/s), one tenant, 3 workers on the cluster:
    achieved req/s as a fraction of the limit (target ≥ 0.95).
(c) delivery, unthrottled, three tenants at once: 3 workers vs 1 worker, recipients/s (target ≥ 2.5×).
Also: Redis memory per subscriber on the cluster (primaries only, replicas hold the same again).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._common import cpu_seconds, wait_http  # noqa: E402
from bench.delivery import emu, stop  # noqa: E402
from bench.webhook import make_requests, wait_port  # noqa: E402
from bot.redis_client import connect  # noqa: E402
from bot.redis_server import embedded_cluster  # noqa: E402
from bot.users import RedisUserStore  # noqa: E402
from broadcasts.audience import AudienceQuery  # noqa: E402
from broadcasts.engine import RedisDeliverer  # noqa: E402
from broadcasts.jobs import DeliveryJob  # noqa: E402
from broadcasts.service import seed_subscribers  # noqa: E402
from tests.system import free_port  # noqa: E402

TENANTS = ("bench-a", "bench-b", "bench-c")
VALKEY_PIDS: list[int] = []  # the cluster's nodes, for the CPU they use during a fan-out
TOKEN = "bench-token-{}"  # the emulator's channel token of each synthetic tenant (not a secret)


# ------------------------------------------------------------------ (a) webhook intake
# The load generator is wrk (Debian package `wrk`, C): signed requests are built in Python before the clock starts,
# each with its own webhookEventId (a repeated id would take the cheap dedup path), and a Lua script hands them out
# in turn. The former generator (aiohttp, 2 Python processes) used about as much CPU as the web processes it loaded.
WRK_LUA = """
local reqs = {}
init = function(args)
  for line in io.lines(args[1]) do
    local sig, body = line:match("^([^\t]*)\t(.*)$")
    reqs[#reqs + 1] = wrk.format("POST", args[2], {["Content-Type"] = "application/json", ["X-Line-Signature"] = sig}, body)
  end
end
local i = 0
request = function()
  i = i + 1
  if i > #reqs then i = 1 end  -- repeats take the dedup path: intake() refuses such a run
  return reqs[i]
end
done = function(summary, latency, requests)
  io.write(string.format("WRK %d %d %d %d %d\\n", summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), summary.errors.status + summary.errors.timeout + summary.errors.connect))
end
"""


def write_requests(path: Path, n: int) -> None:
    """``n`` signed webhook requests with fresh event ids, one a line: signature TAB body (JSON escapes tabs)."""
    with path.open("w", encoding="utf-8") as f:
        for body, sig in make_requests(n):
            f.write(f"{sig}\t{body.decode()}\n")


def wrk(url: str, seconds: float, connections: int, requests: Path, script: Path) -> tuple[subprocess.Popen, str]:
    base, _, path = url.partition("/callback")
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-s", str(script), base, "--", str(requests),
           "/callback" + path]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True), url


def prepare(tmp: Path, seconds: float, expect_rps: float = 10000) -> tuple[Path, Path, int]:
    """The wrk script and a file of fresh signed requests, written before any clock starts."""
    script, requests = tmp / "intake.lua", tmp / "intake_requests.tsv"
    script.write_text(WRK_LUA)
    unique = int(expect_rps * seconds * 1.5)
    write_requests(requests, unique)
    return script, requests, unique


def intake(url: str, seconds: float, connections: int, prepared: tuple[Path, Path, int]) -> tuple[float, float, float]:
    """events/s, p50 ms, p99 ms for one wrk run of ``seconds`` (every answer must be a 200)."""
    script, requests, unique = prepared
    proc, _ = wrk(url, seconds, connections, requests, script)
    out, _ = proc.communicate()
    line = next((x for x in out.splitlines() if x.startswith("WRK ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary: {out}")
    n, duration_us, p50_us, p99_us, errors = (int(x) for x in line.split()[1:])
    if errors:
        raise RuntimeError(f"{errors} non-200 answers or socket errors: {out}")
    if n > unique:
        raise RuntimeError(f"{n} requests but only {unique} distinct events: raise expect_rps")
    return n / (duration_us / 1e6), p50_us / 1000, p99_us / 1000


def start_web(url: str, port: int, tmp: str, extra: dict[str, str] | None = None) -> subprocess.Popen:
    env = dict(os.environ, CIVICBOT_DEMO="1", REDIS_URL=url, CIVICBOT_WEB_PORT=str(port), CIVICBOT_DATA_DIR=tmp,
               CIVICBOT_WEB_REUSE_PORT="1", **(extra or {}))
    return subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "web"], env=env, cwd=REPO, stderr=subprocess.DEVNULL)


def bench_webhook(cluster, tmp: str, args: argparse.Namespace) -> None:
    url = cluster.url
    print(f"(a) webhook intake on the cluster, load from wrk (C, 1 thread, {args.connections} connections, "
          f"{args.seconds:.0f} s per run, pre-signed requests):", flush=True)
    rows: dict[str, list[float]] = {"1 web": [], "2 web": [], "2 web, WAIT 1": []}
    lat: dict[str, list[tuple[float, float]]] = {k: [] for k in rows}
    valkey = [n.proc.pid for n in cluster.nodes]
    for rnd in range(args.rounds):  # alternate, so background noise hits all alike
        for label, webs, extra in (("1 web", 1, None), ("2 web", 2, None),
                                   ("2 web, WAIT 1", 2, {"CIVICBOT_REDIS_WAIT_REPLICAS": "1", "CIVICBOT_REDIS_WAIT_TIMEOUT_MS": "1000"})):
            port = free_port()
            procs = []
            for _ in range(webs):
                procs.append(start_web(url, port, tmp, extra))
                time.sleep(0.3)
            try:
                wait_port(port)
                asyncio.run(wait_http(f"http://127.0.0.1:{port}/healthz", 60))
                time.sleep(2.0 * webs)  # every process listening (each loads the gazetteer)
                target = f"http://127.0.0.1:{port}/callback/demo"
                intake(target, 2, args.connections, prepare(Path(tmp), 2))  # warm up every process
                prepared = prepare(Path(tmp), args.seconds)
                cpu0 = [cpu_seconds(p.pid) for p in procs]
                redis0 = sum(cpu_seconds(pid) for pid in valkey)
                children0 = os.times()
                wall0 = time.monotonic()
                rps, p50, p99 = intake(target, args.seconds, args.connections, prepared)
                wall = min(time.monotonic() - wall0, args.seconds)  # wrk's own load set-up is not load: count its run
                children1 = os.times()
                web_cpu = [(cpu_seconds(p.pid) - c) / wall for p, c in zip(procs, cpu0)]
                redis_cpu = (sum(cpu_seconds(pid) for pid in valkey) - redis0) / wall
                # wrk is our child: its CPU shows in the children's times once it has been waited for
                gen_cpu = ((children1.children_user - children0.children_user)
                           + (children1.children_system - children0.children_system)) / wall
            finally:
                stop(procs)
            rows[label].append(rps)
            lat[label].append((p50, p99))
            print(f"  round {rnd + 1} {label:14s} {rps:7.0f} events/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms   cores busy:"
                  f" web {' + '.join(f'{c:.2f}' for c in web_cpu)}, 6 valkey {redis_cpu:.2f}, wrk {gen_cpu:.2f}"
                  f" = {sum(web_cpu) + redis_cpu + gen_cpu:.2f} of {os.cpu_count()}", flush=True)
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"  2 web / 1 web: {med['2 web'] / med['1 web']:.2f}×  (target ≥ 1.7; baseline 1 web = {med['1 web']:.0f} events/s;"
          f" medians of {args.rounds} rounds)")
    print(f"  WAIT 1 cost on 2 web: {med['2 web, WAIT 1'] / med['2 web']:.2f}× the events/s", flush=True)


# ------------------------------------------------------------------ (b), (c) delivery
def serve_emulator(port: int) -> None:
    """Child process: the emulator with the three synthetic tenants."""
    from aiohttp import web
    from pydantic import SecretStr

    from bot.config import Tenant
    from emulator.app import create_app

    tenants = {t: Tenant(id=t, display_name="ベンチ市", lg_code="27100", channel_token=SecretStr(TOKEN.format(t))) for t in TENANTS}
    web.run_app(create_app(tenants, "http://127.0.0.1:9"), host="127.0.0.1", port=port, print=None)


def start_workers(k: int, url: str, line_url: str, tenants: tuple[str, ...], rate: float) -> list[subprocess.Popen]:
    procs = []
    for i in range(k):
        cmd = [sys.executable, "-m", "app.delivery_worker", "--redis-url", url, "--line-url", line_url,
               "--concurrency", "32", "--name", f"bench-{i}-{time.time()}", "--rate", f"multicast={rate}", "--fast-multicast"]
        for t in tenants:
            cmd += ["--tenant", t]
        p = subprocess.Popen(cmd, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        p.stdin.write(json.dumps({t: TOKEN.format(t) for t in tenants}) + "\n")
        p.stdin.close()
        procs.append(p)
    for p in procs:
        if p.stdout.readline().strip() != "worker ready":
            stop(procs)
            raise RuntimeError("a delivery worker did not start")
    return procs


async def fanout(url: str, line_url: str, workers: int, tenants: tuple[str, ...], rate: float, label: str,
                 emulator_pid: int) -> tuple[float, float, float]:
    """One emergency job per tenant, submitted together; (recipients/s from submit to last send, seconds from
    submit to last send, seconds from first to last send)."""
    await emu(line_url, "POST", "/_emulator/reset")
    procs = start_workers(workers, url, line_url, tenants, rate)
    cpu0 = [cpu_seconds(p.pid) for p in procs] + [cpu_seconds(emulator_pid)]
    valkey0 = sum(cpu_seconds(pid) for pid in VALKEY_PIDS)
    client = connect(url)
    try:
        deliverer = RedisDeliverer(client)
        jobs = [await deliverer.submit(DeliveryJob(tenant=t, audience=AudienceQuery(tenant=t, all_friends=True),
                                                   messages={"ja": [{"type": "text", "text": f"{label} {time.time()}"}]},
                                                   priority="emergency")) for t in tenants]
        while True:
            states = [await deliverer.status(j) for j in jobs]
            if all(s and s.state == "done" for s in states):
                break
            await asyncio.sleep(0.05)
        start = min(s.created_at for s in states)
        span = max(s.last_send_at for s in states) - start
        sending = max(s.last_send_at for s in states) - min(s.first_send_at for s in states)
        sent = sum(s.sent for s in states)
        cpu = [round(cpu_seconds(p.pid) - c, 1) for p, c in zip([*procs], cpu0)]
        emu_cpu = cpu_seconds(emulator_pid) - cpu0[-1]
        valkey_cpu = sum(cpu_seconds(pid) for pid in VALKEY_PIDS) - valkey0
    finally:
        stop(procs)
        await client.aclose()
    stats = await emu(line_url, "GET", "/_emulator/stats")
    print(f"  {label:44s} {sent:>8,} recipients in {span:6.2f}s = {sent / span:>9,.0f}/s from submit"
          f" ({sent / sending:,.0f}/s while sending)  duplicates {stats['duplicates']}; CPU s: workers {cpu},"
          f" emulator {emu_cpu:.1f}, 6 valkey {valkey_cpu:.1f} (= {(sum(cpu) + emu_cpu + valkey_cpu) / span:.2f} cores busy"
          f" of {os.cpu_count()})", flush=True)
    return sent / span, span, sending


async def bench_delivery(url: str, args: argparse.Namespace) -> None:
    port = free_port()
    line_url = f"http://127.0.0.1:{port}"
    emulator = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve-emulator", str(port)], cwd=REPO)
    client = connect(url)
    try:
        await wait_http(line_url + "/_emulator/stats")

        async def used() -> int:
            infos = await client.info("memory", target_nodes=client.PRIMARIES)
            return sum(int(v["used_memory"]) for v in infos.values())

        before = await used()
        t0 = time.monotonic()
        for t in TENANTS:
            await seed_subscribers(RedisUserStore(client), t, args.count)
        seeded = time.monotonic() - t0
        per = (await used() - before) / (args.count * len(TENANTS))
        print(f"seeded {args.count:,} subscribers × {len(TENANTS)} tenants in {seeded:.1f}s; {per:.0f} bytes/subscriber on the"
              f" primaries (× 2 with one replica each)", flush=True)

        limit = 200.0
        print(f"(b) one tenant, emulator throttled at LINE's multicast limit ({limit:.0f} req/s), 3 workers on the cluster:")
        await emu(line_url, "POST", "/_emulator/config", {"rate_limits": {"multicast": limit}})
        _, span, sending = await fanout(url, line_url, 3, TENANTS[:1], limit, "3 workers, throttled, 1 tenant", emulator.pid)
        calls = -(-args.count // 500)
        print(f"  achieved {calls / span:.1f} multicast req/s from submit = {calls / span / limit:.2f} of the limit,"
              f" {(calls - 1) / sending:.1f} req/s = {(calls - 1) / sending / limit:.2f} while sending (target ≥ 0.95;"
              f" baseline = the limit itself, {limit:.0f} req/s × 500 ids)")
        print("(c) three tenants at once, unthrottled:")
        await emu(line_url, "POST", "/_emulator/config", {"rate_limits": {}})
        for latency in (0, args.line_latency_ms):
            # LINE answers a multicast in tens of ms; the emulator answers at once unless told to wait
            await emu(line_url, "POST", "/_emulator/config", {"slow_rate": 1.0 if latency else 0.0, "slow_ms": latency})
            tag = f"{latency} ms LINE latency" if latency else "no LINE latency"
            one, _, _ = await fanout(url, line_url, 1, TENANTS, 1e6, f"1 worker (baseline), {tag}", emulator.pid)
            three, _, _ = await fanout(url, line_url, 3, TENANTS, 1e6, f"3 workers, {tag}", emulator.pid)
            print(f"  3 workers / 1 worker, {tag}: {three / one:.2f}×  (target ≥ 2.5; baseline {one:,.0f} recipients/s;"
                  f" {os.cpu_count()} cores shared by the workers, the emulator and 6 Valkey nodes)", flush=True)
        await emu(line_url, "POST", "/_emulator/config", {"slow_rate": 0.0, "slow_ms": 0})
    finally:
        await client.aclose()
        emulator.terminate()
        emulator.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=8.0, help="per intake run")
    ap.add_argument("--connections", type=int, default=64, help="wrk connections")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--count", type=int, default=200_000, help="subscribers per tenant")
    ap.add_argument("--line-latency-ms", type=int, default=40, help="emulated LINE latency for the second (c) run")
    ap.add_argument("--skip-webhook", action="store_true")
    ap.add_argument("--skip-delivery", action="store_true")
    ap.add_argument("--serve-emulator", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_emulator:
        serve_emulator(args.serve_emulator)
        return
    with tempfile.TemporaryDirectory() as tmp, embedded_cluster(Path(tmp) / "cluster") as cluster:
        print(f"cluster: {cluster.url} (3 primaries, 3 replicas)", flush=True)
        VALKEY_PIDS.extend(n.proc.pid for n in cluster.nodes)
        if not args.skip_webhook:
            bench_webhook(cluster, tmp, args)
        if not args.skip_delivery:
            asyncio.run(bench_delivery(cluster.url, args))


if __name__ == "__main__":
    main()
