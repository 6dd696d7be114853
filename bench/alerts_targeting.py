"""Alert targeting among N synthetic subscribers (default 1,000,000) in Redis, against a baseline.

    .venv/bin/python bench/alerts_targeting.py [--subscribers 1000000] [--redis-url URL] [--repeat 5]

Subscribers are spread over Osaka's municipalities/wards in proportion to their 町丁目 counts, each with one
place, the default categories and 震度4; 10 % have quiet hours and every 50th is inactive. The store layout is
exactly ``RedisSubscriptionStore``'s (written in bulk through ``index_entries``). Measured: the full
``SubscriptionAudience.resolve`` (membership union, active users, quiet hours and language as set operations
in Redis, then Recipient objects in Python) for one
municipality, one ward (earthquake, ward+city rollup) and the whole of 大阪市. Baseline (same run): the bare
Redis SUNION of the same membership keys — the floor any implementation of this layout pays.
Target: ≤ 200 ms for one area among 1,000,000 subscribers.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis.asyncio as aioredis  # noqa: E402

from alerts.categories import earthquake_targets  # noqa: E402
from alerts.geo import Gazetteer  # noqa: E402
from alerts.subscriptions import (  # noqa: E402
    Place,
    QuietHours,
    RedisSubscriptionStore,
    Subscription,
    SubscriptionAudience,
    _encode_profile,
    area_keys_for_query,
    index_entries,
)
from bot.redis_server import embedded_redis  # noqa: E402
from bot.users import RedisUserStore  # noqa: E402
from broadcasts.audience import AudienceQuery  # noqa: E402

T = "bench"


async def load(r: aioredis.Redis, g: Gazetteer, n: int) -> None:
    units = [m for m in g.municipalities(wards=True) if not g.wards_of(m.jis5)]  # wards + non-designated cities
    weights = []
    with open(Path(__file__).resolve().parent.parent / "alerts" / "data" / "osaka_municipalities.csv", encoding="utf-8") as fh:
        counts = {line.split(",")[2]: int(line.split(",")[9]) for line in fh.readlines()[1:]}
    for m in units:
        weights.append(counts[m.jis5])
    total = sum(weights)
    members: dict[str, list[str]] = defaultdict(list)
    profiles: dict[str, str] = {}
    by_lang: dict[str, list[str]] = defaultdict(list)
    quiet_ids: list[str] = []
    active: list[str] = []
    quiet = QuietHours("22:00", "07:00")
    i = 0
    for m, w in zip(units, weights):
        share = round(n * w / total)
        template = Subscription(T, "x", places=[Place("p1", "自宅", m.jis5)])
        entries = index_entries(template, g)
        for _ in range(share):
            uid = f"U{i:032x}"
            for key, cat in entries:
                members[f"cb:{{{T}}}:alerts:m:{key}:{cat}"].append(uid)
            template.quiet_hours = quiet if i % 10 == 0 else None
            template.language = ("ja", "en", "zh-Hans", "ko", "vi", "ja")[i % 6]
            profiles[uid] = _encode_profile(template)
            by_lang[template.language].append(uid)
            if template.quiet_hours:
                quiet_ids.append(uid)
            if i % 50:
                active.append(uid)
            i += 1
    chunk = 20000
    for key, uids in members.items():
        for j in range(0, len(uids), chunk):
            await r.sadd(key, *uids[j : j + chunk])
    items = list(profiles.items())
    for j in range(0, len(items), chunk):
        await r.hset(f"cb:{{{T}}}:alerts:profile", mapping=dict(items[j : j + chunk]))
    for lang, uids in by_lang.items():
        members[f"cb:{{{T}}}:alerts:lang:{lang}"] = uids
    members[f"cb:{{{T}}}:alerts:quiet:{quiet.encode()}"] = quiet_ids
    members[f"cb:{{{T}}}:alerts:quietwins"] = [quiet.encode()]
    for key in [k for k in members if ":lang:" in k or ":quiet" in k]:
        for j in range(0, len(members[key]), chunk):
            await r.sadd(key, *members[key][j : j + chunk])
    for j in range(0, len(active), chunk):
        await r.sadd(f"cb:{{{T}}}:users:active", *active[j : j + chunk])
    index = {k: v for k, v in members.items() if ":m:" in k}
    print(f"loaded {i:,} subscribers, {sum(len(v) for v in index.values()):,} membership entries, {len(index)} keys")


async def run(url: str, n: int, repeat: int) -> None:
    r = aioredis.Redis.from_url(url, decode_responses=True)
    await r.flushdb()
    g = Gazetteer.load()
    t0 = time.perf_counter()
    await load(r, g, n)
    print(f"bulk load {time.perf_counter() - t0:.1f} s; used_memory {int((await r.info('memory'))['used_memory']) / 2**20:.0f} MiB")
    store = RedisSubscriptionStore(r, g)
    noon = dt.datetime(2026, 7, 1, 3, 0, tzinfo=dt.timezone.utc)
    audience = SubscriptionAudience(store, RedisUserStore(r), g, clock=lambda: noon)
    cases = [
        ("吹田市 rain_flood", ("2720500",), ("rain_flood",)),
        ("大阪市此花区 earthquake 震度4", ("2710400",), earthquake_targets(4)),
        ("大阪市 (24 wards) rain_flood", ("2710000",), ("rain_flood",)),
    ]
    for label, codes, cats in cases:
        keys = [f"cb:{{{T}}}:alerts:m:{k}:{c}" for k in area_keys_for_query(codes, g) for c in cats]
        base, full, first, count = [], [], [], 0
        for _ in range(repeat):
            t = time.perf_counter()
            ids = await r.sunion(keys)
            base.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            count = 0
            async for _rcp in audience.resolve(AudienceQuery(tenant=T, area_codes=codes, categories=cats)):
                if count == 0:
                    first.append((time.perf_counter() - t) * 1000)
                count += 1
            full.append((time.perf_counter() - t) * 1000)
        b, f = statistics.median(base), statistics.median(full)
        print(f"{label:30s} members {len(ids):>8,}  recipients {count:>8,}  all {f:7.1f} ms  first {statistics.median(first):6.1f} ms"
              f"  baseline SUNION {b:6.1f} ms  ({f / b:.1f}× baseline)")
    await r.flushdb()
    await r.aclose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subscribers", type=int, default=1_000_000)
    ap.add_argument("--redis-url")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if args.redis_url:
        asyncio.run(run(args.redis_url, args.subscribers, args.repeat))
        return
    with tempfile.TemporaryDirectory() as tmp, embedded_redis(tmp, appendonly=False) as handle:
        asyncio.run(run(handle.url, args.subscribers, args.repeat))


if __name__ == "__main__":
    main()
