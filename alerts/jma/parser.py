"""JMA 防災情報XML → ``Telegram``: one small, typed view of every telegram kind civicbot acts on.

Parsing is defensive: defusedxml with DTDs forbidden (no entity expansion, no external references), a size cap
before parsing, and every failure raised as ``TelegramError`` (``HostileXMLError`` for attacks) so the caller can
log it and keep the raw bytes — nothing is lost, nothing crashes. Unknown telegram types parse to
``kind="unsupported"`` with their Head, never an exception.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from xml.etree.ElementTree import Element, ParseError

import defusedxml
from defusedxml import ElementTree as DET

from alerts.categories import INTENSITY_RANK, LANDSLIDE, RAIN_FLOOD, SURGE_WAVE, WIND_SNOW

MAX_BYTES = 8 * 1024 * 1024  # the largest JMA telegrams (VPWW54 for a big prefecture) are well under 2 MB

Kind = Literal["weather_warning", "landslide_warning", "record_rain", "earthquake", "tsunami", "unsupported"]
Status = Literal["actual", "exercise", "test"]
InfoType = Literal["issued", "corrected", "cancelled"]

_STATUS = {"通常": "actual", "訓練": "exercise", "試験": "test"}
_INFO_TYPE = {"発表": "issued", "訂正": "corrected", "取消": "cancelled", "遅延": "issued"}

# Control/Title → telegram type, for telegrams read without their feed link (which names the type).
_TITLE_TYPES = {
    "気象特別警報・警報・注意報": "VPWW53",
    "気象警報・注意報（Ｈ２７）": "VPWW54",
    "気象警報・注意報（Ｒ０６）（大雨）": "VPWW55",
    "気象警報・注意報（Ｒ０６）（土砂災害）": "VPWW56",
    "気象警報・注意報（Ｒ０６）（土砂）": "VPWW56",
    "気象警報・注意報（Ｒ０６）（高潮）": "VPWW57",
    "気象警報・注意報（Ｒ０６）（暴風）": "VPWW58",
    "気象警報・注意報（Ｒ０６）（波浪）": "VPWW59",
    "気象警報・注意報（Ｒ０６）（大雪）": "VPWW60",
    "気象警報・注意報（Ｒ０６）（その他注意報）": "VPWW61",
    "土砂災害警戒情報": "VXWW50",
    "記録的短時間大雨情報": "VPOA50",
    "震度速報": "VXSE51",
    "震源に関する情報": "VXSE52",
    "震源・震度に関する情報": "VXSE53",
    "津波警報・注意報・予報a": "VTSE41",
    "津波情報a": "VTSE51",
}
WEATHER_TYPES = {"VPWW53", "VPWW54", "VPWW55", "VPWW56", "VPWW57", "VPWW58", "VPWW59", "VPWW60", "VPWW61"}
_KIND_OF_TYPE: dict[str, Kind] = {
    **{t: "weather_warning" for t in WEATHER_TYPES},
    "VXWW50": "landslide_warning",
    "VPOA50": "record_rain",
    "VXSE51": "earthquake",
    "VXSE52": "earthquake",
    "VXSE53": "earthquake",
    "VTSE41": "tsunami",
    "VTSE51": "tsunami",
}
_TYPE_IN_NAME = re.compile(r"(V[A-Z]{3}\d\d)")

# 津波 Kind codes (警報等情報要素／津波警報・注意報・予報)
TSUNAMI_MAJOR = {"52", "53"}  # 大津波警報
TSUNAMI_WARNING = {"51"}
TSUNAMI_ADVISORY = {"62"}
TSUNAMI_LIFTED = {"50", "60"}  # 警報解除, 注意報解除


class TelegramError(ValueError):
    """The bytes are not a telegram civicbot can read (malformed, too large, not JMX)."""


class HostileXMLError(TelegramError):
    """DTDs, entities or external references: refused before anything is expanded or fetched."""


@dataclass(frozen=True)
class WarningItem:
    name: str  # レベル４大雨危険警報, 大雨特別警報, 土砂災害警戒情報 …
    status: str  # JMA's words: 発表 / 継続 / 解除 / 警報から注意報 / なし …
    level: int  # 5 特別警報, 4 危険警報 (and 土砂災害警戒情報), 3 警報, 2 注意報, 0 none
    category: str | None  # subscription category, None for hazards nobody subscribes to (雷, 濃霧 …)
    code: str = ""
    last_name: str = ""
    last_level: int = 0

    @property
    def is_new_or_upgraded(self) -> bool:
        """JMA marks new warnings and upgrades as 発表; a 継続 with a higher level than before counts too."""
        return self.level > 0 and (self.status == "発表" or self.level > self.last_level) and self.status not in _LIFT_STATUSES

    @property
    def is_lifted(self) -> bool:
        return self.status in _LIFT_STATUSES or (self.status == "継続" and self.level < self.last_level)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "level": self.level}


_LIFT_STATUSES = {"解除", "警報から注意報", "特別警報から警報", "特別警報から注意報"}


@dataclass(frozen=True)
class AreaReport:
    code: str
    name: str
    warnings: tuple[WarningItem, ...] = ()
    intensity: str | None = None  # earthquake: JMA class 1 … 7 ("5-", "6+")
    category: str | None = None  # tsunami: the Kind name (津波警報 …)
    kind_code: str | None = None  # tsunami Kind code
    last_kind_code: str | None = None
    parent: str | None = None  # earthquake city → its 地震情報／細分区域 code

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "name": self.name}
        if self.warnings:
            out["warnings"] = [w.to_json() for w in self.warnings]
        if self.intensity is not None:
            out["intensity"] = self.intensity
        if self.category is not None:
            out["category"] = self.category
        return out


@dataclass(frozen=True)
class Telegram:
    type: str
    kind: Kind
    status: Status
    info_type: InfoType
    event_id: str
    serial: str
    reported_at: dt.datetime
    title: str
    headline: str
    office: str = ""
    areas: tuple[AreaReport, ...] = ()
    hypocenter: str = ""  # earthquake
    magnitude: str = ""  # earthquake, e.g. "6.6"
    max_intensity: str | None = None  # earthquake
    body_text: str = ""  # Body/Text (取消 explanations)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_actual(self) -> bool:
        return self.status == "actual"

    @property
    def key(self) -> str:
        """Identity of this telegram version: same bytes re-fetched → same key; a 訂正 or later serial → new key."""
        ev = self.event_id or self.office
        return f"{self.type}:{ev}:{self.serial}:{self.info_type}:{self.reported_at.isoformat()}"

    def to_json(self, file: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {} if file is None else {"file": file}
        out.update(
            type=self.type, kind=self.kind, status=self.status, info_type=self.info_type, event_id=self.event_id,
            serial=self.serial, reported_at=self.reported_at.isoformat(), title=self.title, headline=self.headline,
            areas=[a.to_json() for a in self.areas],
        )
        return out


# --- parsing --------------------------------------------------------------------------------------------------


def parse_telegram(data: bytes, *, name: str | None = None, max_bytes: int = MAX_BYTES) -> Telegram:
    """Parse one telegram. ``name`` (file name or feed URL) supplies the type code when it contains one."""
    if len(data) > max_bytes:
        raise TelegramError(f"telegram of {len(data)} bytes exceeds the {max_bytes}-byte limit")
    try:
        root = DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (defusedxml.DTDForbidden, defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden) as exc:
        raise HostileXMLError(f"refused hostile XML: {type(exc).__name__}") from exc
    except (ParseError, ValueError) as exc:
        raise TelegramError(f"malformed XML: {exc}") from exc
    _strip_namespaces(root)
    if root.tag != "Report" or root.find("Control") is None or root.find("Head") is None:
        raise TelegramError(f"not a JMA telegram (root element {root.tag!r})")
    control_title = _text(root, "Control/Title")
    ttype = _type_from_name(name) or _TITLE_TYPES.get(control_title, "")
    kind: Kind = _KIND_OF_TYPE.get(ttype, "unsupported")
    status_raw = _text(root, "Control/Status")
    info_raw = _text(root, "Head/InfoType")
    if status_raw not in _STATUS:
        raise TelegramError(f"unknown Control/Status {status_raw!r}")
    if info_raw not in _INFO_TYPE:
        raise TelegramError(f"unknown Head/InfoType {info_raw!r}")
    try:
        reported_at = dt.datetime.fromisoformat(_text(root, "Head/ReportDateTime"))
    except ValueError as exc:
        raise TelegramError("missing or invalid Head/ReportDateTime") from exc
    base: dict[str, Any] = dict(
        type=ttype or control_title,
        kind=kind,
        status=_STATUS[status_raw],
        info_type=_INFO_TYPE[info_raw],
        event_id=_text(root, "Head/EventID"),
        serial=_text(root, "Head/Serial"),
        reported_at=reported_at,
        title=_text(root, "Head/Title"),
        headline=_text(root, "Head/Headline/Text").strip(),
        office=_text(root, "Control/PublishingOffice"),
        body_text=_text(root, "Body/Text").strip(),
    )
    body = root.find("Body")
    if body is None or base["info_type"] == "cancelled" or kind == "unsupported":
        return Telegram(**base)
    if kind == "weather_warning":
        return Telegram(**base, areas=_weather_areas(body))
    if kind == "landslide_warning":
        return Telegram(**base, areas=_landslide_areas(body))
    if kind == "record_rain":
        return Telegram(**base, areas=_record_rain_areas(body))
    if kind == "earthquake":
        return _earthquake(base, body)
    return Telegram(**base, areas=_tsunami_areas(body))


def parse_file(path: str | Path) -> Telegram:
    p = Path(path)
    return parse_telegram(p.read_bytes(), name=p.name)


def warning_level(name: str) -> int:
    n = unicodedata.normalize("NFKC", name)
    m = re.match(r"レベル(\d)", n)
    if m:
        return int(m.group(1))
    if "特別警報" in n:
        return 5
    if "警報" in n:
        return 3
    if "注意報" in n:
        return 2
    return 0


def warning_category(name: str) -> str | None:
    if "土砂" in name:
        return LANDSLIDE
    if "大雨" in name or "洪水" in name:
        return RAIN_FLOOD
    if "高潮" in name or "波浪" in name:
        return SURGE_WAVE
    if any(w in name for w in ("暴風", "大雪", "強風", "風雪")):
        return WIND_SNOW
    return None


def _weather_areas(body: Element) -> tuple[AreaReport, ...]:
    out = []
    for warning in body.findall("Warning"):
        if warning.get("type") != "気象警報・注意報（市町村等）":
            continue
        for item in warning.findall("Item"):
            items = []
            for k in item.findall("Kind"):
                name = _text(k, "Name")
                if not name or name == "なし" or _text(k, "Status") in ("なし", "発表警報・注意報はなし"):
                    continue
                last = _text(k, "LastKind/Name")
                level = warning_level(name) if name != "解除" else 0
                items.append(
                    WarningItem(
                        name=name, status=_text(k, "Status"), level=level,
                        category=warning_category(name) or warning_category(last), code=_text(k, "Code"),
                        last_name=last, last_level=warning_level(last) if last else 0,
                    )
                )
            out.append(AreaReport(code=_text(item, "Area/Code"), name=_text(item, "Area/Name"), warnings=tuple(items)))
    return tuple(out)


def _landslide_areas(body: Element) -> tuple[AreaReport, ...]:
    out = []
    for item in body.findall("Warning/Item"):
        status = _text(item, "Kind/Status")
        if status in ("", "なし"):
            continue
        last_level = 4 if status in ("継続", "解除") else 0
        w = WarningItem(
            name="土砂災害警戒情報", status=status, level=4 if status in ("発表", "継続") else 0,
            category=LANDSLIDE, code=_text(item, "Kind/Code"), last_name="土砂災害警戒情報" if last_level else "",
            last_level=last_level,
        )
        out.append(AreaReport(code=_text(item, "Area/Code"), name=_text(item, "Area/Name"), warnings=(w,)))
    return tuple(out)


def _record_rain_areas(body: Element) -> tuple[AreaReport, ...]:
    out = []
    for item in body.findall("Warning/Item"):
        if _text(item, "Kind/Status") != "発表":
            continue
        w = WarningItem(name=_text(item, "Kind/Name"), status="発表", level=0, category=RAIN_FLOOD, code=_text(item, "Kind/Code"))
        out.append(AreaReport(code=_text(item, "Area/Code"), name=_text(item, "Area/Name"), warnings=(w,)))
    return tuple(out)


def _earthquake(base: dict[str, Any], body: Element) -> Telegram:
    hypo = _text(body, "Earthquake/Hypocenter/Area/Name")
    mag = _text(body, "Earthquake/Magnitude")
    obs = body.find("Intensity/Observation")
    areas: list[AreaReport] = []
    max_int = None
    if obs is not None:
        max_int = _text(obs, "MaxInt") or None
        for pref in obs.findall("Pref"):
            for area in pref.findall("Area"):
                cities = area.findall("City")
                if not cities:
                    areas.append(AreaReport(code=_text(area, "Code"), name=_text(area, "Name"), intensity=_text(area, "MaxInt") or None))
                for city in cities:
                    areas.append(
                        AreaReport(
                            code=_text(city, "Code"), name=_text(city, "Name"),
                            intensity=_text(city, "MaxInt") or None, parent=_text(area, "Code"),
                        )
                    )
    return Telegram(**base, areas=tuple(areas), hypocenter=hypo, magnitude=mag, max_intensity=max_int)


def _tsunami_areas(body: Element) -> tuple[AreaReport, ...]:
    out = []
    for item in body.findall("Tsunami/Forecast/Item"):
        out.append(
            AreaReport(
                code=_text(item, "Area/Code"), name=_text(item, "Area/Name"),
                category=_text(item, "Category/Kind/Name"), kind_code=_text(item, "Category/Kind/Code"),
                last_kind_code=_text(item, "Category/LastKind/Code") or None,
            )
        )
    return tuple(out)


def intensity_rank(intensity: str | None) -> int:
    return INTENSITY_RANK.get((intensity or "").strip(), 0)


def tsunami_level(kind_code: str | None) -> int:
    """3 大津波警報, 2 津波警報, 1 津波注意報, 0 予報/解除/なし."""
    if kind_code in TSUNAMI_MAJOR:
        return 3
    if kind_code in TSUNAMI_WARNING:
        return 2
    if kind_code in TSUNAMI_ADVISORY:
        return 1
    return 0


# --- helpers --------------------------------------------------------------------------------------------------


def _strip_namespaces(root: Element) -> None:
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]


def _text(el: Element, path: str) -> str:
    found = el.find(path)
    return (found.text or "").strip() if found is not None else ""


def _type_from_name(name: str | None) -> str:
    if not name:
        return ""
    m = _TYPE_IN_NAME.findall(Path(name).name)
    return m[-1] if m else ""


__all__ = [
    "AreaReport", "HostileXMLError", "Telegram", "TelegramError", "WarningItem", "intensity_rank",
    "parse_file", "parse_telegram", "tsunami_level", "warning_category", "warning_level",
]
