"""Domain of 通報 (resident reports): a report, its history, a resident's half-finished draft, and staff views.

The resident's LINE id stays inside the domain; staff pages and Open311 see a pseudonym or nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, NamedTuple

Status = Literal["received", "in_progress", "closed", "declined"]
STATUSES: tuple[Status, ...] = ("received", "in_progress", "closed", "declined")
OPEN_STATUSES: frozenset[str] = frozenset({"received", "in_progress"})
STATUS_JA = {"received": "受付", "in_progress": "対応中", "closed": "完了", "declined": "対応できません"}
DraftStep = Literal["category", "photo", "location", "duplicate", "comment", "confirm"]


@dataclass
class HistoryEntry:
    at: float
    actor: str  # staff username, "resident", "open311:<client>" or "system"
    action: str  # created, status, assign, note, follow, merge, photo
    detail: dict[str, str] = field(default_factory=dict)


@dataclass
class Note:
    at: float
    actor: str
    text: str


@dataclass
class Report:
    tenant: str
    id: str  # the reference number residents see (also Open311 service_request_id)
    category: str
    lat: float
    lng: float
    created_at: float
    reporter: str  # LINE user id, or "open311:<client>"
    source: Literal["line", "open311"] = "line"
    comment: str = ""
    address: str = ""
    photos: list[str] = field(default_factory=list)  # photo-store keys (staff only)
    fix_photo: str = ""  # photo of the repair, public
    followers: list[str] = field(default_factory=list)  # LINE user ids that added their report to this one
    status: Status = "received"
    status_text: str = ""  # resident-facing text of the last status change
    department: str = ""
    updated_at: float = 0.0
    merged_into: str = ""
    history: list[HistoryEntry] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES and not self.merged_into

    def recipients(self) -> list[str]:
        """LINE ids to tell about a status change: the reporter (when from LINE) and every follower, once each."""
        out = [self.reporter] if self.source == "line" else []
        out += [f for f in self.followers if f not in out]
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Report:
        """From ``to_dict`` JSON. Listings parse thousands: fields are set directly (3× faster than ``__init__``),
        missing ones (older documents) take the dataclass defaults."""
        report = object.__new__(cls)
        fields = {**_DEFAULTS, **raw}
        fields["history"] = [HistoryEntry(**h) for h in raw.get("history", ())]
        fields["notes"] = [Note(**n) for n in raw.get("notes", ())]
        fields["photos"] = list(raw.get("photos", ()))
        fields["followers"] = list(raw.get("followers", ()))
        unknown = set(fields) - _FIELDS
        if unknown:
            raise TypeError(f"unknown report fields {sorted(unknown)}")
        report.__dict__.update(fields)
        return report


class Summary(NamedTuple):
    """The public side of a report, stored beside it (listings read thousands: no history, notes or comment).
    A named tuple: a listing builds 10,000 of them, and the stored form is the tuple as a JSON array."""

    id: str
    category: str
    lat: float
    lng: float
    created_at: float
    updated_at: float
    status: Status
    status_text: str
    address: str
    department: str
    merged_into: str
    fix_photo: str

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES and not self.merged_into

    @classmethod
    def of(cls, r: Report) -> Summary:
        return cls(
            r.id,
            r.category,
            r.lat,
            r.lng,
            r.created_at,
            r.updated_at,
            r.status,
            r.status_text,
            r.address,
            r.department,
            r.merged_into,
            r.fix_photo,
        )

    def to_json(self) -> str:
        return json.dumps(list(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Summary:
        return cls._make(json.loads(raw))

    @classmethod
    def many(cls, raws: Sequence[str]) -> list[Summary]:
        """Thousands of ``to_json`` rows parsed by one ``json.loads`` (a call per row costs more than the parsing)."""
        with gc_paused():
            return list(map(cls._make, json.loads("[" + ",".join(raws) + "]")))


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Build many small acyclic objects (a listing's rows) without the cyclic collector walking the whole heap each
    time the allocations cross its threshold: reference counting frees them anyway. Only around synchronous code."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_FIELDS = frozenset(f.name for f in dataclasses.fields(Report))
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Report) if f.default is not dataclasses.MISSING}


@dataclass
class Draft:
    """A report being composed in chat; it lives 30 minutes (the store's TTL)."""

    tenant: str
    user_id: str
    step: DraftStep = "category"
    category: str = ""
    photos: list[str] = field(default_factory=list)
    lat: float | None = None
    lng: float | None = None
    address: str = ""
    comment: str = ""
    duplicate_of: str = ""
    started_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Draft:
        return cls(**raw)


def pseudonym(tenant: str, user_id: str) -> str:
    """Stable per tenant, meaningless outside it (as the console's): staff see 通報者-3F9A1C, never the LINE id."""
    if user_id.startswith("open311:"):
        return user_id
    return "通報者-" + hashlib.sha256(f"{tenant}:{user_id}".encode()).hexdigest()[:6].upper()


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def blur(lat: float, lng: float, metres: float = 10.0) -> tuple[float, float]:
    """Snap to a grid of ``metres`` (public reads): the point moves by at most ~metres/√2 and is the same for
    every report in the cell, so repeated reads cannot be averaged back to the exact spot."""
    dlat = metres / 111_320.0
    dlng = metres / (111_320.0 * max(0.01, math.cos(math.radians(lat))))
    return (round((math.floor(lat / dlat) + 0.5) * dlat, 6), round((math.floor(lng / dlng) + 0.5) * dlng, 6))
