"""From a parsed JMA telegram to delivery jobs: what changed, for whom, how urgent.

``process_telegram(telegram, deps)`` is the one entry point (the feed poller and ``civicbot demo-alert`` call it):

* 訓練/試験 never reach residents — they go to ``deps.on_drill`` (admin view) and produce no job;
* 取消 sends a cancellation to exactly the people the original alerts were resolved to;
* 訂正 sends the corrected content again, marked 【訂正】;
* only changes push: a new warning or an upgrade (level ≥ 3), 土砂災害警戒情報 発表, a 震度 higher than already
  reported for that place in the same earthquake, a tsunami level change; 継続 never does; 解除 only reaches
  residents who asked for it (``notify_lift``);
* one job per (change group, tenant) with ``source_id = jma:<type>:<EventID>:<Serial>:…`` so a re-fetched or
  re-submitted telegram is never sent twice; priority ``emergency`` (quiet hours ignored) for 特別警報, level ≥ 4,
  津波警報, 震度5弱 and above.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Protocol

from alerts.categories import TSUNAMI, earthquake_targets, lift_category
from alerts.geo import SEISMIC_NORTH, SEISMIC_SOUTH, TSUNAMI_OSAKA, Gazetteer, Municipality
from alerts.jma.parser import TSUNAMI_LIFTED, Telegram, intensity_rank, tsunami_level
from alerts.messages import LANGS, SEISMIC_AREAS, AlertText, alert_label, render_all
from bot.redis_client import RedisClient
from broadcasts.audience import AudienceQuery
from broadcasts.jobs import Deliverer, DeliveryJob, Priority

log = logging.getLogger("civicbot.alerts")
LEDGER_TTL = 7 * 24 * 3600
GLOBAL = "jma"  # JMA telegrams are not per tenant: their bookkeeping lives under cb:{jma}:alerts:*


# Weather state across telegram types: during the 2026 transition JMA sends the same warning in the old
# VPWW53/54 and in the new per-hazard VPWW55–61 (and 土砂災害警戒情報 as VXWW50 and VPWW56). The level last known per
# (municipality, hazard) decides whether a 発表 is news, so a resident hears about it once whichever arrives first.
WEATHER_STATE = "wx:state"
HAZARDS = ("暴風雪", "土砂", "大雨", "洪水", "高潮", "波浪", "暴風", "大雪")
LEGACY_WEATHER = {"VPWW53", "VPWW54"}
_OLD_HAZARDS = {"大雨", "洪水", "高潮", "波浪", "暴風", "暴風雪", "大雪"}
TYPE_HAZARDS: dict[str, set[str]] = {
    "VPWW53": _OLD_HAZARDS, "VPWW54": _OLD_HAZARDS, "VPWW55": {"大雨", "洪水"}, "VPWW56": {"土砂"}, "VPWW57": {"高潮"},
    "VPWW58": {"暴風", "暴風雪"}, "VPWW59": {"波浪"}, "VPWW60": {"大雪", "暴風雪"}, "VPWW61": set(), "VXWW50": {"土砂"},
}


def hazard_of(name: str) -> str | None:
    if name == "土砂災害警戒情報":
        return "土砂"
    return next((h for h in HAZARDS if h in name), None)


@dataclass(frozen=True)
class SentAlert:
    """One job we created, remembered per event so a 取消 can follow it."""

    tenant: str
    source_id: str
    title: str
    link_kind: str
    priority: str
    reported_at: str
    titles: dict[str, str] = field(default_factory=dict)  # language -> what the alert was called (alert_label)


class AlertLedger(Protocol):
    """Per-event bookkeeping: levels already pushed per area (no repeat pushes) and jobs sent (for 取消)."""

    async def ranks(self, event_key: str) -> dict[str, int]: ...
    async def save_ranks(self, event_key: str, ranks: dict[str, int]) -> None: ...
    async def clear(self, event_key: str) -> None: ...
    async def add_sent(self, event_key: str, sent: list[SentAlert]) -> None: ...
    async def sent(self, event_key: str) -> list[SentAlert]: ...


class MemoryAlertLedger:
    def __init__(self) -> None:
        self._ranks: dict[str, dict[str, int]] = {}
        self._sent: dict[str, list[SentAlert]] = {}

    async def ranks(self, event_key: str) -> dict[str, int]:
        return dict(self._ranks.get(event_key, {}))

    async def save_ranks(self, event_key: str, ranks: dict[str, int]) -> None:
        self._ranks.setdefault(event_key, {}).update(ranks)

    async def clear(self, event_key: str) -> None:
        self._ranks.pop(event_key, None)

    async def add_sent(self, event_key: str, sent: list[SentAlert]) -> None:
        self._sent.setdefault(event_key, []).extend(sent)

    async def sent(self, event_key: str) -> list[SentAlert]:
        return list(self._sent.get(event_key, []))


class RedisAlertLedger:
    """``cb:{jma}:alerts:ranks:<event>`` (hash area → level) and ``cb:{jma}:alerts:jobs:<event>`` (list of JSON)."""

    def __init__(self, client: RedisClient) -> None:
        self._r = client

    @staticmethod
    def _k(name: str) -> str:
        return f"cb:{{{GLOBAL}}}:alerts:{name}"

    async def ranks(self, event_key: str) -> dict[str, int]:
        return {k: int(v) for k, v in (await self._r.hgetall(self._k(f"ranks:{event_key}"))).items()}

    async def save_ranks(self, event_key: str, ranks: dict[str, int]) -> None:
        if ranks:
            key = self._k(f"ranks:{event_key}")
            await self._r.hset(key, mapping={k: str(v) for k, v in ranks.items()})
            await self._r.expire(key, LEDGER_TTL)

    async def clear(self, event_key: str) -> None:
        await self._r.delete(self._k(f"ranks:{event_key}"))

    async def add_sent(self, event_key: str, sent: list[SentAlert]) -> None:
        if sent:
            key = self._k(f"jobs:{event_key}")
            await self._r.rpush(key, *(json.dumps(asdict(s), ensure_ascii=False) for s in sent))
            await self._r.expire(key, LEDGER_TTL)

    async def sent(self, event_key: str) -> list[SentAlert]:
        return [SentAlert(**json.loads(raw)) for raw in await self._r.lrange(self._k(f"jobs:{event_key}"), 0, -1)]


@dataclass
class AlertDeps:
    deliverer: Deliverer
    gazetteer: Gazetteer
    ledger: AlertLedger
    tenants: Callable[[], Iterable[str]]  # tenant ids to notify (each resolves its own subscribers)
    on_drill: Callable[[Telegram], Awaitable[None]] | None = None  # 訓練/試験: shown to admins only
    may_reach: Callable[[AudienceQuery], Awaitable[bool]] | None = None  # skip jobs nobody can receive
    languages: tuple[str, ...] = LANGS
    on_actual: Callable[[Telegram], Awaitable[None]] | None = None  # observer of every real telegram (disaster mode)


@dataclass
class _Group:
    """One message to one set of places: a change of one kind, category and level."""

    slug: str
    text: AlertText
    categories: tuple[str, ...]
    codes: list[str] = field(default_factory=list)
    emergency: bool = False


def event_key(tg: Telegram) -> str:
    """Telegrams about the same event share this key (VXSE51/53 of one quake, VTSE41/51 of one tsunami)."""
    if tg.type.startswith("VXSE"):
        return f"eq:{tg.event_id}"
    if tg.type.startswith("VTSE"):
        return f"ts:{tg.event_id}"
    return f"{tg.type}:{tg.event_id or tg.office}"


async def process_telegram(tg: Telegram, deps: AlertDeps) -> list[DeliveryJob]:
    """Create and submit the delivery jobs a telegram calls for; returns them (empty for drills, no change …)."""
    if not tg.is_actual:
        log.info("jma telegram not for residents", extra={"type": tg.type, "status": tg.status, "event_id": tg.event_id})
        if deps.on_drill is not None:
            await deps.on_drill(tg)
        return []
    if tg.kind == "unsupported":
        log.info("jma telegram type ignored", extra={"type": tg.type})
        return []
    if deps.on_actual is not None:
        try:
            await deps.on_actual(tg)
        except Exception:  # the observer (disaster mode) must never stop residents' alerts
            log.exception("telegram observer failed", extra={"type": tg.type, "event_id": tg.event_id})
    key = event_key(tg)
    if tg.info_type == "cancelled":
        return await _cancel(tg, key, deps)
    state: dict[str, dict[str, int]] = {}
    groups = await _groups(tg, key, deps, state)
    jobs: list[DeliveryJob] = []
    sent: list[SentAlert] = []
    for g in groups:
        priority: Priority = "emergency" if g.emergency else "alert"
        messages = render_all(g.text, deps.gazetteer, deps.languages)
        for tenant in deps.tenants():
            source_id = f"jma:{tg.key}:{g.slug}"
            job = DeliveryJob(
                tenant=tenant,
                audience=AudienceQuery(
                    tenant=tenant,
                    area_codes=tuple(dict.fromkeys(g.codes)),
                    categories=tuple(g.categories),
                    ignore_quiet_hours=g.emergency,
                    record_as=source_id,
                ),
                messages=messages,
                priority=priority,
                kind=f"jma:{tg.type}",
                source_id=source_id,
                reported_at=tg.reported_at.timestamp(),
                title=messages["ja"][0]["text"].split("\n", 1)[0][:80],
            )
            if deps.may_reach is not None and not await deps.may_reach(job.audience):
                continue
            await deps.deliverer.submit(job)
            jobs.append(job)
            titles = {lang: alert_label(g.text, lang) for lang in messages}
            sent.append(SentAlert(tenant, source_id, tg.title, g.text.link_kind, priority, tg.reported_at.isoformat(), titles))
    await deps.ledger.add_sent(key, sent)
    for ledger_key, ranks in state.items():
        await deps.ledger.save_ranks(ledger_key, ranks)
    log.info("jma telegram processed", extra={"type": tg.type, "event": key, "groups": len(groups), "jobs": len(jobs)})
    return jobs


async def _cancel(tg: Telegram, key: str, deps: AlertDeps) -> list[DeliveryJob]:
    records = await deps.ledger.sent(key)
    if not tg.type.startswith(("VXSE", "VTSE")) and records:
        latest = max(r.reported_at for r in records)  # weather telegrams share a key per office: cancel the latest
        records = [r for r in records if r.reported_at == latest]
    jobs = []
    for r in records:
        text = AlertText(kind="cancelled", link_kind=r.link_kind, title=r.title, titles=r.titles or None, reported_at=tg.reported_at)
        job = DeliveryJob(
            tenant=r.tenant,
            audience=AudienceQuery(tenant=r.tenant, replay_of=r.source_id, ignore_quiet_hours=True),
            messages=render_all(text, deps.gazetteer, deps.languages),
            priority=r.priority,  # type: ignore[arg-type]
            kind=f"jma:{tg.type}:cancel",
            source_id=f"{r.source_id}:cancel",
            reported_at=tg.reported_at.timestamp(),
            title=f"取消：{r.titles.get('ja') or r.title}"[:80],
        )
        await deps.deliverer.submit(job)
        jobs.append(job)
    await deps.ledger.clear(key)
    log.info("jma cancellation", extra={"type": tg.type, "event": key, "jobs": len(jobs)})
    return jobs


def _osaka_unit(code: str, g: Gazetteer) -> Municipality | None:
    m = g.get(code)
    if m is None and len(code) == 7:  # subdivided municipality areas (e.g. 1410011) → the municipality
        m = g.get(code[:5])
    return m


async def _groups(tg: Telegram, key: str, deps: AlertDeps, state: dict[str, dict[str, int]]) -> list[_Group]:
    """The change groups of a telegram. Level state to remember goes into ``state`` (ledger key → ranks); the
    caller saves it only after every job was submitted, so a failed submission is retried, not forgotten."""
    g = deps.gazetteer
    corrected = tg.info_type == "corrected"
    base = dict(corrected=corrected, reported_at=tg.reported_at)
    groups: dict[str, _Group] = {}

    def add(slug: str, text: AlertText, categories: tuple[str, ...], code: str, emergency: bool) -> None:
        grp = groups.setdefault(slug, _Group(slug, text, categories, emergency=emergency))
        grp.codes.append(code)

    if tg.kind in ("weather_warning", "landslide_warning"):
        link = "warning" if tg.kind == "weather_warning" else "landslide"
        per_group_names: dict[str, list[str]] = {}
        covered = TYPE_HAZARDS.get(tg.type, set())
        prior = {} if corrected else await deps.ledger.ranks(WEATHER_STATE)
        current: dict[str, int] = {}
        for area in tg.areas:
            unit = _osaka_unit(area.code, g)
            if unit is None:
                continue
            for h in covered:
                current.setdefault(f"{unit.jis5}:{h}", 0)
            for w in area.warnings:
                h = hazard_of(w.name) or hazard_of(w.last_name)
                if h is None:
                    continue
                field_ = f"{unit.jis5}:{h}"
                current[field_] = max(current.get(field_, 0), 0 if w.status == "解除" else w.level)
                if w.category is None:
                    continue
                if w.is_new_or_upgraded and w.level >= 3 and w.level > prior.get(field_, 0):
                    slug = f"issued:{w.category}:{w.level}"
                    per_group_names.setdefault(slug, [])
                    if w.name not in per_group_names[slug]:
                        per_group_names[slug].append(w.name)
                    add(slug, AlertText("issued", link, category=w.category, level=w.level, **base),
                        (w.category,), unit.jis5, w.level >= 4)
                elif w.is_lifted and w.last_level >= 3 and (corrected or prior.get(field_, 0) >= 3):
                    slug = f"lifted:{w.category}:{w.last_level}"
                    per_group_names.setdefault(slug, [])
                    if w.last_name not in per_group_names[slug]:
                        per_group_names[slug].append(w.last_name)
                    add(slug, AlertText("lifted", link, category=w.category, level=w.last_level, **base),
                        (lift_category(w.category),), unit.jis5, False)
        for slug, grp in groups.items():
            names = "・".join(per_group_names.get(slug, []))
            grp.text = _with(grp.text, hazard_ja=names, area_codes=tuple(dict.fromkeys(grp.codes)))
        if tg.type in LEGACY_WEATHER:  # no レベル4 in the old telegrams: they may lift, never lower a known level
            current = {k: (v if v < 3 else max(v, prior.get(k, 0))) for k, v in current.items()}
        state[WEATHER_STATE] = current
        return list(groups.values())

    if tg.kind == "record_rain":
        for area in tg.areas:
            if not area.code.startswith("27"):
                continue
            named = [m.jis5 for m in g.municipalities_in_text(tg.headline)]
            for code in named or g.expand_area(area.code):
                add("record_rain", AlertText("record_rain", "record_rain", category="rain_flood", **base),
                    ("rain_flood",), code, False)
        for grp in groups.values():
            grp.text = _with(grp.text, area_codes=tuple(dict.fromkeys(grp.codes)))
        return list(groups.values())

    if tg.kind == "earthquake":
        prior = {} if corrected else await deps.ledger.ranks(key)
        new_ranks: dict[str, int] = {}
        labels: dict[str, dict[str, str]] = {}
        for area in tg.areas:
            rank = intensity_rank(area.intensity)
            if rank < 3:
                continue
            if area.code in (SEISMIC_NORTH, SEISMIC_SOUTH):
                targets = [(c, [c]) for c in g.expand_area(area.code)]
                if any(rank > max(prior.get(c, 0) for c in keys) for _, keys in targets):
                    old = labels.get(f"{rank}")
                    new = SEISMIC_AREAS[area.code]
                    labels[f"{rank}"] = new if old is None else {
                        lang: old[lang] + ("、" if lang in ("ja", "ja-easy", "zh-Hans") else ", ") + new[lang] for lang in new
                    }
            else:
                unit = _osaka_unit(area.code, g)
                if unit is None:
                    continue
                keys = [unit.jis5] + ([unit.parent] if unit.parent else [])
                targets = [(unit.jis5, keys)]
            for code, rank_keys in targets:
                if rank <= max(prior.get(k, 0) for k in rank_keys):
                    continue
                new_ranks[code] = max(new_ranks.get(code, 0), rank)
                add(f"eq:{rank}", AlertText("earthquake", "earthquake", level=rank, intensity=area.intensity,
                                            hypocenter=tg.hypocenter, magnitude=tg.magnitude, **base),
                    earthquake_targets(rank), code, rank >= 5)
        for grp in groups.values():
            rank = grp.slug.split(":")[1]
            grp.text = _with(grp.text, area_codes=tuple(dict.fromkeys(grp.codes)), area_text=labels.get(rank))
        state[key] = new_ranks
        return list(groups.values())

    if tg.kind == "tsunami":
        prior = (await deps.ledger.ranks(key)).get(TSUNAMI_OSAKA, 0)
        for area in tg.areas:
            if area.code != TSUNAMI_OSAKA:
                continue
            level = tsunami_level(area.kind_code)
            lifted = area.kind_code in TSUNAMI_LIFTED
            if (level == prior and not corrected) or (level == 0 and not lifted) or (lifted and prior == 0 and not corrected):
                continue
            slug = f"ts:{level}"
            for code in g.expand_area(TSUNAMI_OSAKA):
                add(slug, AlertText("tsunami", "tsunami", tsunami_level=level, category=TSUNAMI, **base),
                    (TSUNAMI,), code, level >= 2)
            state[key] = {TSUNAMI_OSAKA: level}
        return list(groups.values())
    return []


def _with(text: AlertText, **changes: object) -> AlertText:
    return replace(text, **changes)  # type: ignore[arg-type]


class TelegramArchive(Protocol):
    """What staff can look at later: drills/tests (never sent to residents) and telegrams we could not read."""

    async def record(self, kind: str, summary: dict, raw: bytes | None = None) -> None: ...
    async def recent(self, kind: str, n: int = 20) -> list[dict]: ...


ARCHIVE_KEEP = 100
ARCHIVE_RAW_MAX = 1024 * 1024


class MemoryTelegramArchive:
    def __init__(self) -> None:
        self.items: dict[str, list[dict]] = {}

    async def record(self, kind: str, summary: dict, raw: bytes | None = None) -> None:
        entry = dict(summary, raw=raw[:ARCHIVE_RAW_MAX].decode("utf-8", "replace") if raw else None)
        self.items.setdefault(kind, []).insert(0, entry)
        del self.items[kind][ARCHIVE_KEEP:]

    async def recent(self, kind: str, n: int = 20) -> list[dict]:
        return self.items.get(kind, [])[:n]


class RedisTelegramArchive:
    """Capped lists ``cb:{jma}:alerts:archive:<kind>`` (newest first, 100 entries, raw bytes cut at 1 MB)."""

    def __init__(self, client: RedisClient) -> None:
        self._r = client

    async def record(self, kind: str, summary: dict, raw: bytes | None = None) -> None:
        entry = dict(summary, raw=raw[:ARCHIVE_RAW_MAX].decode("utf-8", "replace") if raw else None)
        key = f"cb:{{{GLOBAL}}}:alerts:archive:{kind}"
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.lpush(key, json.dumps(entry, ensure_ascii=False, default=str))
            pipe.ltrim(key, 0, ARCHIVE_KEEP - 1)
            await pipe.execute()

    async def recent(self, kind: str, n: int = 20) -> list[dict]:
        return [json.loads(x) for x in await self._r.lrange(f"cb:{{{GLOBAL}}}:alerts:archive:{kind}", 0, n - 1)]


def drill_recorder(archive: TelegramArchive) -> Callable[[Telegram], Awaitable[None]]:
    """``AlertDeps.on_drill`` that keeps 訓練/試験 telegrams for the admin view."""

    async def on_drill(tg: Telegram) -> None:
        await archive.record("drill", tg.to_json())

    return on_drill
