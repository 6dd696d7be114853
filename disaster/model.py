"""Disaster room vocabulary: hazards, shelters, open status, the tenant's mode (small dataclasses, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["normal", "disaster"]
MODES: tuple[Mode, ...] = ("normal", "disaster")

# GSI 指定緊急避難場所 hazard columns, in GSI's order → our hazard keys
GSI_HAZARD_COLUMNS: dict[str, str] = {
    "洪水": "flood",
    "崖崩れ、土石流及び地滑り": "landslide",
    "高潮": "storm_surge",
    "地震": "earthquake",
    "津波": "tsunami",
    "大規模な火事": "fire",
    "内水氾濫": "inland_flood",
    "火山現象": "volcano",
}
HAZARDS: tuple[str, ...] = tuple(GSI_HAZARD_COLUMNS.values())

# When several hazards are in force, residents are sent to sites designated for the most urgent group: a tsunami
# warning after an earthquake means 津波 sites only (higher ground), heavy rain means sites safe from every rain hazard.
HAZARD_GROUPS: tuple[tuple[str, ...], ...] = (
    ("tsunami",),
    ("storm_surge",),
    ("flood", "landslide", "inland_flood"),
    ("volcano",),
    ("earthquake",),
    ("fire",),
)

Status = Literal["open", "crowded", "full", "closed"]
STATUSES: tuple[Status, ...] = ("open", "crowded", "full", "closed")
STATUS_RANK = {"open": 0, "crowded": 1, "": 2, "full": 3, "closed": 4}  # open sites first, "" = no status set
WALK_M_PER_MIN = 80.0  # 不動産の表示に関する公正競争規約: 80 m per minute
MAX_RADIUS_M = 3000.0


def required_hazards(in_force: tuple[str, ...] | frozenset[str] | set[str]) -> tuple[str, ...]:
    """The hazards a suggested site must be designated for, given every hazard in force (most urgent group)."""
    present = set(in_force)
    for group in HAZARD_GROUPS:
        hit = tuple(h for h in group if h in present)
        if hit:
            return hit
    return ()


@dataclass(frozen=True)
class Shelter:
    id: str  # GSI 共通ID (E + 5-digit municipality code + …)
    name: str
    address: str
    lat: float
    lng: float
    hazards: frozenset[str]
    note: str = ""

    @property
    def municipality(self) -> str:
        return self.id[1:6] if self.id[:1] == "E" and self.id[1:6].isdigit() else ""

    def designated_for(self, hazards: tuple[str, ...]) -> bool:
        return bool(hazards) and all(h in self.hazards for h in hazards)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "address": self.address,
            "lat": self.lat,
            "lng": self.lng,
            "hazards": sorted(self.hazards),
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, raw: dict) -> Shelter:
        return cls(
            id=raw["id"],
            name=raw["name"],
            address=raw.get("address", ""),
            lat=float(raw["lat"]),
            lng=float(raw["lng"]),
            hazards=frozenset(raw.get("hazards", ())),
            note=raw.get("note", ""),
        )


@dataclass(frozen=True)
class OpenStatus:
    status: Status
    at: float  # epoch seconds
    by: str


@dataclass(frozen=True)
class Nearby:
    shelter: Shelter
    distance_m: float
    status: OpenStatus | None = None

    @property
    def walk_minutes(self) -> int:
        return max(1, int(-(-self.distance_m // WALK_M_PER_MIN)))


@dataclass(frozen=True)
class ModeState:
    """A tenant's mode. ``applied`` is the mode whose menu LINE shows as default (differs after a crash mid-switch,
    so the next sync finishes the job)."""

    mode: Mode = "normal"
    hazards: tuple[str, ...] = ()
    since: float = 0.0
    by: str = ""
    reason: str = ""
    applied: str = ""


@dataclass(frozen=True)
class SwitchRequest:
    """A staff member's request to switch a tenant's mode, waiting for a second person's approval."""

    id: str
    mode: Mode
    hazards: tuple[str, ...]
    requested_by: str
    requested_at: float
    reason: str = ""


@dataclass(frozen=True)
class MenuRecord:
    """Rich menus uploaded for one tenant: ``"<mode>:<lang>"`` → rich menu id, the layout fingerprint, and menus a
    layout change replaced (old id → ``"<mode>:<lang>"``) whose linked residents still have to be moved, then deleted."""

    ids: dict[str, str] = field(default_factory=dict)
    fingerprint: str = ""
    stale: dict[str, str] = field(default_factory=dict)
