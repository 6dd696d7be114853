"""Osaka Prefecture reference geography: municipalities, wards, 町丁目, and JMA's area codes.

One ``Gazetteer`` is loaded once per process (``Gazetteer.load()`` is cached) from the core's one municipality table
(``bot.municipalities``) and the 町丁目 CSV in ``alerts/data/`` (Geolonia 住所データ, CC BY 4.0 — see
``bot/data/ATTRIBUTION.md`` and ``alerts/data/ATTRIBUTION.txt``). It answers the questions
every alert and every place a resident registers needs:

* codes: ``get("27104")``, ``get("271047")`` (with check digit) and ``get("2710400")`` (JMA 市町村等) are the
  same ward; ``city_of(ward)`` rolls a ward up to 大阪市/堺市; ``jma_code(jis5)`` / ``jis5_of(code)`` convert.
* names: ``municipality_by_name("四条畷市")`` finds 四條畷市; JMA's spellings (「大阪此花区」「大阪堺市堺区」
  「大阪和泉市」) and 郡 prefixes resolve too; ``find_towns("梅田1丁目")`` normalizes digits to kanji numerals.
* points: ``locate(lat, lng)`` → the nearest 町丁目 representative point and its ward/municipality (numpy, ~µs).
* JMA areas: 地震情報／細分区域 (520 大阪府北部, 521 大阪府南部), 津波予報区 大阪府 (510) and the prefecture's
  forecast areas expand to municipality codes with ``expand_area(code)``.

Text geocoding (police notices) builds on ``municipalities_in_text`` and ``towns_in_text``.
"""

from __future__ import annotations

import csv
import functools
import math
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.municipalities import MUNICIPALITIES_CSV
from bot.municipalities import rows as municipality_rows

DATA_DIR = Path(__file__).resolve().parent / "data"
PREF_CODE = "27"
SEISMIC_NORTH = "520"  # 地震情報／細分区域 大阪府北部
SEISMIC_SOUTH = "521"  # 地震情報／細分区域 大阪府南部
TSUNAMI_OSAKA = "510"  # 津波予報区 大阪府
SEISMIC_AREA_NAMES = {SEISMIC_NORTH: "大阪府北部", SEISMIC_SOUTH: "大阪府南部"}
ATTRIBUTION = "Geolonia 住所データ (CC BY 4.0) https://github.com/geolonia/japanese-addresses を加工して作成"

_KANJI_DIGITS = "〇一二三四五六七八九"
_CHOME = re.compile(r"(\d+)(丁目)")


@dataclass(frozen=True)
class Municipality:
    """A 市町村 or a 政令市の区. ``parent`` is the city's jis5 for wards, else ``None``."""

    jis5: str
    jis6: str
    name: str  # 大阪市此花区, 吹田市, 熊取町
    full_name: str  # with 郡: 泉南郡熊取町
    kind: str  # 市 / 区 / 町 / 村
    parent: str | None
    lat: float
    lng: float
    seismic_area: str  # 520 / 521
    name_en: str = ""  # Suita City, Konohana Ward, Osaka City

    @property
    def jma_code(self) -> str:
        return self.jis5 + "00"

    @property
    def is_ward(self) -> bool:
        return self.parent is not None

    @property
    def short_name(self) -> str:
        """Ward name without its city (此花区), else the name — what a quick-reply label shows."""
        if self.parent is not None:
            return self.name.split("市", 1)[1]
        return self.name


@dataclass(frozen=True)
class Town:
    """A 町丁目 representative point. ``code`` is the jis5 of its ward (政令市) or municipality."""

    code: str
    name: str  # 梅田一丁目
    koaza: str
    lat: float
    lng: float


@dataclass(frozen=True)
class Location:
    """What a point resolves to: the nearest 町丁目, its ward (if any) and municipality (city level)."""

    town: Town
    distance_m: float
    municipality: Municipality  # city level (大阪市, 吹田市)
    ward: Municipality | None  # 大阪市此花区, or None outside 政令市

    @property
    def code(self) -> str:
        """The finest area code (ward if any) as jis5."""
        return (self.ward or self.municipality).jis5

    @property
    def label(self) -> str:
        return f"{(self.ward or self.municipality).name}{self.town.name}"


def normalize_name(text: str) -> str:
    """NFKC, no spaces, 條→条, ケ/が in place names → ヶ, arabic 丁目 numbers → kanji (梅田1丁目 → 梅田一丁目)."""
    s = unicodedata.normalize("NFKC", text or "")
    s = re.sub(r"\s+", "", s)
    s = s.replace("條", "条").replace("ケ", "ヶ").replace("ヵ", "ヶ").replace("ｹ", "ヶ")
    return _CHOME.sub(lambda m: _int_to_kanji(int(m.group(1))) + m.group(2), s)


