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

import datetime as dt
import functools
import json
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

from redis.exceptions import WatchError

from alerts.categories import (
    CATEGORIES,
    CRIME,
    DEFAULT_CATEGORIES,
    DEFAULT_THRESHOLD,
    INTENSITY_THRESHOLDS,
    expand_query_categories,
    membership_categories,
)
from alerts.geo import Gazetteer, haversine_m
from bot.quiet import QuietHours
from bot.redis_client import RedisClient, connect, scan_prefix
from bot.roster import (
    ANDNOT,
    RECORDS_PER_BUCKET,
    Lua,
    Roster,
    bucket_of,
    set_bits_command,
)
from bot.users import RedisUserStore, UserStore
from broadcasts.audience import AudienceQuery, Recipient

MAX_PLACES = 5
RADIUS_CATEGORIES = frozenset({CRIME})  # categories whose notices come with a radius: only they need N: keys
SENT_TTL = 3 * 24 * 3600
LANGUAGES = ("ja", "ja-easy", "en", "zh-Hans", "ko", "vi")
_BATCH = 5000
LAYOUT_VERSION = "3"  # index-keyed documents + bitmaps (bot.roster); set by rebuild_indexes


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
        """The full JSON form, as releases before layout 3 stored it (``encode_doc`` is the stored form now)."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Subscription:
        """Read the full JSON form (``rebuild_indexes`` migrates documents stored that way)."""
        d = json.loads(raw)
        d["places"] = [Place(**p) for p in d.get("places", [])]
        d["quiet_hours"] = QuietHours(**d["quiet_hours"]) if d.get("quiet_hours") else None
        return cls(**d)


def encode_doc(sub: Subscription) -> str:
    """The stored form: short keys, defaults left out (``c`` absent = ``DEFAULT_CATEGORIES``, ``t`` = the default
    threshold, ``l`` = ``ja``), a place as ``[id, name, code(, lat, lng(, town))]`` — ~70 B for a typical resident
    instead of ~500 B of ``to_json``."""
    d: dict[str, object] = {"p": [_place_row(p) for p in sub.places]}
    if list(sub.categories) != list(DEFAULT_CATEGORIES):
        d["c"] = list(sub.categories)
    if sub.threshold != DEFAULT_THRESHOLD:
        d["t"] = sub.threshold
    if sub.language != "ja":
        d["l"] = sub.language
    if sub.quiet_hours:
        d["q"] = sub.quiet_hours.encode()
    if sub.notify_lift:
        d["n"] = 1
    if sub.paused:
        d["z"] = 1
    d["u"] = sub.updated_at
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


def decode_doc(tenant: str, user_id: str, raw: str) -> Subscription:
    d = json.loads(raw)
    places = [Place(*row[:3], *(row[3:5] if len(row) > 3 else ()), *(row[5:6] if len(row) > 5 else ())) for row in d["p"]]
    return Subscription(
        tenant=tenant, user_id=user_id, places=places, categories=list(d.get("c", DEFAULT_CATEGORIES)),
        threshold=d.get("t", DEFAULT_THRESHOLD), language=d.get("l", "ja"), quiet_hours=QuietHours.decode(d.get("q", "")),
        notify_lift=bool(d.get("n")), paused=bool(d.get("z")), updated_at=d.get("u", 0.0),
    )


def _place_row(p: Place) -> list[object]:
    row: list[object] = [p.id, p.name, p.code]
    if p.lat is not None or p.lng is not None or p.town:
        row += [p.lat, p.lng]
    if p.town:
        row.append(p.town)
    return row


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


Part = tuple[Sequence[str], Sequence[str]]  # (area keys, membership categories): who is indexed under any pair


@dataclass(frozen=True)
class Near:
    """Located places within ``radius_m`` of a point, of residents indexed under any of ``categories``."""

    lat: float
    lng: float
    radius_m: float
    categories: tuple[str, ...]


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
    """Accumulates ``SubscriptionCounts`` from stored documents — shared by both stores so they cannot drift.

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
        """One stored document (``encode_doc`` form)."""
        if not raw:
            return
        d = json.loads(raw)
        if d.get("z"):
            self.paused += 1
            return
        self.total += 1
        for code in {c for row in d.get("p", ()) for c in self._codes(row[2])}:
            self.by_area[code] += 1
        for cat in set(d.get("c", DEFAULT_CATEGORIES)):
            self.by_category[cat] = self.by_category.get(cat, 0) + 1
        lang = d.get("l") or "ja"
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
        return decode_doc(tenant, user_id, raw) if raw else None

    async def save(self, sub: Subscription) -> None:
        sub.validate()
        sub.updated_at = round(time.time(), 3)
        await self._unindex(sub.tenant, sub.user_id)
        for key, cat in index_entries(sub, self._g):
            self._index.setdefault((sub.tenant, key, cat), set()).add(sub.user_id)
        for (cat, member), point in point_entries(sub).items():
            self._points.setdefault((sub.tenant, cat), {})[member] = point
        self._subs[(sub.tenant, sub.user_id)] = encode_doc(sub)

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
                sub = decode_doc(tenant, uid, raw)
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
            sub = decode_doc(t, _uid, raw)
            for key, cat in index_entries(sub, self._g):
                self._index.setdefault((t, key, cat), set()).add(sub.user_id)
            for (cat, member), point in point_entries(sub).items():
                self._points.setdefault((t, cat), {})[member] = point
            n += 1
        return n


