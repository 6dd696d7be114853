"""The garbage data of one tenant, as the 5374.jp layout describes it (see data/demo/README.md).

Plain dataclasses; ``Dataset`` round-trips through JSON (the stored form) and through the 5374 CSV files
(``garbage.csvio``).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEMO_DATA = Path(__file__).parent / "data" / "demo"
ACTIONS = ("休止", "臨時", "振替")  # calendar exception kinds: no collection / extra collection / moved
ALL = "*"


@dataclass(frozen=True)
class Category:
    label: str  # 燃やすごみ — the `type` of target.csv
    sublabel: str = ""
    description: str = ""  # how to put it out
    styles: str = ""
    bgcolor: str = ""
    url: str = ""


@dataclass(frozen=True)
class Item:
    category: str  # a Category.label
    name: str
    notice: str = ""  # advice for the item (粗大ごみ fee: 手数料400円)
    furigana: str = ""
    name_en: str = ""  # optional English names, ``|``-separated, the first one shown (frying pan|skillet|pan)

    def english_names(self) -> list[str]:
        return [n.strip() for n in self.name_en.split("|") if n.strip()]


@dataclass(frozen=True)
class Area:
    name: str  # 都島北部（毛馬町・大東町）
    center: str = ""
    rules: tuple[tuple[str, str], ...] = ()  # (category label, day rule as written: "月 木", "水2 水4", "20270104")

    def towns(self) -> tuple[str, ...]:
        """The towns named in the area's parentheses (毛馬町, 大東町): a registered place in one of them is here."""
        m = re.search(r"[（(]([^）)]*)[）)]", self.name)
        return tuple(t.strip() for t in re.split(r"[・、,，]", m.group(1)) if t.strip()) if m else ()


@dataclass(frozen=True)
class Center:
    name: str
    pause_start: str  # ISO date, inclusive
    pause_end: str


@dataclass(frozen=True)
class CalendarException:
    date: str  # ISO date
    area: str = ALL  # Area.name or "*"
    category: str = ALL  # Category.label or "*"
    action: str = "休止"  # one of ACTIONS
    moved_to: str = ""  # ISO date, for 振替
    reason: str = ""


@dataclass
class Dataset:
    categories: list[Category] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    areas: list[Area] = field(default_factory=list)
    centers: list[Center] = field(default_factory=list)
    exceptions: list[CalendarException] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)

    def category(self, label: str) -> Category | None:
        return next((c for c in self.categories if c.label == label), None)

    def area(self, name: str) -> Area | None:
        return next((a for a in self.areas if a.name == name), None)

    def scheduled_categories(self) -> list[str]:
        """Categories with collection days in some area (the ones a reminder can be about), in column order."""
        seen: dict[str, None] = {}
        for a in self.areas:
            for label, _ in a.rules:
                seen.setdefault(label, None)
        return list(seen)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> Dataset:
        d = json.loads(raw)
        return cls(
            categories=[Category(**c) for c in d.get("categories", [])],
            items=[Item(**i) for i in d.get("items", [])],
            areas=[Area(a["name"], a.get("center", ""), tuple(tuple(r) for r in a.get("rules", []))) for a in d.get("areas", [])],
            centers=[Center(**c) for c in d.get("centers", [])],
            exceptions=[CalendarException(**e) for e in d.get("exceptions", [])],
            remarks=list(d.get("remarks", [])),
        )
