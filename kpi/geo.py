"""Osaka's municipalities for the dashboard: names, ward → city roll-up, and a tile-grid layout for the map.

A tile grid (one equal square per municipality, placed near its real position) reads better on a phone than a
choropleth where 大阪市's wards are specks next to 河南町; it needs no boundary data either — only the
representative points in the core's one municipality table (``bot.municipalities``; Geolonia 住所データ, CC BY 4.0).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

from bot.municipalities import MUNICIPALITIES_CSV, parent_codes, rows

DATA = MUNICIPALITIES_CSV
ATTRIBUTION = "Geolonia 住所データ (CC BY 4.0) https://github.com/geolonia/japanese-addresses を加工して作成"


@dataclass(frozen=True)
class Place:
    jis5: str
    name: str
    kind: str  # 市 / 区 / 町 / 村
    parent: str | None  # city code for wards
    lat: float
    lng: float
    name_en: str

    @property
    def short(self) -> str:
        """Tile label: 豊中, 堺, 河南, 千早赤阪 (ward: 此花)."""
        name = self.name.split("市", 1)[1] if self.parent else self.name
        return name[:-1] if len(name) > 2 and name[-1] in "市町村区" else name

    @property
    def short_en(self) -> str:
        return self.name_en.split(",")[0].replace(" City", "").replace(" Town", "").replace(" Village", "").replace(" Ward", "")


@dataclass(frozen=True)
class Tile:
    place: Place
    col: int
    row: int


@dataclass(frozen=True)
class Gazetteer:
    places: dict[str, Place]

    @classmethod
    @functools.cache
    def load(cls, path: Path = DATA) -> Gazetteer:
        table = rows(path)
        parents = parent_codes(table)
        places = {
            r["jis5"]: Place(r["jis5"], r["name"], r["kind"], parents.get(r["jis5"]), float(r["lat"]), float(r["lng"]), r["name_en"])
            for r in table
        }
        return cls(places)

    def city_of(self, code: str) -> str:
        """Roll a ward up to its city; accepts 6-digit codes (with check digit) too."""
        place = self.places.get(code[:5])
        return place.parent if place and place.parent else code[:5]

    def parent_map(self) -> dict[str, str]:
        return {p.jis5: p.parent for p in self.places.values() if p.parent}

    def name(self, code: str, lang: str = "ja") -> str:
        place = self.places.get(code[:5])
        if place is None:
            return code
        return place.name_en if lang == "en" else place.name

    def local_name(self, code: str, lang: str = "ja") -> str:
        """Within a city's own page: 此花区 / Konohana Ward rather than 大阪市此花区."""
        place = self.places.get(code[:5])
        if place is None or place.parent is None:
            return self.name(code, lang)
        return place.name_en.split(",")[0] if lang == "en" else place.name.split("市", 1)[1]

    @functools.cached_property
    def municipalities(self) -> list[Place]:
        return [p for p in self.places.values() if p.parent is None]

    def tiles(self, cols: int = 8, rows: int = 11) -> list[Tile]:
        return _layout(tuple(self.municipalities), cols, rows)


@functools.cache
def _layout(places: tuple[Place, ...], cols: int, rows: int) -> list[Tile]:
    """Greedy placement: each municipality takes the free cell nearest its scaled position (biggest first)."""
    lat0, lat1 = min(p.lat for p in places), max(p.lat for p in places)
    lng0, lng1 = min(p.lng for p in places), max(p.lng for p in places)
    kx = math.cos(math.radians((lat0 + lat1) / 2))
    span = max((lng1 - lng0) * kx / (cols - 1), (lat1 - lat0) / (rows - 1))
    taken: dict[tuple[int, int], Place] = {}
    out: list[Tile] = []
    order = sorted(places, key=lambda p: (p.kind != "市", p.jis5))
    for p in order:
        x = (p.lng - lng0) * kx / span
        y = (lat1 - p.lat) / span
        best = min(
            ((c, r) for c in range(cols) for r in range(rows) if (c, r) not in taken),
            key=lambda cr: (cr[0] - x) ** 2 + (cr[1] - y) ** 2,
        )
        taken[best] = p
        out.append(Tile(p, best[0], best[1]))
    return sorted(out, key=lambda t: (t.row, t.col))