class RedisSubscriptionStore:
    """Subscriptions by dense user index (``bot.roster``), memberships as bitmaps. Keys (all under the tenant's
    hash tag, so a tenant lives on one cluster slot):

    * ``cb:{t}:alerts:s:<n>`` — hash, field ``index % 128`` → the document (``encode_doc``)
    * ``cb:{t}:alerts:b:<area key>`` — bitmap of the people with a place in the area (``A:``/``X:``/``N:`` keys,
      see the module docstring); ``cb:{t}:alerts:c:<membership category>`` — bitmap per category
      (``earthquake:4``, ``rain_flood:lift`` …). Who is indexed under (area, category) = area bitmap AND category
      bitmap: areas and categories are chosen independently per subscription, so this is exactly the set of
      (area key, category) pairs of ``index_entries`` — ``N:`` keys are only ever combined with
      ``RADIUS_CATEGORIES``. Paused subscriptions have no area, category or GEO entries.
    * ``cb:{t}:alerts:g`` — one GEO index of located places, members ``<index>:<place id>``; a radius query
      filters the hits by the category bitmaps inside Redis (one script call)
    * ``cb:{t}:alerts:l:<language>`` / ``cb:{t}:alerts:q:<window>`` (+ ``quietwins``) — bitmaps for the language
      and quiet-hours filters of ``target_recipients``; ``cb:{t}:alerts:all`` — everyone stored, paused included
    * ``cb:{t}:alerts:r:<source id>`` — bitmap of the recipients of an alert (``record_recipients``, 3 days)
    * ``cb:{t}:alerts:layout`` — ``LAYOUT_VERSION``; ``rebuild_indexes`` migrates the former layouts (a JSON
      string and a dozen id sets per subscriber: ~1,300 B per subscriber where this one needs ~250 B)
    """

    def __init__(self, client: RedisClient, gazetteer: Gazetteer) -> None:
        self._r = client
        self._g = gazetteer
        self._roster = Roster(client)

    @classmethod
    def from_url(cls, url: str, gazetteer: Gazetteer) -> RedisSubscriptionStore:
        return cls(connect(url), gazetteer)

    @staticmethod
    def _k(tenant: str, name: str) -> str:
        return f"cb:{{{tenant}}}:alerts:{name}"

    def _bucket(self, tenant: str, n: int) -> str:
        return self._k(tenant, f"s:{n}")

    def _doc(self, tenant: str, idx: int) -> tuple[str, int]:
        n, field = bucket_of(idx)
        return self._bucket(tenant, n), field

    def _bits(self, sub: Subscription) -> set[str]:
        """Bitmap names (without the tenant prefix) whose bit the subscription's index sets."""
        names = {"all", f"l:{sub.language}"}
        if sub.quiet_hours:
            names.add(f"q:{sub.quiet_hours.encode()}")
        if not sub.paused:
            names |= {f"b:{k}" for p in sub.places for k in area_keys_for_place(p, self._g)}
            names |= {f"c:{c}" for c in membership_categories(sub.categories, sub.threshold, sub.notify_lift)}
        return names

    @staticmethod
    def _points(sub: Subscription, idx: int) -> dict[str, tuple[float, float]]:
        if sub.paused:
            return {}
        return {f"{idx}:{p.id}": (p.lat, p.lng) for p in sub.places if p.lat is not None and p.lng is not None}

    def _write_index(self, pipe, tenant: str, idx: int, old: Subscription | None, new: Subscription | None) -> None:
        """Queue the bitmap and GEO changes that turn ``old``'s entries into ``new``'s (None = nothing)."""
        before = self._bits(old) if old else set()
        after = self._bits(new) if new else set()
        for name in before - after:
            pipe.setbit(self._k(tenant, name), idx, 0)
        for name in after:  # always: heals an index that missed a write
            pipe.setbit(self._k(tenant, name), idx, 1)
        gone = (self._points(old, idx) if old else {}).keys() - (self._points(new, idx) if new else {}).keys()
        if gone:
            pipe.zrem(self._k(tenant, "g"), *gone)
        for member, (lat, lng) in (self._points(new, idx) if new else {}).items():
            pipe.geoadd(self._k(tenant, "g"), (lng, lat, member))
        if new and new.quiet_hours:
            pipe.sadd(self._k(tenant, "quietwins"), new.quiet_hours.encode())

    async def get(self, tenant: str, user_id: str) -> Subscription | None:
        (idx,) = await self._roster.lookup(tenant, [user_id])
        if idx is None:
            return None
        raw = await self._r.hget(*self._doc(tenant, idx))
        return decode_doc(tenant, user_id, raw) if raw else None

    async def save(self, sub: Subscription) -> None:
        """Replace the subscription and move its index entries, atomically against concurrent saves of the same
        user (WATCH on the document's hash: a double-tapped button cannot leave stale membership behind)."""
        sub.validate()
        sub.updated_at = round(time.time(), 3)
        (idx,) = await self._roster.ensure(sub.tenant, [sub.user_id])
        key, field = self._doc(sub.tenant, idx)

        async def apply(pipe) -> None:
            raw = await pipe.hget(key, field)
            old = decode_doc(sub.tenant, sub.user_id, raw) if raw else None
            pipe.multi()
            self._write_index(pipe, sub.tenant, idx, old, sub)
            pipe.hset(key, field, encode_doc(sub))

        await self._r.transaction(apply, key)

    async def import_many(self, subs: Sequence[Subscription]) -> None:
        """Bulk write of subscriptions not stored yet (seeding load tests, migrating): one command per key touched
        instead of a dozen per subscriber. A subscription already stored would keep its old index entries — use
        ``save`` for those."""
        if not subs:
            return
        tenant = subs[0].tenant
        if any(s.tenant != tenant for s in subs):
            raise ValueError("import_many takes the subscriptions of one tenant")
        for sub in subs:
            sub.validate()
        indexes = await self._roster.ensure(tenant, [s.user_id for s in subs])
        docs: dict[str, dict[int, str]] = defaultdict(dict)
        bits: dict[str, list[int]] = defaultdict(list)
        geo: list[object] = []
        quiet: set[str] = set()
        for sub, idx in zip(subs, indexes):
            key, field = self._doc(tenant, idx)
            docs[key][field] = encode_doc(sub)
            for name in self._bits(sub):
                bits[name].append(idx)
            for member, (lat, lng) in self._points(sub, idx).items():
                geo += [lng, lat, member]
            if sub.quiet_hours:
                quiet.add(sub.quiet_hours.encode())
        async with self._r.pipeline(transaction=False) as pipe:
            for key, mapping in docs.items():
                pipe.hset(key, mapping=mapping)
            for name, idxs in bits.items():
                pipe.execute_command(*set_bits_command(self._k(tenant, name), idxs, 1))
            if geo:
                pipe.execute_command("GEOADD", self._k(tenant, "g"), *geo)
            if quiet:
                pipe.sadd(self._k(tenant, "quietwins"), *quiet)
            await pipe.execute()

    async def delete(self, tenant: str, user_id: str) -> None:
        (idx,) = await self._roster.lookup(tenant, [user_id])
        if idx is None:
            return
        key, field = self._doc(tenant, idx)

        async def apply(pipe) -> None:
            raw = await pipe.hget(key, field)
            pipe.multi()
            if raw:
                self._write_index(pipe, tenant, idx, decode_doc(tenant, user_id, raw), None)
            pipe.hdel(key, field)

        await self._r.transaction(apply, key)

    async def _combine(self, tenant: str, dest: str, parts: Sequence[Part], *, near: Near | None = None,
                       extra: Sequence[str] = (), also: Sequence[str] = ()) -> None:
        """dest = (the union of every part's "area bitmaps AND category bitmaps", the residents within ``near``,
        and the ``extra`` bitmaps) AND each of ``also``. ``N:`` area keys pair only with ``RADIUS_CATEGORIES``
        (as ``index_entries``). Leaves dest absent when nothing can match."""
        pairs: list[tuple[list[str], list[str]]] = []
        for area_keys, categories in parts:
            areas = list(dict.fromkeys(area_keys))
            cats = list(dict.fromkeys(categories))
            wide = [self._k(tenant, f"b:{k}") for k in areas if not k.startswith("N:")]
            narrow = [self._k(tenant, f"b:{k}") for k in areas if k.startswith("N:")]
            pairs += [(wide, [self._k(tenant, f"c:{c}") for c in cats]),
                      (narrow, [self._k(tenant, f"c:{c}") for c in cats if c in RADIUS_CATEGORIES])]
        pairs = [(areas, cs) for areas, cs in pairs if areas and cs]
        tmp = f"{dest}:t"
        union = [f"{tmp}{n}" for n in range(len(pairs))] + list(extra)
        if near is not None and near.categories:
            await self._near_bits(tenant, f"{tmp}n", near)
            union.append(f"{tmp}n")
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(dest)
            for n, (areas, cs) in enumerate(pairs):
                pipe.execute_command("BITOP", "OR", f"{tmp}a", *areas)
                pipe.execute_command("BITOP", "OR", f"{tmp}c", *cs)
                pipe.execute_command("BITOP", "AND", f"{tmp}{n}", f"{tmp}a", f"{tmp}c")
            if union:
                pipe.execute_command("BITOP", "OR", dest, *union)
                if also:
                    pipe.execute_command("BITOP", "AND", dest, dest, *also)
                pipe.expire(dest, 300)
            pipe.execute_command("DEL", f"{tmp}a", f"{tmp}c", f"{tmp}n", *[f"{tmp}{n}" for n in range(len(pairs))])
            await pipe.execute()

    async def _near_bits(self, tenant: str, dest: str, near: Near) -> None:
        cats = [self._k(tenant, f"c:{c}") for c in dict.fromkeys(near.categories)]
        await _NEAR(self._r, [self._k(tenant, "g"), f"{dest}:c", dest, *cats], [near.lng, near.lat, near.radius_m])

    def _scratch(self, tenant: str) -> str:
        return self._k(tenant, f"tmp:{uuid.uuid4().hex}")

    async def _ids(self, tenant: str, **combine) -> set[str]:
        dest = self._scratch(tenant)
        try:
            await self._combine(tenant, dest, **combine)
            return {uid async for batch in self._roster.members(tenant, dest) for uid in batch}
        finally:
            await self._r.delete(dest)

    async def members(self, tenant: str, area_keys: list[str], categories: tuple[str, ...]) -> set[str]:
        return await self._ids(tenant, parts=[(area_keys, categories)])

    async def near(self, tenant: str, lat: float, lng: float, radius_m: float, categories: tuple[str, ...]) -> set[str]:
        """One script call (GEOSEARCH the located places, keep those whose resident has one of the categories, as
        a bitmap), then the ids of its bits (``bench/notices_radius.py``)."""
        return await self._ids(tenant, parts=[], near=Near(lat, lng, radius_m, categories))

    async def _docs(self, tenant: str, user_ids: Sequence[str]) -> list[str | None]:
        return await self._roster.records_of(tenant, user_ids, lambda n: self._bucket(tenant, n))

    async def profiles(self, tenant: str, user_ids: list[str]) -> dict[str, Profile]:
        out: dict[str, Profile] = {}
        for i in range(0, len(user_ids), _BATCH):
            batch = user_ids[i : i + _BATCH]
            for uid, raw in zip(batch, await self._docs(tenant, batch)):
                if raw:
                    d = json.loads(raw)
                    out[uid] = _profile(d.get("l", "ja"), d.get("q", ""))
        return out

    async def languages_at(self, tenant: str, indexes: Sequence[int]) -> dict[int, str]:
        """Subscription language of each index that has a subscription."""
        docs = await self._roster.records_at(indexes, lambda n: self._bucket(tenant, n))
        return {idx: json.loads(raw).get("l", "ja") if '"l":' in raw else "ja" for idx, raw in docs.items()}

    async def count(self, tenant: str) -> int:
        return int(await self._r.bitcount(self._k(tenant, "all")))

    async def counts(self, tenant: str, area_codes: Sequence[str], *, batch: int = 64) -> SubscriptionCounts:
        """Read every document hash once (``batch`` hashes of 128 per round trip); nothing is written.

        Why not the bitmaps: per-area user counts would need a union per area of its category bitmaps' AND,
        the ``c:`` bitmaps cannot tell the chosen categories from ``earthquake:4``/``:lift`` expansions, and
        ``l:`` bitmaps include paused users. One pass over the documents gives every figure exactly. Saves
        during the pass may or may not be reflected — fine for an hourly snapshot."""
        tally = _CountTally(area_codes, self._g)
        buckets = (await self._roster.size(tenant) + RECORDS_PER_BUCKET - 1) // RECORDS_PER_BUCKET
        for lo in range(0, buckets, batch):
            async with self._r.pipeline(transaction=False) as pipe:
                for n in range(lo, min(lo + batch, buckets)):
                    pipe.hvals(self._bucket(tenant, n))
                for docs in await pipe.execute():
                    for raw in docs:
                        tally.add(raw)
        return tally.result()

    async def target_recipients(
        self,
        tenant: str,
        parts: Sequence[Part],
        *,
        near: Near | None = None,
        replay: Sequence[str] = (),
        active_key: str | None,
        languages: tuple[str, ...],
        quiet_now: dt.datetime | None,
        record: Sequence[str] = (),
        batch: int = _BATCH,
    ) -> AsyncIterator[list[tuple[str, str]]]:
        """A whole audience as bitmap algebra inside Redis (BITOP over ~125 KB per million residents), ids shipped
        once: the union of the parts (areas AND categories), the residents within ``near`` and the recipients of
        the ``replay`` sources, AND the active users' bitmap (same index space, ``RedisUserStore.active_key``),
        minus the quiet-hours windows in force at ``quiet_now`` (None: no subtraction), then per language. Each
        language's set is also OR-ed into the recipient bitmaps of the ``record`` sources. Yields (user id,
        language) batches; each id at most once."""
        tmp = self._scratch(tenant)
        quiet = f"{tmp}:q"
        try:
            await self._combine(tenant, tmp, parts, near=near, extra=[self._k(tenant, f"r:{s}") for s in replay],
                                also=[active_key] if active_key else [])
            if quiet_now is not None:
                windows = [raw for raw in await self._r.smembers(self._k(tenant, "quietwins"))
                           if (w := QuietHours.decode(raw)) is not None and w.contains(quiet_now)]
                if windows:
                    async with self._r.pipeline(transaction=True) as pipe:
                        pipe.execute_command("BITOP", "OR", quiet, *[self._k(tenant, f"q:{w}") for w in windows])
                        pipe.expire(quiet, 300)  # scratch keys expire even if this process dies mid-way
                        await pipe.execute()
                    await ANDNOT(self._r, [tmp, quiet])
            for lang in languages:  # one language at a time: the first batch leaves early
                per_lang = f"{tmp}:{lang}"
                async with self._r.pipeline(transaction=True) as pipe:
                    pipe.execute_command("BITOP", "AND", per_lang, tmp, self._k(tenant, f"l:{lang}"))
                    pipe.expire(per_lang, 300)
                    for source_id in record:
                        pipe.execute_command("BITOP", "OR", self._k(tenant, f"r:{source_id}"), self._k(tenant, f"r:{source_id}"), per_lang)
                        pipe.expire(self._k(tenant, f"r:{source_id}"), SENT_TTL)
                    await pipe.execute()
                try:
                    async for ids in self._roster.members(tenant, per_lang, batch):
                        yield [(uid, lang) for uid in ids]
                finally:
                    await self._r.delete(per_lang)
        finally:
            await self._r.delete(tmp, quiet)

    async def record_recipients(self, tenant: str, source_id: str, user_ids: list[str]) -> None:
        if not user_ids:
            return
        indexes = [i for i in await self._roster.lookup(tenant, user_ids) if i is not None]
        if not indexes:
            return
        key = self._k(tenant, f"r:{source_id}")
        async with self._r.pipeline(transaction=False) as pipe:
            pipe.execute_command(*set_bits_command(key, indexes, 1))
            pipe.expire(key, SENT_TTL)
            await pipe.execute()

    async def recipients(self, tenant: str, source_id: str) -> set[str]:
        return {uid async for batch in self._roster.members(tenant, self._k(tenant, f"r:{source_id}")) for uid in batch}

    async def has_members(self, tenant: str, area_keys: list[str], categories: tuple[str, ...]) -> bool:
        dest = self._scratch(tenant)
        try:
            await self._combine(tenant, dest, [(area_keys, categories)])
            return int(await self._r.bitpos(dest, 1)) >= 0 if await self._r.exists(dest) else False
        finally:
            await self._r.delete(dest)

    async def needs_rebuild(self, tenant: str) -> bool:
        """True while data of a former layout (a JSON string per subscriber + id sets) is still stored: cheap
        enough for a startup check."""
        legacy = await self._r.exists(*(self._k(tenant, n) for n in _LEGACY_MARKERS))
        return bool(legacy) or (await self._r.get(self._k(tenant, "layout"))) not in (None, LAYOUT_VERSION)

    async def rebuild_indexes(self, tenant: str, *, batch: int = 500) -> int:
        """Migration and repair, idempotent and safe to run while residents save.

        1. Documents of the former layouts (``sub:<user>`` JSON strings) move into the index-keyed hashes (a
           subscription saved in the new layout meanwhile wins), ``sent:<source>`` recipient sets become
           bitmaps, and the former index keys (``m:``, ``geo``, ``geo:``, ``profile``, ``lang:``, ``quiet:``,
           ``users``) are deleted.
        2. Every entry (bitmaps, GEO) is re-derived from the stored documents; entries are only added.
        Returns the documents indexed."""
        await self._migrate_legacy(tenant, batch)
        done = 0
        buckets = (await self._roster.size(tenant) + RECORDS_PER_BUCKET - 1) // RECORDS_PER_BUCKET
        for n in range(buckets):
            key = self._bucket(tenant, n)
            while True:
                async with self._r.pipeline(transaction=True) as pipe:
                    try:
                        await pipe.watch(key)
                        docs = await pipe.hgetall(key)
                        if not docs:
                            break
                        indexes = [n * RECORDS_PER_BUCKET + int(f) for f in docs]
                        uids = await self._roster.user_ids(tenant, indexes)
                        pipe.multi()
                        for idx, uid, raw in zip(indexes, uids, docs.values()):
                            self._write_index(pipe, tenant, idx, None, decode_doc(tenant, uid, raw))
                        await pipe.execute()
                        done += len(docs)
                        break
                    except WatchError:
                        continue
        await self._r.set(self._k(tenant, "layout"), LAYOUT_VERSION)
        return done

    async def _migrate_legacy(self, tenant: str, batch: int) -> None:
        prefix = self._k(tenant, "sub:")
        keys: list[str] = []

        async def flush() -> None:
            raws = await self._r.mget(keys)
            legacy = [Subscription.from_json(raw) for raw in raws if raw]
            present = await self._docs(tenant, [s.user_id for s in legacy])
            await self.import_many([s for s, p in zip(legacy, present) if p is None])
            await self._r.delete(*keys)
            keys.clear()

        async for key in scan_prefix(self._r, prefix):
            keys.append(key)
            if len(keys) >= batch:
                await flush()
        if keys:
            await flush()
        async for key in scan_prefix(self._r, self._k(tenant, 'sent:')):
            ids, ttl = await self._r.smembers(key), await self._r.ttl(key)
            await self.record_recipients(tenant, key.rsplit("sent:", 1)[1], list(ids))
            if ttl > 0:
                await self._r.expire(self._k(tenant, f"r:{key.rsplit('sent:', 1)[1]}"), ttl)
            await self._r.delete(key)
        for pattern in ("m:", "geo:", "lang:", "quiet:"):
            async for key in scan_prefix(self._r, self._k(tenant, pattern)):
                await self._r.delete(key)
        await self._r.delete(*(self._k(tenant, n) for n in _LEGACY_MARKERS))


