"""Police-notice targeting among N synthetic subscribers (default 1,000,000): who is within 1 km of the town.

Measured on an embedded Redis of its own, through the real code:
* ``near``    — ``RedisSubscriptionStore.near`` (GEOSEARCH + the candidates' subscriptions): the radius targeting;
* ``resolve`` — ``NoticeAudience`` over ``SubscriptionAudience``: the whole police audience (radius + the
  municipality's whole-area registrants, active users, profiles), what the delivery engine iterates;
* ``geo``     — GEOSEARCH + one HMGET of the candidates' profiles, without reading each subscription: what a
  per-category GEO index in the subscriptions room would cost (a proposal, measured here);
* ``numpy``   — baseline in the same run: a vectorized haversine scan over all N points in memory.
Target: ``near`` ≤ 50 ms p95 at N = 1,000,000.

Load shape: subscribers spread uniformly over Osaka's 町丁目 (so central wards are dense), σ≈150 m jitter, 10%
registered as a whole municipality (no point). Points in the benchmark centres' wards are saved as full
subscriptions (users, membership sets, profiles): everyone within 1.5 km of a centre and everyone in 城東区
(where ``resolve`` is measured); the others only enter the GEO index, which is all a radius query touches.

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
from alerts.subscriptions import Place, RedisSubscriptionStore, Subscription, SubscriptionAudience  # noqa: E402
from bot.redis_server import embedded_redis  # noqa: E402
from bot.users import RedisUserStore, User  # noqa: E402
from broadcasts.audience import AudienceQuery  # noqa: E402

T = "bench"
CENTRES = [("27127", "梅田一丁目"), ("27118", "蒲生一丁目"), ("27227", "若江北町三丁目")]
RESOLVE_WARD = "27118"  # the full police audience (radius + whole-ward registrants) is measured here


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def haversine_np(lat: float, lng: float, lats: np.ndarray, lngs: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat), np.radians(lats)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lngs - lng) / 2) ** 2
    return 2 * 6371008.8 * np.arcsin(np.sqrt(a))


async def load(r: aioredis.Redis, g: Gazetteer, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    towns = [t for m in g.municipalities() for t in towns_of(g, m.jis5) if t.lat == t.lat]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(towns), n)
    lat0 = np.array([t.lat for t in towns])[idx]
    lng0 = np.array([t.lng for t in towns])[idx]
    lats = lat0 + rng.normal(0, 150 / 111_320, n)
    lngs = lng0 + rng.normal(0, 150 / 91_500, n)
    whole = rng.random(n) < 0.10
    codes = np.array([t.code for t in towns])[idx]
    # full subscriptions: everyone a 1 km query around a centre can touch, and the whole ward of RESOLVE_WARD
    full = codes == RESOLVE_WARD
    for code, name in CENTRES:
        t = g.find_towns(name, within=code)[0]
        full |= haversine_np(t.lat, t.lng, lats, lngs) <= 1500
    store, users = RedisSubscriptionStore(r, g), RedisUserStore(r)
    started = time.perf_counter()
    geo_key = f"cb:{{{T}}}:alerts:geo"
    rest = np.nonzero(~full & ~whole)[0]
    for i in range(0, len(rest), 20_000):
        chunk = rest[i : i + 20_000]
        flat: list = []
        for j in chunk:
            flat += [float(lngs[j]), float(lats[j]), f"S{j}|p1"]
        await r.execute_command("GEOADD", geo_key, *flat)
    sem = asyncio.Semaphore(64)

    async def save(j: int) -> None:
        async with sem:
            uid = f"S{j}"
            place = Place("p1", "自宅", str(codes[j])) if whole[j] else Place("p1", "自宅", str(codes[j]), float(lats[j]), float(lngs[j]))
            await users.save(User(tenant=T, user_id=uid))
            await store.save(Subscription(tenant=T, user_id=uid, places=[place], categories=["crime"]))

    await asyncio.gather(*(save(int(j)) for j in np.nonzero(full)[0]))
    print(f"loaded {n:,} subscribers ({int(full.sum()):,} as full subscriptions) "
          f"in {time.perf_counter() - started:.1f} s")
    return np.where(whole, np.nan, lats), np.where(whole, np.nan, lngs), time.perf_counter() - started


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
        lats, lngs, _ = await load(r, g, args.n, args.seed)
        mem = await r.info("memory")
        print(f"redis used_memory {mem['used_memory'] / 1e6:.0f} MB")
        store = RedisSubscriptionStore(r, g)
        audience = NoticeAudience(SubscriptionAudience(store, RedisUserStore(r), g), store, g)
        print(f"{'centre':<22}{'in radius':>10}{'near p50':>10}{'near p95':>10}{'geo p95':>9}{'resolve p50':>13}"
              f"{'recipients':>11}{'numpy p50':>11}{'numpy/near':>11}")
        worst = worst_geo = 0.0
        for code, town_name in CENTRES:
            town = g.find_towns(town_name, within=code)[0]
            near_ms, resolve_ms, np_ms, geo_ms = [], [], [], []
            hits = recipients = 0
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                found = await store.near(T, town.lat, town.lng, args.radius, ("crime",))
                near_ms.append((time.perf_counter() - t0) * 1000)
                hits = len(found)
                t0 = time.perf_counter()
                members = await r.geosearch(f"cb:{{{T}}}:alerts:geo", longitude=town.lng, latitude=town.lat, radius=args.radius, unit="m")
                uids = list(dict.fromkeys(m.split("|", 1)[0] for m in members))
                if uids:
                    await r.hmget(f"cb:{{{T}}}:alerts:profile", uids)
                geo_ms.append((time.perf_counter() - t0) * 1000)
                if code == RESOLVE_WARD:
                    q = AudienceQuery(tenant=T, area_codes=(code,), categories=("crime",), center=(town.lat, town.lng), radius_m=args.radius)
                    t0 = time.perf_counter()
                    recipients = sum([1 async for _ in audience.resolve(q)])
                    resolve_ms.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                base = int(np.count_nonzero(haversine_np(town.lat, town.lng, lats, lngs) <= args.radius))
                np_ms.append((time.perf_counter() - t0) * 1000)
            assert base >= hits * 0.98, (base, hits)  # same people, up to GEO hash rounding at the edge
            worst = max(worst, pct(near_ms, 0.95))
            worst_geo = max(worst_geo, pct(geo_ms, 0.95))
            ratio = statistics.median(np_ms) / statistics.median(near_ms)
            print(f"{town_name + ' (' + code + ')':<22}{hits:>10,}{statistics.median(near_ms):>10.1f}{pct(near_ms, 0.95):>10.1f}"
                  f"{pct(geo_ms, 0.95):>9.1f}{(f'{statistics.median(resolve_ms):.1f}' if resolve_ms else '-'):>13}"
                  f"{(f'{recipients:,}' if resolve_ms else '-'):>11}{statistics.median(np_ms):>11.1f}{ratio:>11.2f}")
        print(f"target near p95 ≤ 50 ms: {'met' if worst <= 50 else 'MISSED'} (worst {worst:.1f} ms); "
              f"geo-only worst p95 {worst_geo:.1f} ms")
        await r.aclose()


if __name__ == "__main__":
    asyncio.run(main())
