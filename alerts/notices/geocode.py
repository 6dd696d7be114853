"""Place text of a notice → ``Placement``, offline, over the shared gazetteer (``alerts.geo``).

「大阪市北区梅田1丁目付近の路上」 → 大阪市北区 梅田一丁目 (precision ``town``). The municipality named in the text
(or in the subject's 「（東大阪市）」) bounds the town search, so a 中央町 in another city never matches. What the
notice does not say is never invented: 「梅田付近」 places at the 町 level (centroid of its 丁目, label 梅田),
「1丁目18番」 stops at 一丁目, and a text naming only a city gives precision ``municipality``.
"""

from __future__ import annotations

import re
import unicodedata

from alerts.geo import Gazetteer, Municipality, Town, haversine_m, normalize_name
from alerts.notices.model import Placement

_KANJI = "〇一二三四五六七八九十"
AMBIGUITY_M = 1500.0  # same-named towns farther apart than this are "ambiguous", not averaged


def normalize_place(text: str) -> str:
    """Width, spaces, 丁目 numerals: 「梅田１丁目付近」/「梅田1丁」/「梅田1-2」 → 梅田一丁目付近 / 梅田一丁目 / 梅田一丁目."""
    s = unicodedata.normalize("NFKC", text or "")
    s = re.sub(r"\s+", "", s)
    s = re.sub(r"(\d+)丁(?!目)", r"\1丁目", s)
    s = re.sub(r"([" + _KANJI + r"]+)丁(?!目)", r"\1丁目", s)
    s = re.sub(r"(?<=[^\d\-])(\d{1,2})-\d+(?:-\d+)?", r"\1丁目", s)  # 梅田1-2-3 → 梅田1丁目
    return normalize_name(s)


def _stem(rest: str) -> str:
    """The 町 name at the start of ``rest``: up to a numeral, 丁目, 付近, 地区, の or a particle."""
    m = re.match(r"([^\d" + _KANJI + r"、,。の]{1,12}?)(?=[\d" + _KANJI + r"]|丁目|付近|地区|周辺|の|$)", rest)
    return m.group(1) if m else ""


def _centroid(towns: list[Town]) -> tuple[float, float]:
    return sum(t.lat for t in towns) / len(towns), sum(t.lng for t in towns) / len(towns)


def _spread_m(towns: list[Town]) -> float:
    lat, lng = _centroid(towns)
    return max(haversine_m(lat, lng, t.lat, t.lng) for t in towns)


def _municipality(text: str, hint: str, gazetteer: Gazetteer) -> tuple[Municipality | None, str]:
    """The finest municipality named in the text (else the hint) and the text after its name."""
    found = gazetteer.municipalities_in_text(text)
    if found:
        # prefer a ward over its city when both are named (大阪市北区 → 27127, not 27100)
        best = max(found, key=lambda m: (m.is_ward, len(m.name)))
        for name in sorted({best.name, best.full_name, best.short_name}, key=len, reverse=True):
            i = text.find(normalize_name(name))
            if i >= 0:
                return best, text[i + len(normalize_name(name)):]
        return best, text
    if hint:
        m = gazetteer.municipality_by_name(hint)
        if m is None:
            hits = gazetteer.municipalities_in_text(hint)
            m = hits[0] if len(hits) == 1 else None
        if m is not None:
            return m, text
    return None, text


def geocode(place_text: str, gazetteer: Gazetteer, *, hint: str = "") -> Placement:
    """Place a notice's place text. ``hint`` is the municipality from the subject, used when the text has none."""
    text = normalize_place(place_text)
    muni, rest = _municipality(text, hint, gazetteer)
    if muni is None:
        return Placement("none", reason="no municipality in the place text")
    towns = [t for t in gazetteer.towns_in_text(rest, within=muni.jis5) if t.lat == t.lat]
    if towns:
        # earliest in the text, then longest name: 「南瓦町」 over a 「瓦町」 that is part of it
        pos = {t.name: rest.find(normalize_name(t.name)) for t in towns}
        first = min(pos[t.name] for t in towns if pos[t.name] >= 0) if any(v >= 0 for v in pos.values()) else 0
        towns = [t for t in towns if pos[t.name] == first] or towns
        longest = max(len(t.name) for t in towns)
        towns = [t for t in towns if len(t.name) == longest]
        if len(towns) == 1 or _spread_m(towns) <= AMBIGUITY_M:
            lat, lng = _centroid(towns)
            return _town_placement(towns[0].name, towns, lat, lng, gazetteer)
        return _muni_placement(muni, f"{towns[0].name} is ambiguous within {muni.name}")
    stem = _stem(rest)
    if len(stem) >= 2:
        parts = [t for k in _KANJI[1:] for t in gazetteer.find_towns(f"{stem}{k}丁目", within=muni.jis5) if t.lat == t.lat]
        if parts and _spread_m(parts) <= 2 * AMBIGUITY_M:
            lat, lng = _centroid(parts)
            return _town_placement(stem, parts, lat, lng, gazetteer)
    return _muni_placement(muni, "no 町丁目 of the gazetteer in the place text")


def _town_placement(label: str, towns: list[Town], lat: float, lng: float, gazetteer: Gazetteer) -> Placement:
    unit = gazetteer.get(towns[0].code)
    return Placement(
        "town",
        municipality_code=towns[0].code,
        municipality_name=unit.name if unit else "",
        town=label,
        lat=round(lat, 6),
        lng=round(lng, 6),
    )


def _muni_placement(muni: Municipality, reason: str) -> Placement:
    return Placement("municipality", municipality_code=muni.jis5, municipality_name=muni.name, lat=muni.lat, lng=muni.lng, reason=reason)


def towns_of(gazetteer: Gazetteer, code: str) -> list[Town]:
    """Every 町丁目 (with a point) in a municipality; a city includes its wards."""
    return gazetteer.towns_of(code)


def town_choices(gazetteer: Gazetteer, code: str, query: str = "", limit: int = 50) -> list[dict]:
    """Towns an admin can choose for manual placement: the municipality's towns whose name contains ``query``."""
    q = normalize_place(query)
    out = [
        {"code": t.code, "town": t.name, "lat": t.lat, "lng": t.lng}
        for t in towns_of(gazetteer, code)
        if not q or q in normalize_name(t.name)
    ]
    return out[:limit]
