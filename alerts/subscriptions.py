"""Who wants to hear about what, where: the subscription store port and the audience it answers.

A resident keeps up to five named places (自宅, 学校, 実家 …), each a municipality/ward code and optionally a
point (a shared LINE location, resolved to the nearest 町丁目). The store is laid out for targeting, not for
browsing: every place is indexed in membership sets keyed by (area key, category), so "who in 吹田市 wants
大雨" is one set union, and points go into a GEO index for radius queries.

Area keys (``A:`` = everyone located in that unit, ``X:`` = people who chose a 政令市 without a ward):

* a place in a ward (大阪市此花区 27104) → ``A:27104`` and ``A:27100`` (ward → city rollup);
* a place "大阪市" with no ward → ``A:27100`` and ``X:27100``;
* any other municipality → ``A:<jis5>``.

A query for a city reads ``A:city``; a query for a ward (earthquake telegrams name wards) reads ``A:ward`` and
``X:city`` — so city-level subscribers hear about every ward, ward-level subscribers only about theirs.
Places without a point are also indexed under ``N:`` twins of their ``A:`` keys for the radius categories
(``crime``): a police query with a radius *and* areas reads those (people who registered the whole area) and the
GEO index of the category (people near the point). Other categories keep the plain union of areas and radius.

Points live in one GEO index per category, so a radius query reads only people who want that category and
needs no per-candidate subscription reads (``bench/notices_radius.py``: 1,000,000 subscribers, 1 km).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from alerts.categories import CATEGORIES, CRIME, DEFAULT_CATEGORIES, DEFAULT_THRESHOLD, INTENSITY_THRESHOLDS, expand_query_categories, membership_categories
from alerts.geo import Gazetteer, haversine_m
from bot.users import RedisUserStore, UserStore
from broadcasts.audience import AudienceQuery, Recipient

MAX_PLACES = 5
RADIUS_CATEGORIES = frozenset({CRIME})  # categories whose notices come with a radius: only they need N: keys
SENT_TTL = 3 * 24 * 3600
RECORD_TAG = "@record:"  # AudienceQuery.categories entry: remember the recipients under this source id
RECIPIENTS_TAG = "@recipients:"  # AudienceQuery.categories entry: exactly the recipients recorded for a source id
LANGUAGES = ("ja", "ja-easy", "en", "zh-Hans", "ko", "vi")
_BATCH = 5000
LAYOUT_VERSION = "2"  # per-category GEO indexes (cb:{t}:alerts:geo:<category>); set by rebuild_indexes


class SubscriptionError(ValueError):
    """A subscription that cannot be stored as asked (too many places, unknown category …)."""


@dataclass
class Place:
    id: str  # stable within the user ("p1" …) — postbacks refer to it
    name: str  # 自宅, 学校, 実家
    code: str  # jis5 of the finest unit: the ward for 大阪市/堺市 if known, else the municipality
    lat: float | None = None  # set when registered from a shared location
    lng: float | None = None
    town: str = ""  # nearest 町丁目 (梅田一丁目) for location places


@dataclass(frozen=True)
class QuietHours:
    """Local time span in which only emergencies are pushed; may wrap midnight (22:00-07:00)."""

    start: str = "22:00"
    end: str = "07:00"
    timezone: str = "Asia/Tokyo"

    def contains(self, now: dt.datetime) -> bool:
        local = now.astimezone(ZoneInfo(self.timezone))
        minute = local.hour * 60 + local.minute
        s, e = _minutes(self.start), _minutes(self.end)
        if s == e:
            return False
        return s <= minute < e if s < e else minute >= s or minute < e

    def encode(self) -> str:
        return f"{self.start}-{self.end}-{self.timezone}"

    @classmethod
    def decode(cls, raw: str) -> "QuietHours | None":
        if not raw:
            return None
        start, end, tz = raw.split("-", 2)
        return cls(start, end, tz)


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


@dataclass
class Subscription:
    tenant: str
    user_id: str
    places: list[Place] = field(default_factory=list)
    categories: list[str] = field(default_factory=lambda: list(DEFAULT_CATEGORIES))
    threshold: str = DEFAULT_THRESHOLD  # 震度 threshold for earthquake: "3", "4", "5-"
    language: str = "ja"
    quiet_hours: QuietHours | None = None
    notify_lift: bool = False  # also tell me when a warning is lifted (解除)
    paused: bool = False  # 「通知停止」: kept, but indexed nowhere
    updated_at: float = field(default_factory=time.time)

    def validate(self) -> None:
        if len(self.places) > MAX_PLACES:
            raise SubscriptionError(f"at most {MAX_PLACES} places")
        if len({p.id for p in self.places}) != len(self.places):
            raise SubscriptionError("duplicate place ids")
        unknown = set(self.categories) - set(CATEGORIES)
        if unknown:
            raise SubscriptionError(f"unknown categories {sorted(unknown)}")
        if self.threshold not in INTENSITY_THRESHOLDS:
            raise SubscriptionError(f"unknown 震度 threshold {self.threshold!r}")
        if self.language not in LANGUAGES:
            raise SubscriptionError(f"unsupported language {self.language!r}")

    def next_place_id(self) -> str:
        used = {p.id for p in self.places}
        return next(f"p{i}" for i in range(1, MAX_PLACES + 100) if f"p{i}" not in used)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> "Subscription":
        d = json.loads(raw)
        d["places"] = [Place(**p) for p in d.get("places", [])]
        d["quiet_hours"] = QuietHours(**d["quiet_hours"]) if d.get("quiet_hours") else None
        return cls(**d)


def area_keys_for_place(place: Place, gazetteer: Gazetteer) -> list[str]:
    """``A:`` keys for every place; unlocated places (chosen as a municipality/ward) also get ``N:`` twins."""
    unit = gazetteer.get(place.code)
    if unit is None:
        return []
    if unit.parent:
        keys = [f"A:{unit.jis5}", f"A:{unit.parent}"]
    elif gazetteer.wards_of(unit.jis5):
        keys = [f"A:{unit.jis5}", f"X:{unit.jis5}"]
    else:
        keys = [f"A:{unit.jis5}"]
    if place.lat is None:
        keys += [f"N:{k[2:]}" for k in keys if k.startswith("A:")]
    return keys


def area_keys_for_query(codes: Iterable[str], gazetteer: Gazetteer, *, unlocated_only: bool = False) -> list[str]:
    """Membership keys to union for the area codes of a query (7/6/5-digit, 520/521, 510, 270000).

    ``unlocated_only``: only places registered as a whole municipality/ward (used when the query also has a
    radius: located places are then reached through the radius, not because they share the municipality)."""
    a = "N:" if unlocated_only else "A:"
    keys: list[str] = []
    for code in codes:
        unit = gazetteer.get(code)
        if unit is not None and unit.parent:
            keys += [f"{a}{unit.jis5}", f"X:{unit.parent}"]
            continue
        keys += [f"{a}{c}" for c in gazetteer.expand_area(code)]
    return list(dict.fromkeys(keys))


def index_entries(sub: Subscription, gazetteer: Gazetteer) -> set[tuple[str, str]]:
    """(area key, category) pairs a subscription belongs to; empty when paused."""
    if sub.paused:
        return set()
    cats = membership_categories(sub.categories, sub.threshold, sub.notify_lift)
    keys = {k for p in sub.places for k in area_keys_for_place(p, gazetteer)}
    return {(k, c) for k in keys for c in cats if not k.startswith("N:") or c in RADIUS_CATEGORIES}


def point_entries(sub: Subscription) -> dict[tuple[str, str], tuple[float, float]]:
    """(category, ``<user>|<place id>``) → (lat, lng) for the per-category GEO indexes; empty when paused.

    Same categories as the membership sets (``membership_categories``), so a radius query for ``crime`` or
    ``earthquake:4`` asks exactly the people who would be in the matching membership set."""
    if sub.paused:
        return {}
    cats = membership_categories(sub.categories, sub.threshold, sub.notify_lift)
    return {
        (c, f"{sub.user_id}|{p.id}"): (p.lat, p.lng)
        for p in sub.places
        if p.lat is not None and p.lng is not None
        for c in cats
    }


@dataclass(frozen=True)
class Profile:
    """What targeting needs per recipient, without loading the whole subscription."""

    language: str
    quiet_hours: QuietHours | None


@dataclass(frozen=True)
class SubscriptionCounts:
    """Aggregate counts for the public dashboard (``kpi.service.SubscriberCounts`` + languages).

    Who counts: a *subscriber* is a stored, not paused subscription — the people an alert could reach.
    Paused ones (「通知停止」) are indexed nowhere and receive nothing, so they are left out of every figure
    and reported only as ``paused`` (``count()`` still counts them: it is "documents stored", for admin).

    ``by_area``: every requested jis5 code, zeros included; a user counts once per code however many places
    or categories they have there. The rule is the targeting rule (``area_keys_for_place``): a place in a ward
    counts for the ward *and* for its city (大阪市此花区 → 27104 and 27100), a place registered as 大阪市 without a
    ward counts for the city only. So a city's figure is "everyone an alert for the whole city reaches" and the
    wards do not add up to it. Places with codes the gazetteer does not know count for no area (but the user
    still counts in ``total``). ``by_category`` (every id in ``CATEGORIES``) and ``by_language`` (every id in
    ``LANGUAGES``, plus any stray stored value) count users once each.
    """

    total: int
    by_area: dict[str, int]
    by_category: dict[str, int]
    by_language: dict[str, int]
    paused: int = 0


class _CountTally:
    """Accumulates ``SubscriptionCounts`` from raw subscription JSON — shared by both stores so they cannot drift.

    Reads only the four fields it needs from the decoded dict (no ``Subscription`` objects: at 1M documents the
    dataclass construction would dominate), and caches the area rollup per place code."""

    def __init__(self, area_codes: Sequence[str], gazetteer: Gazetteer) -> None:
        self._g = gazetteer
        self._wanted = set(area_codes)
        self._areas: dict[str, tuple[str, ...]] = {}
        self.total = 0
        self.paused = 0
        self.by_area = dict.fromkeys(area_codes, 0)
        self.by_category = dict.fromkeys(CATEGORIES, 0)
        self.by_language = dict.fromkeys(LANGUAGES, 0)

    def _codes(self, code: str) -> tuple[str, ...]:
        got = self._areas.get(code)
        if got is None:
            keys = area_keys_for_place(Place("", "", code, lat=0.0, lng=0.0), self._g)  # located: A: keys only
            got = self._areas[code] = tuple(k[2:] for k in keys if k.startswith("A:") and k[2:] in self._wanted)
        return got

    def add(self, raw: str | None) -> None:
        if not raw:
            return
        d = json.loads(raw)
        if d.get("paused"):
            self.paused += 1
            return
        self.total += 1
        for code in {c for p in d.get("places", ()) for c in self._codes(p.get("code", ""))}:
            self.by_area[code] += 1
        for cat in set(d.get("categories", ())):
            self.by_category[cat] = self.by_category.get(cat, 0) + 1
        lang = d.get("language") or "ja"
        self.by_language[lang] = self.by_language.get(lang, 0) + 1

    def result(self) -> SubscriptionCounts:
        return SubscriptionCounts(self.total, self.by_area, self.by_category, self.by_language, self.paused)


class SubscriptionStore(Protocol):
    async def get(self, tenant: str, user_id: str) -> Subscription | None: ...
    async def save(self, sub: Subscription) -> None: ...
    async def delete(self, tenant: str, user_id: str) -> None: ...
    async def members(self, tenant: str, area_keys: list[str], categories: tuple[str, ...]) -> set[str]:
        """User ids indexed under any (area key, category) pair."""
        ...
    async def near(self, tenant: str, lat: float, lng: float, radius_m: float, categories: tuple[str, ...]) -> set[str]:
        """User ids with a located place within the radius, indexed under any of the categories (membership
        categories: ``earthquake:4``, ``rain_flood:lift`` …; none given = nobody)."""
        ...
    async def profiles(self, tenant: str, user_ids: list[str]) -> dict[str, Profile]: ...
    async def count(self, tenant: str) -> int: ...
    async def counts(self, tenant: str, area_codes: Sequence[str]) -> SubscriptionCounts:
        """Dashboard aggregates (see ``SubscriptionCounts`` for who counts where); O(subscribers), run hourly."""
        ...
    async def record_recipients(self, tenant: str, source_id: str, user_ids: list[str]) -> None:
        """Remember who an alert was resolved to, so a 取消 reaches exactly them (kept for ``SENT_TTL``)."""
        ...
    async def recipients(self, tenant: str, source_id: str) -> set[str]: ...
    async def has_members(self, tenant: str, area_keys: list[str], categories: tuple[str, ...]) -> bool:
        """Cheap pre-check (no ids transferred): is anyone indexed under any of these pairs?"""
        ...


class MemorySubscriptionStore:
    def __init__(self, gazetteer: Gazetteer) -> None:
        self._g = gazetteer
        self._subs: dict[tuple[str, str], str] = {}
        self._index: dict[tuple[str, str, str], set[str]] = {}
        self._points: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}  # (tenant, category) → member → point
        self._sent: dict[tuple[str, str], set[str]] = {}

    async def get(self, tenant: str, user_id: str) -> Subscription | None:
        raw = self._subs.get((tenant, user_id))
        return Subscription.from_json(raw) if raw else None

    async def save(self, sub: Subscription) -> None:
        sub.validate()
        sub.updated_at = time.time()
        await self._unindex(sub.tenant, sub.user_id)
        for key, cat in index_entries(sub, self._g):
            self._index.setdefault((sub.tenant, key, cat), set()).add(sub.user_id)
        for (cat, member), point in point_entries(sub).items():
            self._points.setdefault((sub.tenant, cat), {})[member] = point
        self._subs[(sub.tenant, sub.user_id)] = sub.to_json()

    async def delete(self, tenant: str, user_id: str) -> None:
        await self._unindex(tenant, user_id)
        self._subs.pop((tenant, user_id), None)

    async def _unindex(self, tenant: str, user_id: str) -> None:
        old = await self.get(tenant, user_id)
        if old is None:
            return
        for key, cat in index_entries(old, self._g):
            self._index.get((tenant, key, cat), set()).discard(user_id)
        for cat, member in point_entries(old):
            self._points.get((tenant, cat), {}).pop(member, None)

    async def members(self, tenant: str, area_keys: list[str], categories: tuple[str, ...]) -> set[str]:
        out: set[str] = set()
        for key in area_keys:
            for cat in categories:
                out |= self._index.get((tenant, key, cat), set())
        return out

    async def near(self, tenant: str, lat: float, lng: float, radius_m: float, categories: tuple[str, ...]) -> set[str]:
        out: set[str] = set()
        for cat in dict.fromkeys(categories):
            for member, (plat, plng) in self._points.get((tenant, cat), {}).items():
                if haversine_m(lat, lng, plat, plng) <= radius_m:
                    out.add(member.split("|", 1)[0])
        return out

    async def profiles(self, tenant: str, user_ids: list[str]) -> dict[str, Profile]:
        out = {}
        for uid in user_ids:
            raw = self._subs.get((tenant, uid))
            if raw:
                sub = Subscription.from_json(raw)
                out[uid] = Profile(sub.language, sub.quiet_hours)
        return out

    async def count(self, tenant: str) -> int:
        return sum(1 for (t, _) in self._subs if t == tenant)

    async def counts(self, tenant: str, area_codes: Sequence[str]) -> SubscriptionCounts:
        tally = _CountTally(area_codes, self._g)
        for (t, _uid), raw in self._subs.items():
            if t == tenant:
                tally.add(raw)
        return tally.result()

    async def record_recipients(self, tenant: str, source_id: str, user_ids: list[str]) -> None:
        self._sent.setdefault((tenant, source_id), set()).update(user_ids)

    async def recipients(self, tenant: str, source_id: str) -> set[str]:
        return set(self._sent.get((tenant, source_id), set()))

    async def has_members(self, tenant: str, area_keys: list[str], categories: tuple[str, ...]) -> bool:
        return any(self._index.get((tenant, k, c)) for k in area_keys for c in categories)

    async def needs_rebuild(self, tenant: str) -> bool:
        return False  # nothing persists across versions in memory

    async def rebuild_indexes(self, tenant: str) -> int:
        """Parity with ``RedisSubscriptionStore.rebuild_indexes``: re-derive every index entry from the stored
        subscriptions (nothing to migrate in memory; returns how many subscriptions were indexed)."""
        n = 0
        for (t, _uid), raw in list(self._subs.items()):
            if t != tenant:
                continue
            sub = Subscription.from_json(raw)
            for key, cat in index_entries(sub, self._g):
                self._index.setdefault((t, key, cat), set()).add(sub.user_id)
            for (cat, member), point in point_entries(sub).items():
                self._points.setdefault((t, cat), {})[member] = point
            n += 1
        return n


class RedisSubscriptionStore:
    """Keys (all under the tenant's hash tag, so a tenant lives on one cluster slot):

    * ``cb:{t}:alerts:sub:<user>`` — the subscription as JSON (string)
    * ``cb:{t}:alerts:m:<area key>:<category>`` — membership set of user ids
    * ``cb:{t}:alerts:geo:<category>`` — GEO index per membership category, members ``<user>|<place id>``
      (radius queries; replaces the former all-category ``cb:{t}:alerts:geo``, which saves and deletes now
      only clean up; ``rebuild_indexes`` migrates existing data)
    * ``cb:{t}:alerts:profile`` — hash user → ``language|quiet hours``
    * ``cb:{t}:alerts:lang:<language>`` / ``cb:{t}:alerts:quiet:<window>`` (+ ``quietwins``) — sets that let
      targeting filter by language and quiet hours with set operations (``target_recipients``)
    * ``cb:{t}:alerts:users`` — set of subscribed user ids, paused included (count, counts, admin)
    * ``cb:{t}:alerts:layout`` — ``LAYOUT_VERSION`` once ``rebuild_indexes`` has run (``needs_rebuild``)
    """

    def __init__(self, client: aioredis.Redis, gazetteer: Gazetteer) -> None:
        self._r = client
        self._g = gazetteer

    @classmethod
    def from_url(cls, url: str, gazetteer: Gazetteer) -> "RedisSubscriptionStore":
        return cls(aioredis.Redis.from_url(url, decode_responses=True), gazetteer)

    @staticmethod
    def _k(tenant: str, name: str) -> str:
        return f"cb:{{{tenant}}}:alerts:{name}"

    async def get(self, tenant: str, user_id: str) -> Subscription | None:
        raw = await self._r.get(self._k(tenant, f"sub:{user_id}"))
        return Subscription.from_json(raw) if raw else None

    async def save(self, sub: Subscription) -> None:
        """Replace the subscription and move its index entries, atomically against concurrent saves of the same
        user (WATCH on the document: a double-tapped button cannot leave stale membership behind)."""
        sub.validate()
        sub.updated_at = time.time()
        t, uid = sub.tenant, sub.user_id
        doc = self._k(t, f"sub:{uid}")

        async def apply(pipe) -> None:
            raw = await pipe.get(doc)
            old = Subscription.from_json(raw) if raw else None
            old_entries = index_entries(old, self._g) if old else set()
            new_entries = index_entries(sub, self._g)
            pipe.multi()
            for key, cat in old_entries - new_entries:
                pipe.srem(self._k(t, f"m:{key}:{cat}"), uid)
            for key, cat in new_entries - old_entries:
                pipe.sadd(self._k(t, f"m:{key}:{cat}"), uid)
            old_points = point_entries(old) if old else {}
            new_points = point_entries(sub)
            if old:
                for p in old.places:  # the pre-per-category index, until rebuild_indexes(drop_legacy=True)
                    pipe.zrem(self._k(t, "geo"), f"{uid}|{p.id}")
            for cat, member in old_points.keys() - new_points.keys():
                pipe.zrem(self._k(t, f"geo:{cat}"), member)
            for (cat, member), (lat, lng) in new_points.items():  # always: heals documents saved before the index
                pipe.geoadd(self._k(t, f"geo:{cat}"), (lng, lat, member))
            if old:
                pipe.srem(self._k(t, f"lang:{old.language}"), uid)
                if old.quiet_hours:
                    pipe.srem(self._k(t, f"quiet:{old.quiet_hours.encode()}"), uid)
            pipe.sadd(self._k(t, f"lang:{sub.language}"), uid)
            if sub.quiet_hours:
                pipe.sadd(self._k(t, f"quiet:{sub.quiet_hours.encode()}"), uid)
                pipe.sadd(self._k(t, "quietwins"), sub.quiet_hours.encode())
            pipe.set(doc, sub.to_json())
            pipe.hset(self._k(t, "profile"), uid, _encode_profile(sub))
            pipe.sadd(self._k(t, "users"), uid)

        await self._r.transaction(apply, doc)

    async def delete(self, tenant: str, user_id: str) -> None:
        old = await self.get(tenant, user_id)
        async with self._r.pipeline(transaction=True) as pipe:
            if old:
                for key, cat in index_entries(old, self._g):
                    pipe.srem(self._k(tenant, f"m:{key}:{cat}"), user_id)
                for p in old.places:
                    pipe.zrem(self._k(tenant, "geo"), f"{user_id}|{p.id}")
                for cat, member in point_entries(old):
                    pipe.zrem(self._k(tenant, f"geo:{cat}"), member)
                pipe.srem(self._k(tenant, f"lang:{old.language}"), user_id)
                if old.quiet_hours:
                    pipe.srem(self._k(tenant, f"quiet:{old.quiet_hours.encode()}"), user_id)
            pipe.delete(self._k(tenant, f"sub:{user_id}"))
            pipe.hdel(self._k(tenant, "profile"), user_id)
            pipe.srem(self._k(tenant, "users"), user_id)
            await pipe.execute()

    async def members(self, tenant: str, area_keys: list[str], categories: tuple[str, ...]) -> set[str]:
        keys = [self._k(tenant, f"m:{k}:{c}") for k in area_keys for c in categories]
        if not keys:
            return set()
        return set(await self._r.sunion(keys))

    async def near(self, tenant: str, lat: float, lng: float, radius_m: float, categories: tuple[str, ...]) -> set[str]:
        """One GEOSEARCH per category index (pipelined): the members already want the category and are not
        paused, so no subscription is read."""
        cats = list(dict.fromkeys(categories))
        if not cats:
            return set()
        async with self._r.pipeline(transaction=False) as pipe:
            for cat in cats:
                pipe.geosearch(self._k(tenant, f"geo:{cat}"), longitude=lng, latitude=lat, radius=radius_m, unit="m")
            results = await pipe.execute()
        return {h.split("|", 1)[0] for hits in results for h in hits}

    async def profiles(self, tenant: str, user_ids: list[str]) -> dict[str, Profile]:
        out: dict[str, Profile] = {}
        for i in range(0, len(user_ids), _BATCH):
            batch = user_ids[i : i + _BATCH]
            raws = await self._r.hmget(self._k(tenant, "profile"), batch)
            for uid, raw in zip(batch, raws):
                if raw:
                    out[uid] = _decode_profile(raw)
        return out

    async def count(self, tenant: str) -> int:
        return int(await self._r.scard(self._k(tenant, "users")))

    async def counts(self, tenant: str, area_codes: Sequence[str], *, batch: int = 1000) -> SubscriptionCounts:
        """SSCAN the ``users`` set and MGET the documents batch by batch; nothing is written.

        Why not the index sets: a user sits in one ``m:`` set per (area key, membership category), so per-area
        user counts need a union (SUNIONSTORE of ~10 sets per area, 70+ areas, up to 1M ids each — more
        server work and memory than reading the documents once), ``m:`` sets cannot tell the chosen categories
        apart from ``earthquake:4``/``:lift`` expansions, and ``lang:`` sets include paused users. One pass over
        the documents gives every figure exactly. SSCAN may repeat an id while the set rehashes: ``seen``
        drops repeats (ids only, ~100 MB at 1M). Saves during the scan may or may not be reflected — fine for
        an hourly snapshot."""
        tally = _CountTally(area_codes, self._g)
        seen: set[str] = set()
        cursor = 0
        while True:
            cursor, ids = await self._r.sscan(self._k(tenant, "users"), cursor, count=batch)
            fresh = [uid for uid in dict.fromkeys(ids) if uid not in seen]
            seen.update(fresh)
            if fresh:
                for raw in await self._r.mget([self._k(tenant, f"sub:{uid}") for uid in fresh]):
                    tally.add(raw)
            if cursor == 0:
                break
        return tally.result()

    async def target_recipients(
        self,
        tenant: str,
        area_keys: list[str],
        categories: tuple[str, ...],
        *,
        active_key: str | None,
        languages: tuple[str, ...],
        quiet_now: dt.datetime | None,
        batch: int = _BATCH,
    ) -> AsyncIterator[list[tuple[str, str]]]:
        """Targeting as set algebra inside Redis, ids shipped once: SUNIONSTORE the membership sets, intersect
        with the active users (same hash tag), subtract the quiet-hours windows in force at ``quiet_now``
        (None = emergencies: no subtraction), then per language intersect and page with SSCAN. Yields
        (user id, language) batches."""
        keys = [self._k(tenant, f"m:{k}:{c}") for k in area_keys for c in categories]
        if not keys:
            return
        quiet_keys: list[str] = []
        if quiet_now is not None:
            for raw in await self._r.smembers(self._k(tenant, "quietwins")):
                window = QuietHours.decode(raw)
                if window is not None and window.contains(quiet_now):
                    quiet_keys.append(self._k(tenant, f"quiet:{raw}"))
        tmp = self._k(tenant, f"tmp:{uuid.uuid4().hex}")
        per_lang = {lang: f"{tmp}:{lang}" for lang in languages}
        try:
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.sunionstore(tmp, keys)
                if active_key:
                    pipe.sinterstore(tmp, [tmp, active_key])
                if quiet_keys:
                    pipe.sdiffstore(tmp, [tmp, *quiet_keys])
                pipe.expire(tmp, 300)
                await pipe.execute()
            for lang, key in per_lang.items():  # one language at a time: the first batch leaves early
                async with self._r.pipeline(transaction=True) as pipe:
                    pipe.sinterstore(key, [tmp, self._k(tenant, f"lang:{lang}")])
                    pipe.expire(key, 300)
                    await pipe.execute()
                seen: set[str] = set()
                cursor = 0
                while True:
                    cursor, ids = await self._r.sscan(key, cursor, count=batch)
                    fresh = [uid for uid in ids if uid not in seen]
                    seen.update(fresh)
                    if fresh:
                        yield [(uid, lang) for uid in fresh]
                    if cursor == 0:
                        break
                await self._r.delete(key)
        finally:
            await self._r.delete(tmp, *per_lang.values())

    async def record_recipients(self, tenant: str, source_id: str, user_ids: list[str]) -> None:
        if not user_ids:
            return
        key = self._k(tenant, f"sent:{source_id}")
        async with self._r.pipeline(transaction=False) as pipe:
            pipe.sadd(key, *user_ids)
            pipe.expire(key, SENT_TTL)
            await pipe.execute()

    async def recipients(self, tenant: str, source_id: str) -> set[str]:
        return set(await self._r.smembers(self._k(tenant, f"sent:{source_id}")))

    async def has_members(self, tenant: str, area_keys: list[str], categories: tuple[str, ...]) -> bool:
        keys = [self._k(tenant, f"m:{k}:{c}") for k in area_keys for c in categories]
        return bool(keys) and int(await self._r.exists(*keys)) > 0

    async def rebuild_indexes(self, tenant: str, *, batch: int = 500, drop_legacy: bool = False) -> int:
        """Migration, idempotent and safe to run while residents save: re-derive every index entry (membership
        sets incl. the ``N:`` whole-area keys, the per-category GEO indexes, profile, language/quiet sets) from
        the stored subscription documents. Entries are only added — a document that changed under us (WATCH)
        is simply re-read — so running it twice, or on data already in the new layout, changes nothing.
        ``drop_legacy`` also deletes the former all-category ``geo`` key. Returns the documents indexed."""
        prefix = self._k(tenant, "sub:")
        docs: list[str] = []
        done = 0
        async for key in self._r.scan_iter(match=f"{_glob_escape(prefix)}*", count=1000):
            docs.append(key)
            if len(docs) >= batch:
                done += await self._reindex_docs(tenant, docs)
                docs = []
        if docs:
            done += await self._reindex_docs(tenant, docs)
        if drop_legacy:
            await self._r.delete(self._k(tenant, "geo"))
        await self._r.set(self._k(tenant, "layout"), LAYOUT_VERSION)
        return done

    async def needs_rebuild(self, tenant: str) -> bool:
        """True when the tenant has subscriptions indexed in the former layout (the all-category ``geo`` key
        exists) and ``rebuild_indexes`` has not run since: cheap enough for a startup check."""
        legacy, layout = await self._r.exists(self._k(tenant, "geo")), await self._r.get(self._k(tenant, "layout"))
        return bool(legacy) and layout != LAYOUT_VERSION

    async def _reindex_docs(self, tenant: str, docs: list[str]) -> int:
        while True:
            async with self._r.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(*docs)
                    raws = await pipe.mget(docs)
                    subs = [Subscription.from_json(raw) for raw in raws if raw]
                    pipe.multi()
                    for sub in subs:
                        for key, cat in index_entries(sub, self._g):
                            pipe.sadd(self._k(tenant, f"m:{key}:{cat}"), sub.user_id)
                        for (cat, member), (lat, lng) in point_entries(sub).items():
                            pipe.geoadd(self._k(tenant, f"geo:{cat}"), (lng, lat, member))
                        pipe.sadd(self._k(tenant, f"lang:{sub.language}"), sub.user_id)
                        if sub.quiet_hours:
                            pipe.sadd(self._k(tenant, f"quiet:{sub.quiet_hours.encode()}"), sub.user_id)
                            pipe.sadd(self._k(tenant, "quietwins"), sub.quiet_hours.encode())
                        pipe.hset(self._k(tenant, "profile"), sub.user_id, _encode_profile(sub))
                        pipe.sadd(self._k(tenant, "users"), sub.user_id)
                    await pipe.execute()
                    return len(subs)
                except WatchError:
                    continue


def _glob_escape(text: str) -> str:
    """SCAN MATCH pattern for a literal key prefix (tenant ids are plain; this keeps a stray ``*`` literal)."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def _encode_profile(sub: Subscription) -> str:
    return f"{sub.language}|{sub.quiet_hours.encode() if sub.quiet_hours else ''}"


@functools.lru_cache(maxsize=4096)  # a handful of distinct profiles cover most residents: decode each once
def _decode_profile(raw: str) -> Profile:
    lang, _, quiet = raw.partition("|")
    return Profile(lang or "ja", QuietHours.decode(quiet))


def _in_quiet(q: QuietHours | None, now: dt.datetime, cache: dict[QuietHours, bool]) -> bool:
    if q is None:
        return False
    if q not in cache:
        cache[q] = q.contains(now)
    return cache[q]


class SubscriptionAudience:
    """``broadcasts.audience.AudienceSource`` over the subscription store and the users port.

    Two tagged ``categories`` entries let alerts reach exactly the people who got an earlier alert (AudienceQuery
    has no field for that yet): ``@record:<source id>`` remembers whom a query resolved to, and
    ``@recipients:<source id>`` resolves to exactly those people (still only active ones; quiet hours do not
    hold back a 取消 of something they already received).

    Area codes alone reach every place in the areas. With a radius as well, for ``crime`` (police notices) the
    result is the located places within the radius plus the places registered as a whole municipality/ward
    (a located place 3 km away in the same ward is not "near"); for other categories areas and radius are unioned.
    Categories narrow (empty = any); only users the ``UserStore`` marks active are yielded; quiet hours drop people
    unless ``ignore_quiet_hours``; ``all_friends`` yields every active friend whatever they subscribed to.

    ``radius_narrows_areas`` is the flag wrappers check (``alerts.notices.audience.NoticeAudience``): True means a
    ``crime`` query with a radius and areas is already resolved as "near + whole-area registrants" here, from the
    ``N:`` sets and the category's GEO index — O(recipients), no per-subscriber reads.
    """

    radius_narrows_areas: bool = True

    def __init__(
        self,
        store: SubscriptionStore,
        users: UserStore,
        gazetteer: Gazetteer,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
    ) -> None:
        self._store = store
        self._users = users
        self._g = gazetteer
        self._clock = clock
        # both ports on Redis: union, active filter and profile lookup run server-side (bench/alerts_targeting.py)
        self._fast = isinstance(store, RedisSubscriptionStore) and isinstance(users, RedisUserStore)

    async def resolve(self, query: AudienceQuery) -> AsyncIterator[Recipient]:
        if query.all_friends:
            async for r in self._all_friends(query):
                yield r
            return
        record = [c[len(RECORD_TAG):] for c in query.categories if c.startswith(RECORD_TAG)]
        replay = [c[len(RECIPIENTS_TAG):] for c in query.categories if c.startswith(RECIPIENTS_TAG)]
        plain = tuple(c for c in query.categories if not c.startswith("@"))
        categories = expand_query_categories(plain) if plain else expand_query_categories(CATEGORIES)
        if self._fast and not replay and query.center is None:
            keys = area_keys_for_query(query.area_codes, self._g) if query.area_codes else [f"A:{m.jis5}" for m in self._g.municipalities()]
            batches = self._store.target_recipients(  # type: ignore[attr-defined]
                query.tenant, keys, categories,
                active_key=self._users._active(query.tenant),  # type: ignore[attr-defined]
                languages=tuple(query.languages) or LANGUAGES,
                quiet_now=None if query.ignore_quiet_hours else self._clock(),
            )
            async for batch in batches:
                chosen = [Recipient(uid, lang) for uid, lang in batch]
                for source_id in record:
                    await self._store.record_recipients(query.tenant, source_id, [uid for uid, _ in batch])
                for r in chosen:
                    yield r
            return
        ids: set[str] = set()
        if replay:
            for source_id in replay:
                ids |= await self._store.recipients(query.tenant, source_id)
        elif query.area_codes:
            radius = query.center is not None and bool(query.radius_m)
            narrow = tuple(c for c in categories if radius and c in RADIUS_CATEGORIES)
            wide = tuple(c for c in categories if c not in narrow)
            if narrow:
                keys = area_keys_for_query(query.area_codes, self._g, unlocated_only=True)
                ids |= await self._store.members(query.tenant, keys, narrow)
            if wide:
                ids |= await self._store.members(query.tenant, area_keys_for_query(query.area_codes, self._g), wide)
        if query.center is not None and query.radius_m:
            ids |= await self._store.near(query.tenant, query.center[0], query.center[1], query.radius_m, categories)
        if not replay and not query.area_codes and query.center is None:
            every_city = [f"A:{m.jis5}" for m in self._g.municipalities()]
            ids |= await self._store.members(query.tenant, every_city, categories)
        async for batch in self._batches(query.tenant, ids):
            for r in await self._choose(query, batch, record, replay=bool(replay)):
                yield r

    async def _choose(
        self, query: AudienceQuery, batch: list[tuple[str, Profile]], record: list[str], *, replay: bool
    ) -> list[Recipient]:
        """Language and quiet-hours filter for one batch (quiet hours evaluated once per distinct window)."""
        now = self._clock()
        quiet_now: dict[QuietHours, bool] = {}
        langs = set(query.languages)
        skip_quiet = query.ignore_quiet_hours or replay
        chosen = [
            Recipient(uid, prof.language)
            for uid, prof in batch
            if (not langs or prof.language in langs) and (skip_quiet or not _in_quiet(prof.quiet_hours, now, quiet_now))
        ]
        for source_id in record:
            await self._store.record_recipients(query.tenant, source_id, [r.user_id for r in chosen])
        return chosen

    async def _batches(self, tenant: str, ids: set[str]) -> AsyncIterator[list[tuple[str, Profile]]]:
        ordered = list(ids)
        for i in range(0, len(ordered), _BATCH):
            batch = ordered[i : i + _BATCH]
            active = await self._active(tenant, batch)
            profiles = await self._store.profiles(tenant, [u for u, a in zip(batch, active) if a])
            yield list(profiles.items())

    async def may_reach(self, query: AudienceQuery) -> bool:
        """False only when nobody can match an area/category query (alerts skip creating a job for that tenant)."""
        if query.all_friends or query.center is not None or not query.area_codes:
            return True
        plain = tuple(c for c in query.categories if not c.startswith("@"))
        if any(c.startswith(RECIPIENTS_TAG) for c in query.categories):
            return True
        categories = expand_query_categories(plain) if plain else expand_query_categories(CATEGORIES)
        return await self._store.has_members(query.tenant, area_keys_for_query(query.area_codes, self._g), categories)

    async def _all_friends(self, query: AudienceQuery) -> AsyncIterator[Recipient]:
        batch: list[str] = []
        async for uid in self._users.active_ids(query.tenant):
            batch.append(uid)
            if len(batch) >= _BATCH:
                async for r in self._friends_batch(query, batch):
                    yield r
                batch = []
        async for r in self._friends_batch(query, batch):
            yield r

    async def _friends_batch(self, query: AudienceQuery, batch: list[str]) -> AsyncIterator[Recipient]:
        if not batch:
            return
        profiles = await self._store.profiles(query.tenant, batch)
        for uid in batch:
            lang = profiles[uid].language if uid in profiles else None
            if lang is None:
                user = await self._users.get(query.tenant, uid)
                lang = user.language if user else "ja"
            if query.languages and lang not in query.languages:
                continue
            yield Recipient(user_id=uid, language=lang)

    async def _active(self, tenant: str, ids: list[str]) -> list[bool]:
        # RedisUserStore keeps a documented set of active ids: one SMISMEMBER per batch instead of one call per
        # user (the users port has no batch method yet; reported to the lead).
        if isinstance(self._users, RedisUserStore):
            flags = await self._users._r.smismember(self._users._active(tenant), ids)
            return [bool(f) for f in flags]
        return list(await asyncio.gather(*(self._users.is_active(tenant, uid) for uid in ids)))
