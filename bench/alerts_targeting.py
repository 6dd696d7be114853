"""Alert targeting among N synthetic subscribers (default 1,000,000) in Redis, against a baseline.

    .venv/bin/python bench/alerts_targeting.py [--subscribers 1000000] [--redis-url URL] [--repeat 5]

Subscribers are spread over Osaka's municipalities/wards in proportion to their 町丁目 counts, each with one
place, the default categories and 震度4; 10 % have quiet hours, the languages are mixed and every 50th is
inactive. They are written through ``RedisUserStore.import_many`` and ``RedisSubscriptionStore.import_many``
(chunks of 5,000), so the layout is exactly the stores' (index-keyed records, membership bitmaps).
Measured: the full ``SubscriptionAudience.resolve`` (area and category bitmaps, active users, quiet hours and
language as BITOPs in Redis, then ids shipped and Recipient objects built in Python) for one municipality, one
ward (earthquake, ward+city rollup) and the whole of 大阪市. Baseline (same run): the bare bitmap algebra of the
same query (BITOP OR of the area bitmaps, AND the OR of the category bitmaps, BITCOUNT; nothing shipped) — the
floor any implementation of this layout pays. Also printed: Redis used_memory per subscriber.
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
from collections.abc import Iterator
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
    area_keys_for_query,
)
from bot.redis_server import embedded_redis  # noqa: E402
from bot.users import RedisUserStore, User  # noqa: E402
from broadcasts.audience import AudienceQuery  # noqa: E402

T = "bench"
CHUNK = 5000
LANGS = ("ja", "en", "zh-Hans", "ko", "vi", "ja")


def placements(g: Gazetteer, n: int) -> Iterator[str]:
    """The place code of each subscriber: wards and non-designated cities, in proportion to their 町丁目 counts."""
    units = [m for m in g.municipalities(wards=True) if not g.wards_of(m.jis5)]
    with open(Path(__file__).resolve().parent.parent / "alerts" / "data" / "osaka_municipalities.csv", encoding="utf-8") as fh:
        counts = {line.split(",")[2]: int(line.split(",")[9]) for line in fh.readlines()[1:]}
    total = sum(counts[m.jis5] for m in units)
    for m in units:
        yield from [m.jis5] * round(n * counts[m.jis5] / total)


async def load(r: aioredis.Redis, g: Gazetteer, n: int) -> int:
    """Write the subscribers through both stores' ``import_many``; returns how many were written."""
    users, store = RedisUserStore(r), RedisSubscriptionStore(r, g)
    quiet = QuietHours("22:00", "07:00")
    codes = list(placements(g, n))
    for lo in range(0, len(codes), CHUNK):
        batch_users, batch_subs = [], []
        for i in range(lo, min(lo + CHUNK, len(codes))):
            uid, lang = f"U{i:032x}", LANGS[i % 6]
            batch_users.append(User(tenant=T, user_id=uid, active=i % 50 != 0, language=lang, synthetic=True))
            batch_subs.append(Subscription(T, uid, places=[Place("p1", "自宅", codes[i])], language=lang,
                                           quiet_hours=quiet if i % 10 == 0 else None))
        await users.import_many(batch_users)
        await store.import_many(batch_subs)
    return len(codes)


async def bare_bitmaps(r: aioredis.Redis, areas: list[str], cats: tuple[str, ...]) -> int:
    """The baseline: (OR of the area bitmaps) AND (OR of the category bitmaps), counted in Redis."""
    k = RedisSubscriptionStore._k
    async with r.pipeline(transaction=True) as pipe:
        pipe.bitop("OR", "bench:a", *[k(T, f"b:{a}") for a in areas])
        pipe.bitop("OR", "bench:c", *[k(T, f"c:{c}") for c in cats])
        pipe.bitop("AND", "bench:a", "bench:a", "bench:c")
        pipe.bitcount("bench:a")
        pipe.delete("bench:a", "bench:c")
        return int((await pipe.execute())[3])


async def run(url: str, n: int, repeat: int) -> None:
    r = aioredis.Redis.from_url(url, decode_responses=True)
    await r.flushdb()
    g = Gazetteer.load()
    before = int((await r.info("memory"))["used_memory"])
    t0 = time.perf_counter()
    loaded = await load(r, g, n)
    used = int((await r.info("memory"))["used_memory"]) - before
    print(f"loaded {loaded:,} subscribers through import_many in {time.perf_counter() - t0:.1f} s; "
          f"used_memory {used / 2**20:.0f} MiB ({used / loaded:.0f} B per subscriber)")
    store = RedisSubscriptionStore(r, g)
    noon = dt.datetime(2026, 7, 1, 3, 0, tzinfo=dt.UTC)
    audience = SubscriptionAudience(store, RedisUserStore(r), g, clock=lambda: noon)
    cases = [
        ("吹田市 rain_flood", ("2720500",), ("rain_flood",)),
        ("大阪市此花区 earthquake 震度4", ("2710400",), earthquake_targets(4)),
        ("大阪市 (24 wards) rain_flood", ("2710000",), ("rain_flood",)),
    ]
    worst_area = 0.0
    for label, codes, cats in cases:
        areas = area_keys_for_query(codes, g)
        base, full, first, members, count = [], [], [], 0, 0
        for _ in range(repeat):
            t = time.perf_counter()
            members = await bare_bitmaps(r, areas, cats)
            base.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            count = 0
            async for _rcp in audience.resolve(AudienceQuery(tenant=T, area_codes=codes, categories=cats)):
                if count == 0:
                    first.append((time.perf_counter() - t) * 1000)
                count += 1
            full.append((time.perf_counter() - t) * 1000)
        b, f = statistics.median(base), statistics.median(full)
        if label != cases[-1][0]:  # the target is about one municipality or ward, not all of 大阪市
            worst_area = max(worst_area, f)
        print(f"{label:30s} members {members:>8,}  recipients {count:>8,}  all {f:7.1f} ms  first {statistics.median(first):6.1f} ms"
              f"  baseline BITOP+BITCOUNT {b:6.1f} ms  ({f / b:.1f}× baseline)")
    print(f"target ≤ 200 ms for one area among {loaded:,}: {'met' if worst_area <= 200 else 'MISSED'} (worst {worst_area:.1f} ms)")
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
