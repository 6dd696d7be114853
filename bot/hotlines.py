"""The one hotline table (``bot/hotlines.yaml``) and its formatting, shared by every room that names a hotline.

The crisis layer (``nlu.crisis_reply``) picks lines by crisis category; the handoff room gives the ``waiting`` lines to a
resident waiting for a counsellor. Tenants put local lines first (``hotlines:`` in the tenants file; they replace a
default line with the same number). Names and hours fall back along ``bot.i18n.pick`` (the language, ja-easy → ja,
en, ja).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot.i18n import pick

HOTLINES_PATH = Path(__file__).with_name("hotlines.yaml")
JAPANESE = ("ja", "ja-easy")


@dataclass(frozen=True)
class Hotline:
    id: str
    number: str
    categories: tuple[str, ...]
    languages: tuple[str, ...]
    names: dict[str, str]
    hours: dict[str, str]
    dial_note: dict[str, str]
    source: str

    def serves(self, category: str) -> bool:
        return "all" in self.categories or category in self.categories

    def speaks(self, language: str) -> bool:
        return (language if language != "ja-easy" else "ja") in self.languages


@dataclass(frozen=True)
class HotlineTable:
    lines: tuple[Hotline, ...]
    waiting: tuple[str, ...]  # ids of the 24-hour lines for residents waiting for a counsellor


def _line(h: Mapping[str, Any]) -> Hotline:
    return Hotline(
        id=h["id"],
        number=str(h.get("number", "")),
        categories=tuple(h["categories"]),
        languages=tuple(h["languages"]),
        names=h["name"],
        hours=h.get("hours", {}),
        dial_note=h.get("dial_note", {}),
        source=h["source"],
    )


def load_table(path: Path = HOTLINES_PATH) -> HotlineTable:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    lines = tuple(_line(h) for h in raw["lines"])
    known = {h.id for h in lines}
    waiting = tuple(raw.get("waiting", ()))
    if unknown := set(waiting) - known:
        raise ValueError(f"{path}: waiting names unknown lines {sorted(unknown)}")
    return HotlineTable(lines, waiting)


def load_hotlines(path: Path = HOTLINES_PATH) -> list[Hotline]:
    return list(load_table(path).lines)


@cache
def default_table() -> HotlineTable:
    """The product's table (read once per process)."""
    return load_table()


def tenant_line(entry: Mapping[str, Any]) -> Hotline:
    """A tenants-file line ({category, name, number, hours, name_en?, hours_en?, languages?})."""
    number = str(entry.get("number") or entry.get("tel") or "")
    return Hotline(
        id=f"tenant:{number or entry.get('name')}",
        number=number,
        categories=(str(entry.get("category", "all")),),
        languages=tuple(entry.get("languages", ["ja"])),
        names={"ja": entry.get("name", ""), **({"en": entry["name_en"]} if entry.get("name_en") else {})},
        hours={"ja": entry.get("hours", ""), **({"en": entry["hours_en"]} if entry.get("hours_en") else {})},
        dial_note={},
        source="tenant",
    )


def arrange(own: list[Hotline], default: list[Hotline], language: str) -> list[Hotline]:
    """Tenant lines first (replacing defaults with the same number or name), then lines speaking the resident's
    language, then the others (for a resident who is not Japanese, the Japanese-only Yorisoi line is left out when
    its foreign-language line is there)."""
    taken = {h.number for h in own if h.number} | {h.names.get("ja") for h in own}
    rest = [h for h in default if not (h.number and h.number in taken) and h.names.get("ja") not in taken]
    speaking = [h for h in rest if h.speaks(language)]
    others = [h for h in rest if not h.speaks(language)]
    if language not in JAPANESE:  # a Japanese-only line is still worth naming, after the others
        others = [h for h in others if h.id != "yorisoi" or not any(x.id == "yorisoi_foreign" for x in speaking)]
    return own + speaking + others


def format_line(line: Hotline, language: str, japanese_only: str = "", english_only: str = "") -> str:
    """「・name number（note、hours）」. A line that does not speak the resident's language is marked with the language
    it does speak: ``japanese_only`` (e.g. "(Japanese)") or, for an English-only line, ``english_only``."""
    parts = [f"・{pick(line.names, language)}"]
    if line.number:
        parts.append(line.number)
    note = pick(line.dial_note, language) if line.dial_note else ""
    hours = pick(line.hours, language) if line.hours else ""
    japanese = language in JAPANESE
    extra = ("、" if japanese else ", ").join(x for x in (note, hours) if x)
    text = " ".join(parts) + ((f"（{extra}）" if japanese else f" ({extra})") if extra else "")
    if not line.speaks(language) and not japanese:
        marker = japanese_only if "ja" in line.languages else english_only if "en" in line.languages else ""
        text += (" " + marker) if marker else ""
    return text
