"""Plausible synthetic KPI history for demos, screenshots and tests (``seed_history``). Deterministic per seed.

Sizes scale with a per-tenant ``scale`` so that a big city shows exact figures while a small town shows 「5未満」
cells — the dashboard's privacy rule is visible in every demo.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence

from kpi.geo import Gazetteer
from kpi.recorder import BUCKETS, KpiRecorder, MemoryKpiRecorder, _Base, date_range

CONSULT = ("living", "child", "dv", "suicide", "general")
KINDS = ("weather_warning", "earthquake", "landslide_warning", "crime", "record_rain")
SUB_CATS = ("rain_flood", "landslide", "earthquake", "tsunami", "crime", "wind_snow", "surge_wave")
LANGS = (("ja", 0.86), ("ja-easy", 0.04), ("en", 0.04), ("zh-Hans", 0.03), ("vi", 0.02), ("ko", 0.01))


async def seed_history(
    recorder: KpiRecorder,
    tenants: Mapping[str, float],
    areas: Mapping[str, Sequence[str]],
    *,
    end: dt.date,
    days: int = 30,
    seed: int = 1,
) -> None:
    """``tenants`` maps tenant id → scale (1.0 ≈ a city of 400k); ``areas`` maps tenant id → its area codes."""
    rng = random.Random(seed)
    for tenant, scale in tenants.items():
        friends = int(3000 * scale)
        for i, day in enumerate(date_range(end, days)):
            weekend = day.weekday() >= 5
            n_msg = max(0, int(rng.gauss(220 * scale * (0.6 if weekend else 1.0), 30 * scale)))
            for _ in range(n_msg):
                await recorder.message_received(tenant, day)
            added = max(0, int(rng.gauss(14 * scale, 4 * scale)))
            removed = max(0, int(rng.gauss(3 * scale, 1.5)))
            friends += added - removed
            for _ in range(added):
                await recorder.friend_added(tenant, day)
            for _ in range(removed):
                await recorder.friend_removed(tenant, day)
            n_faq = int(n_msg * 0.45)
            for _ in range(n_faq):
                await recorder.faq_answered(tenant, resolved=rng.random() < 0.72, day=day)
                if rng.random() < 0.25:
                    await recorder.faq_feedback(tenant, up=rng.random() < 0.8, day=day)
            for _ in range(int(n_msg * 0.08)):
                await recorder.faq_unanswered(tenant, day)
            for _ in range(max(0, int(rng.gauss(9 * scale, 3)))):
                cat = rng.choices(CONSULT, weights=(5, 3, 2, 1, 3))[0]
                await recorder.consultation_opened(tenant, cat, outside_hours=rng.random() < 0.3, day=day)
                await recorder.consultation_taken(tenant, cat, wait_seconds=rng.lognormvariate(5.5, 0.9), day=day)
            if rng.random() < 0.25:
                kind = rng.choice(KINDS)
                await recorder.alert_delivered(
                    tenant, kind, recipients=int(friends * 0.4), latency_seconds=rng.lognormvariate(3.2, 0.6), day=day
                )
            if i % 7 == 3:
                await recorder.broadcast_sent(tenant, recipients=friends, day=day)
            subscribers = int(friends * 0.6)
            own = list(areas.get(tenant, ())) or ["00000"]
            weights = [rng.random() + 0.2 for _ in own]
            by_area = {code: int(subscribers * w / sum(weights)) for code, w in zip(own, weights, strict=True)}
            by_area[own[0]] += subscribers - sum(by_area.values())
            by_lang = {lang: int(friends * share) for lang, share in LANGS}
            by_lang["ja"] += friends - sum(by_lang.values())
            by_cat = {c: int(subscribers * (0.95 if c in ("rain_flood", "earthquake") else rng.uniform(0.2, 0.7))) for c in SUB_CATS}
            await recorder.subscribers_snapshot(
                tenant, friends=friends, subscribers=subscribers, by_area=by_area, by_category=by_cat, by_language=by_lang, day=day
            )


async def seed_demo(recorder, tenants: Mapping[str, object], *, end: dt.date, days: int = 30, seed: int = 1) -> None:
    """Seed ``days`` of history for configured tenants (``bot.config.Tenant``s) into any recorder, in bulk.

    The history is generated in memory and written with one increment batch per tenant-day, so seeding a Redis
    recorder for ``make demo`` takes a fraction of a second instead of one round trip per synthetic event.
    The first tenant gets a big city's volume, later ones smaller, so both exact figures and 「5未満」 show.
    """
    gaz = Gazetteer.load()
    areas = {}
    for tid, t in tenants.items():
        jis5 = str(getattr(t, "lg_code", ""))[:5]
        areas[tid] = [p.jis5 for p in gaz.places.values() if p.parent == jis5] or [jis5]
    scales = {tid: (2.0, 0.8, 0.3, 0.015)[min(i, 3)] for i, tid in enumerate(tenants)}
    mem = MemoryKpiRecorder()
    await seed_history(mem, scales, areas, end=end, days=days, seed=seed)
    recorder = getattr(recorder, "_inner", recorder)  # through BestEffortRecorder
    if not isinstance(recorder, _Base):
        raise TypeError("seed_demo needs a MemoryKpiRecorder or RedisKpiRecorder")
    for tid in tenants:
        for stats in await mem.days(tid, date_range(end, days)):
            incs = dict(stats.counters)
            for name, hist in stats.hist.items():
                incs.update({f"h:{name}|{i}": n for i, n in enumerate(hist) if n and i <= len(BUCKETS)})
            await recorder._bump(tid, stats.day, incs)
            if stats.snapshot is not None:
                await recorder._snap(tid, stats.day, dict(stats.snapshot))
