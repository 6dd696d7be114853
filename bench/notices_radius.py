"""Police-notice targeting among N synthetic subscribers (default 1,000,000): who is within 1 km of the town.

Measured on an embedded Redis of its own, through the real code:
* ``near``    — ``RedisSubscriptionStore.near``: one script call (GEOSEARCH on ``cb:{t}:alerts:g``, hits kept by
  the ``crime`` category bitmap), then the ids of the kept indexes;
* ``resolve`` — ``NoticeAudience`` over ``SubscriptionAudience``: the whole police audience (radius + the
  ward's whole-area registrants, active users, profiles), what the delivery engine iterates.
Baselines in the same run, on the same data:
* ``GEOSEARCH`` — the raw GEOSEARCH on ``cb:{t}:alerts:g`` alone (members shipped, no category filter, no ids):
  the floor of ``near``;
* ``floor``     — the floor of ``resolve``: that GEOSEARCH plus the bare bitmap algebra of the area part
  (BITOP OR of the whole-area bitmaps, AND ``crime``, BITCOUNT), in one round trip;
* ``numpy``     — a vectorized haversine scan over all N points in memory.
Target: ``near`` ≤ 50 ms p95 at N = 1,000,000. The last line times ``rebuild_indexes`` (migration and repair)
over the stored subscription documents.

Load shape: subscribers spread uniformly over Osaka's 町丁目 (so central wards are dense), σ≈150 m jitter, 10%
registered as a whole municipality (no point); everyone wants ``crime`` and is an active friend. All are written
through ``RedisUserStore.import_many`` and ``RedisSubscriptionStore.import_many`` in chunks of 5,000.

    .venv/bin/python bench/notices_radius.py [--n 1000000] [--repeat 15]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import redis.asyncio as aioredis

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from alerts.geo import Gazetteer  # noqa: E402
from alerts.notices.audience import NoticeAudience  # noqa: E402
from alerts.notices.geocode import towns_of  # noqa: E402
from alerts.subscriptions import (  # noqa: E402
    Place,
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
CENTRES = [("27127", "梅田一丁目"), ("27118", "蒲生一丁目"), ("27227", "若江北町三丁目")]
RESOLVE_WARD = "27118"  # the full police audience (radius + whole-ward registrants) is measured here
k = RedisSubscriptionStore._k


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def haversine_np(lat: float, lng: float, lats: np.ndarray, lngs: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat), np.radians(lats)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lngs - lng) / 2) ** 2
    return 2 * 6371008.8 * np.arcsin(np.sqrt(a))


async def load(r: aioredis.Redis, g: Gazetteer, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Write N friends and their ``crime`` subscriptions; returns the points (NaN for whole-municipality ones)."""
    towns = [t for m in g.municipalities() for t in towns_of(g, m.jis5) if t.lat == t.lat]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(towns), n)
    lats = np.array([t.lat for t in towns])[idx] + rng.normal(0, 150 / 111_320, n)
    lngs = np.array([t.lng for t in towns])[idx] + rng.normal(0, 150 / 91_500, n)
    whole = rng.random(n) < 0.10
    codes = np.array([t.code for t in towns])[idx]
    store, users = RedisSubscriptionStore(r, g), RedisUserStore(r)
    started = time.perf_counter()
    for lo in range(0, n, CHUNK):
        js = range(lo, min(lo + CHUNK, n))
        await users.import_many([User(tenant=T, user_id=f"S{j}", synthetic=True) for j in js])
        await store.import_many([
            Subscription(tenant=T, user_id=f"S{j}", categories=["crime"], places=[
                Place("p1", "自宅", str(codes[j])) if whole[j]
                else Place("p1", "自宅", str(codes[j]), float(lats[j]), float(lngs[j]))])
            for j in js
        ])
    print(f"loaded {n:,} subscribers ({int(whole.sum()):,} whole-municipality, no point) through import_many "
          f"in {time.perf_counter() - started:.1f} s")
    return np.where(whole, np.nan, lats), np.where(whole, np.nan, lngs)


async def geosearch(r: aioredis.Redis, lat: float, lng: float, radius_m: float) -> list[str]:
    return await r.geosearch(k(T, "g"), longitude=lng, latitude=lat, radius=radius_m, unit="m")