def _int_to_kanji(n: int) -> str:
    if n <= 0 or n >= 100:
        return str(n)
    tens, ones = divmod(n, 10)
    out = ""
    if tens:
        out += ("" if tens == 1 else _KANJI_DIGITS[tens]) + "十"
    if ones:
        out += _KANJI_DIGITS[ones]
    return out


class Gazetteer:
    """Read-only lookups over Osaka's municipalities, wards and 町丁目. Build with ``Gazetteer.load()``."""

    def __init__(self, municipalities: list[Municipality], towns: list[Town]) -> None:
        self._by_jis5 = {m.jis5: m for m in municipalities}
        self._by_jis6 = {m.jis6: m for m in municipalities}
        self._municipalities = municipalities
        self._wards: dict[str, list[Municipality]] = defaultdict(list)
        for m in municipalities:
            if m.parent:
                self._wards[m.parent].append(m)
        self._names: dict[str, set[str]] = defaultdict(set)  # normalized name -> jis5 codes
        for m in municipalities:
            for key in self._name_keys(m):
                self._names[normalize_name(key)].add(m.jis5)
        self._towns = [t for t in towns if not (math.isnan(t.lat) or math.isnan(t.lng))]
        self._towns_by_name: dict[str, list[Town]] = defaultdict(list)
        for t in towns:
            self._towns_by_name[normalize_name(t.name)].append(t)
        # equirectangular projection around Osaka: nearest-point search is a vectorized argmin over ~8,700 points
        self._cos = math.cos(math.radians(34.65))
        self._xy = np.array([[t.lng * self._cos, t.lat] for t in self._towns], dtype=np.float64)

    # --- loading -------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, data_dir: Path | None = None) -> Gazetteer:
        """The shipped data (cached: call freely); pass ``data_dir`` for other files (not cached)."""
        if data_dir is None:
            return _default_gazetteer()
        return cls._read(data_dir)

    @classmethod
    def _read(cls, data_dir: Path) -> Gazetteer:
        munis: list[Municipality] = []
        by_name: dict[str, str] = {}
        own = data_dir / "osaka_municipalities.csv"  # test data may bring its own; else the core's one table
        rows = list(municipality_rows(own if own.exists() else MUNICIPALITIES_CSV))
        for r in rows:
            by_name[r["name"]] = r["jis5"]
        for r in rows:
            munis.append(
                Municipality(
                    jis5=r["jis5"], jis6=r["jis6"], name=r["name"], full_name=r["full_name"], kind=r["kind"],
                    parent=by_name[r["parent"]] if r["parent"] else None,
                    lat=float(r["lat"]), lng=float(r["lng"]), seismic_area=r["jma_seismic_area"],
                    name_en=r.get("name_en", ""),
                )
            )
        towns: list[Town] = []
        with open(data_dir / "osaka_towns.csv", encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                lat = float(r["lat"]) if r["lat"] else math.nan
                lng = float(r["lng"]) if r["lng"] else math.nan
                towns.append(Town(code=r["city_code"], name=r["town"], koaza=r["koaza"], lat=lat, lng=lng))
        return cls(munis, towns)

    @staticmethod
    def _name_keys(m: Municipality) -> list[str]:
        keys = [m.name, m.full_name]
        if m.parent:
            city, ward = m.name.split("市", 1)
            keys += [f"大阪{ward}" if city == "大阪" else f"大阪{m.name}", ward]  # JMA: 大阪此花区, 大阪堺市堺区
        else:
            keys.append(f"大阪{m.name}")  # JMA: 大阪和泉市, 大阪太子町
        return keys

    # --- codes ---------------------------------------------------------------------------------------------
    def municipalities(self, *, wards: bool = False) -> list[Municipality]:
        """The 43 市町村 in code order (plus the 31 wards when ``wards``)."""
        return [m for m in self._municipalities if wards or m.parent is None]

    def get(self, code: str) -> Municipality | None:
        """A municipality or ward by jis5 (27104), jis6 (271047) or JMA 市町村等 code (2710400)."""
        code = (code or "").strip()
        if len(code) == 5:
            return self._by_jis5.get(code)
        if len(code) == 6:
            return self._by_jis6.get(code)
        if len(code) == 7 and code.endswith("00"):
            return self._by_jis5.get(code[:5])
        return None

    def wards_of(self, code: str) -> list[Municipality]:
        m = self.get(code)
        return list(self._wards.get(m.jis5, [])) if m else []

    def city_of(self, code: str) -> Municipality | None:
        """Ward → its city; a municipality → itself."""
        m = self.get(code)
        if m is None:
            return None
        return self._by_jis5[m.parent] if m.parent else m

    @staticmethod
    def jma_code(jis5: str) -> str:
        return jis5[:5] + "00"

    def jis5_of(self, code: str) -> str | None:
        m = self.get(code)
        return m.jis5 if m else None

    def seismic_area_of(self, code: str) -> str | None:
        m = self.get(code)
        return m.seismic_area if m else None

    def expand_area(self, code: str) -> list[str]:
        """City-level jis5 codes covered by a JMA area code (Osaka only; unknown codes → []).

        Municipality/ward codes (5/6/7 digits) give themselves; 520/521 give the 細分区域's municipalities;
        510 (津波予報区 大阪府), "27" and the prefecture's 6-digit forecast areas (27xxxx, not a jis6) give all 43.
        """
        code = (code or "").strip()
        m = self.get(code)
        if m is not None:
            return [m.jis5]
        if code in (SEISMIC_NORTH, SEISMIC_SOUTH):
            return [x.jis5 for x in self.municipalities() if x.seismic_area == code]
        if code in (TSUNAMI_OSAKA, PREF_CODE) or (len(code) == 6 and code.startswith("270")):
            return [x.jis5 for x in self.municipalities()]
        return []

    # --- names ---------------------------------------------------------------------------------------------
    def find_municipalities(self, name: str) -> list[Municipality]:
        """Every municipality/ward the name can mean (「北区」 → 大阪市北区 and 堺市北区)."""
        key = normalize_name(name)
        for prefix in ("大阪府", ""):
            if prefix and key.startswith(prefix):
                key = key[len(prefix):]
            codes = self._names.get(key)
            if codes:
                return sorted((self._by_jis5[c] for c in codes), key=lambda m: m.jis5)
        return []

    def municipality_by_name(self, name: str) -> Municipality | None:
        """The one municipality/ward a name means, or ``None`` (unknown or ambiguous)."""
        found = self.find_municipalities(name)
        return found[0] if len(found) == 1 else None

    def municipalities_in_text(self, text: str) -> list[Municipality]:
        """Municipalities and wards named in free text, longest names first, without overlaps."""
        s = normalize_name(text)
        hits: list[tuple[int, int, str]] = []
        for key, codes in self._names.items():
            if len(codes) != 1 or len(key) < 2:
                continue
            start = s.find(key)
            while start >= 0:
                hits.append((start, start + len(key), next(iter(codes))))
                start = s.find(key, start + 1)
        hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
        out: list[Municipality] = []
        end = -1
        for a, b, code in hits:
            if a >= end:
                m = self._by_jis5[code]
                if m not in out:
                    out.append(m)
                end = b
        return out

    def find_towns(self, name: str, within: str | None = None) -> list[Town]:
        """町丁目 by name (normalized), optionally inside a municipality/ward code (a city includes its wards)."""
        towns = self._towns_by_name.get(normalize_name(name), [])
        if within is None:
            return list(towns)
        allowed = self._codes_within(within)
        return [t for t in towns if t.code in allowed]

    def towns_in_text(self, text: str, within: str | None = None) -> list[Town]:
        """町丁目 names that occur in ``text`` (longest match wins), optionally inside a municipality."""
        s = normalize_name(text)
        allowed = self._codes_within(within) if within else None
        found: list[Town] = []
        for key, towns in self._towns_by_name.items():
            if len(key) >= 2 and key in s:
                found += [t for t in towns if allowed is None or t.code in allowed]
        names = {normalize_name(t.name) for t in found}
        return [t for t in found if not any(o != normalize_name(t.name) and normalize_name(t.name) in o for o in names)]

    def towns_of(self, code: str) -> list[Town]:
        """Every 町丁目 with a representative point in a municipality or ward (a city includes its wards)."""
        allowed = self._codes_within(code)
        return [t for t in self._towns if t.code in allowed]

    def _codes_within(self, code: str) -> set[str]:
        m = self.get(code)
        if m is None:
            return set()
        return {m.jis5, *(w.jis5 for w in self._wards.get(m.jis5, []))}

    # --- points --------------------------------------------------------------------------------------------
    def nearest_town(self, lat: float, lng: float) -> tuple[Town, float]:
        """The nearest 町丁目 representative point and its distance in metres."""
        d2 = (self._xy[:, 0] - lng * self._cos) ** 2 + (self._xy[:, 1] - lat) ** 2
        i = int(np.argmin(d2))
        town = self._towns[i]
        return town, haversine_m(lat, lng, town.lat, town.lng)

    def locate(self, lat: float, lng: float, *, max_distance_m: float = 3000.0) -> Location | None:
        """Resolve a point to 町丁目/ward/municipality; ``None`` when it is outside Osaka (no 町丁目 nearby)."""
        town, dist = self.nearest_town(lat, lng)
        if dist > max_distance_m:
            return None
        unit = self._by_jis5[town.code]
        city = self._by_jis5[unit.parent] if unit.parent else unit
        return Location(town=town, distance_m=dist, municipality=city, ward=unit if unit.parent else None)


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(a))


@functools.lru_cache(maxsize=1)
def _default_gazetteer() -> Gazetteer:
    return Gazetteer._read(DATA_DIR)