_LEGACY_MARKERS = ("users", "profile", "geo")  # keys only the former layouts have

# GEOSEARCH the located places; set the bit (in KEYS[3]) of each whose index has a bit in the OR of the category
# bitmaps (KEYS[4..]); KEYS[2] is scratch
_NEAR = Lua("""
redis.call('BITOP', 'OR', KEYS[2], unpack(KEYS, 4))
local cats = redis.call('GET', KEYS[2]) or ''
redis.call('DEL', KEYS[2], KEYS[3])
local hits = redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', ARGV[1], ARGV[2], 'BYRADIUS', ARGV[3], 'm')
local n = 0
for _, m in ipairs(hits) do
  local colon = string.find(m, ':', 1, true)
  local idx = colon and tonumber(string.sub(m, 1, colon - 1))
  if idx then
    local byte = string.byte(cats, math.floor(idx / 8) + 1)
    if byte and bit.band(byte, bit.rshift(128, idx % 8)) ~= 0 then
      redis.call('SETBIT', KEYS[3], idx, 1)
      n = n + 1
    end
  end
end
if n > 0 then redis.call('EXPIRE', KEYS[3], 300) end
return n
""")



@functools.lru_cache(maxsize=4096)  # a handful of distinct profiles cover most residents: decode each once
def _profile(language: str, quiet: str) -> Profile:
    return Profile(language or "ja", QuietHours.decode(quiet))