async def resolve_floor(r: aioredis.Redis, g: Gazetteer, code: str, lat: float, lng: float, radius_m: float) -> int:
    """GEOSEARCH + (OR of the whole-area bitmaps AND ``crime``) counted, in one round trip; nothing resolved."""
    areas = [k(T, f"b:{a}") for a in area_keys_for_query((code,), g, unlocated_only=True)]
    async with r.pipeline(transaction=False) as pipe:
        pipe.geosearch(k(T, "g"), longitude=lng, latitude=lat, radius=radius_m, unit="m")
        pipe.bitop("OR", "bench:a", *areas)
        pipe.bitop("AND", "bench:a", "bench:a", k(T, "c:crime"))
        pipe.bitcount("bench:a")
        pipe.delete("bench:a")
        hits, _, _, whole_area, _ = await pipe.execute()
    return len(hits) + int(whole_area)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--radius", type=float, default=1000.0)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    g = Gazetteer.load()
    with tempfile.TemporaryDirectory(prefix="civicbot-bench-notices-") as tmp, embedded_redis(Path(tmp), appendonly=False) as h:
        r = aioredis.Redis.from_url(h.url, decode_responses=True)
        before = (await r.info("memory"))["used_memory"]
        lats, lngs = await load(r, g, args.n, args.seed)
        used = (await r.info("memory"))["used_memory"] - before
        print(f"redis used_memory {used / 1e6:.0f} MB ({used / args.n:.0f} B per subscriber)")
        store = RedisSubscriptionStore(r, g)
        audience = NoticeAudience(SubscriptionAudience(store, RedisUserStore(r), g), store, g)
        print(f"{'centre':<22}{'in radius':>10}{'near p50':>9}{'p95':>7}{'GEOSEARCH p50':>14}"
              f"{'resolve p50':>12}{'p95':>7}{'floor p50':>10}{'recipients':>11}{'numpy p50':>10}")
        worst = 0.0
        for code, town_name in CENTRES:
            town = g.find_towns(town_name, within=code)[0]
            near_ms, geo_ms, resolve_ms, floor_ms, np_ms = [], [], [], [], []
            hits = recipients = 0
            q = AudienceQuery(tenant=T, area_codes=(code,), categories=("crime",), center=(town.lat, town.lng), radius_m=args.radius)
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                found = await store.near(T, town.lat, town.lng, args.radius, ("crime",))
                near_ms.append((time.perf_counter() - t0) * 1000)
                hits = len(found)
                t0 = time.perf_counter()
                raw = await geosearch(r, town.lat, town.lng, args.radius)
                geo_ms.append((time.perf_counter() - t0) * 1000)
                assert len(raw) == hits, (len(raw), hits)  # one place each, everyone wants crime
                if code == RESOLVE_WARD:
                    t0 = time.perf_counter()
                    got = {x.user_id async for x in audience.resolve(q)}
                    resolve_ms.append((time.perf_counter() - t0) * 1000)
                    recipients = len(got)
                    t0 = time.perf_counter()
                    expected = await resolve_floor(r, g, code, town.lat, town.lng, args.radius)
                    floor_ms.append((time.perf_counter() - t0) * 1000)
                    assert recipients == expected, (recipients, expected)  # near + whole-ward, all active
                t0 = time.perf_counter()
                base = int(np.count_nonzero(haversine_np(town.lat, town.lng, lats, lngs) <= args.radius))
                np_ms.append((time.perf_counter() - t0) * 1000)
            assert base >= hits * 0.98, (base, hits)  # same people, up to GEO hash rounding at the edge
            worst = max(worst, pct(near_ms, 0.95))

            def cell(ms: list[float], q: float, width: int) -> str:
                return f"{(statistics.median(ms) if q == 0.5 else pct(ms, q)):>{width}.1f}" if ms else f"{'-':>{width}}"

            print(f"{town_name + ' (' + code + ')':<22}{hits:>10,}{cell(near_ms, .5, 9)}{cell(near_ms, .95, 7)}"
                  f"{cell(geo_ms, .5, 14)}{cell(resolve_ms, .5, 12)}{cell(resolve_ms, .95, 7)}{cell(floor_ms, .5, 10)}"
                  f"{(f'{recipients:,}' if resolve_ms else '-'):>11}{cell(np_ms, .5, 10)}")
        print(f"target near p95 ≤ 50 ms: {'met' if worst <= 50 else 'MISSED'} (worst {worst:.1f} ms)")
        t0 = time.perf_counter()
        docs = await store.rebuild_indexes(T)
        print(f"rebuild_indexes (migration and repair, idempotent): {docs:,} subscription documents in {time.perf_counter() - t0:.1f} s")
        await r.aclose()


if __name__ == "__main__":
    asyncio.run(main())