def _in_quiet(q: QuietHours | None, now: dt.datetime, cache: dict[QuietHours, bool]) -> bool:
    if q is None:
        return False
    if q not in cache:
        cache[q] = q.contains(now)
    return cache[q]


class SubscriptionAudience:
    """``broadcasts.audience.AudienceSource`` over the subscription store and the users port.

    A query's ``record_as`` remembers whom it resolved to (``record_recipients``); ``replay_of`` resolves to exactly
    those people (still only active ones; quiet hours do not hold back a 取消 of something they already received).

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
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._store = store
        self._users = users
        self._g = gazetteer
        self._clock = clock
        # both ports on Redis (same index space): union, active filter and language run server-side as bitmap
        # operations (bench/alerts_targeting.py, bench/fanout.py)
        self._fast = isinstance(store, RedisSubscriptionStore) and isinstance(users, RedisUserStore)

    async def resolve(self, query: AudienceQuery) -> AsyncIterator[Recipient]:
        if query.all_friends:
            async for r in self._all_friends(query):
                yield r
            return
        record = [query.record_as] if query.record_as else []
        replay = [query.replay_of] if query.replay_of else []
        parts, near = self._plan(query, replay)
        if self._fast:
            batches = self._store.target_recipients(  # type: ignore[attr-defined]
                query.tenant, parts, near=near, replay=replay,
                active_key=self._users.active_key(query.tenant),  # type: ignore[attr-defined]
                languages=tuple(query.languages) or LANGUAGES,
                quiet_now=None if query.ignore_quiet_hours or replay else self._clock(),
                record=record,
            )
            async for batch in batches:
                for uid, lang in batch:
                    yield Recipient(uid, lang)
            return
        ids: set[str] = set()
        for source_id in replay:
            ids |= await self._store.recipients(query.tenant, source_id)
        for keys, cats in parts:
            ids |= await self._store.members(query.tenant, list(keys), tuple(cats))
        if near is not None:
            ids |= await self._store.near(query.tenant, near.lat, near.lng, near.radius_m, near.categories)
        async for batch in self._batches(query.tenant, ids):
            for r in await self._choose(query, batch, record, replay=bool(replay)):
                yield r

    def _plan(self, query: AudienceQuery, replay: list[str]) -> tuple[list[Part], Near | None]:
        """Who a query means, as membership parts and a radius — the same plan for both ways of resolving it.

        With a radius, ``crime`` (police notices) reaches the located places within it plus the places registered
        as the whole municipality/ward; other categories union areas and radius. No area and no radius: every
        municipality. A replay (``replay_of``) is exactly the recorded people (plus a radius if given)."""
        categories = expand_query_categories(query.categories or CATEGORIES)
        radius = query.center is not None and bool(query.radius_m)
        near = Near(query.center[0], query.center[1], float(query.radius_m), categories) if radius else None  # type: ignore[index, arg-type]
        parts: list[Part] = []
        if replay:
            pass
        elif query.area_codes:
            narrow = tuple(c for c in categories if radius and c in RADIUS_CATEGORIES)
            wide = tuple(c for c in categories if c not in narrow)
            if narrow:
                parts.append((area_keys_for_query(query.area_codes, self._g, unlocated_only=True), narrow))
            if wide:
                parts.append((area_keys_for_query(query.area_codes, self._g), wide))
        elif not radius:
            parts.append(([f"A:{m.jis5}" for m in self._g.municipalities()], categories))
        return parts, near

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
            active = await self._users.active_many(tenant, batch)
            profiles = await self._store.profiles(tenant, [u for u, a in zip(batch, active) if a])
            yield list(profiles.items())

    async def may_reach(self, query: AudienceQuery) -> bool:
        """False only when nobody can match an area/category query (alerts skip creating a job for that tenant)."""
        if query.all_friends or query.center is not None or not query.area_codes:
            return True
        if query.replay_of:
            return True
        categories = expand_query_categories(query.categories or CATEGORIES)
        return await self._store.has_members(query.tenant, area_keys_for_query(query.area_codes, self._g), categories)

    async def _all_friends(self, query: AudienceQuery) -> AsyncIterator[Recipient]:
        if self._fast:
            async for r in self._all_friends_by_index(query):
                yield r
            return
        batch: list[str] = []
        async for uid in self._users.active_ids(query.tenant):
            batch.append(uid)
            if len(batch) >= _BATCH:
                async for r in self._friends_batch(query, batch):
                    yield r
                batch = []
        async for r in self._friends_batch(query, batch):
            yield r

    async def _all_friends_by_index(self, query: AudienceQuery) -> AsyncIterator[Recipient]:
        """Walk the active bitmap; read languages (subscription first, else the user record) and ids by index
        range — a few commands per 5,000 friends instead of a few per friend (``bench/fanout.py`` (d))."""
        users, store, tenant = self._users, self._store, query.tenant
        langs = set(query.languages)
        async for found in users.roster.bits(users.active_key(tenant)):  # type: ignore[attr-defined]
            for s in range(0, len(found), _BATCH):
                chunk = [int(i) for i in found[s : s + _BATCH]]
                chosen = await store.languages_at(tenant, chunk)  # type: ignore[attr-defined]
                missing = [i for i in chunk if i not in chosen]
                if missing:
                    chosen.update(await users.languages_at(tenant, missing))  # type: ignore[attr-defined]
                uids = await users.roster.user_ids(tenant, chunk)  # type: ignore[attr-defined]
                for idx, uid in zip(chunk, uids):
                    lang = chosen.get(idx, "ja")
                    if not langs or lang in langs:
                        yield Recipient(uid, lang)

    async def _friends_batch(self, query: AudienceQuery, batch: list[str]) -> AsyncIterator[Recipient]:
        if not batch:
            return
        profiles = await self._store.profiles(query.tenant, batch)
        others = [uid for uid in batch if uid not in profiles]  # friends without a subscription: their user record
        users = dict(zip(others, await self._users.get_many(query.tenant, others))) if others else {}
        for uid in batch:
            lang = profiles[uid].language if uid in profiles else (users[uid].language if users.get(uid) else "ja")
            if query.languages and lang not in query.languages:
                continue
            yield Recipient(user_id=uid, language=lang)
