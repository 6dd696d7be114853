"""The crisis layer's first reply, in the resident's language, from one hotline table and one message catalogue.

- crisis: warm words (+ "call 110/119 first" when immediate), then the lines for the category — lines that serve the
  resident's language first, Japanese-only lines marked as such — and the offer of a counsellor in this chat.
- concern: one short check-in that names two lines and offers a person (or "I'm OK").

Data: ``nlu/hotlines.yaml`` (every line with its official source and review date) and ``nlu/crisis_texts.yaml``.
Tenants put local lines first (``hotlines:`` in the tenants file; they replace a default with the same number).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot import chat

NLU_DIR = Path(__file__).resolve().parent
HOTLINES_PATH = NLU_DIR / "hotlines.yaml"
TEXTS_PATH = NLU_DIR / "crisis_texts.yaml"
LANGUAGES: tuple[str, ...] = ("ja", "ja-easy", "en", "zh-Hans", "ko", "vi", "tl", "pt", "ne", "id")
_OPENING_KEY = {
    "suicide": "suicide", "self_harm": "self_harm", "dv": "violence", "stalking": "violence",
    "sexual_violence": "violence", "child_abuse": "protect", "elder_abuse": "protect", "danger": "danger",
}
CATEGORIES = tuple(_OPENING_KEY)


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


def _pick(texts: dict[str, str], language: str) -> str:
    for lang in (language, "ja" if language == "ja-easy" else "en", "en", "ja"):
        if texts.get(lang):
            return texts[lang]
    return ""


def load_hotlines(path: Path = HOTLINES_PATH) -> list[Hotline]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Hotline(id=h["id"], number=str(h.get("number", "")), categories=tuple(h["categories"]),
                languages=tuple(h["languages"]), names=h["name"], hours=h.get("hours", {}),
                dial_note=h.get("dial_note", {}), source=h["source"])
        for h in raw["lines"]
    ]


def _tenant_line(entry: dict[str, Any]) -> Hotline:
    """A tenants-file line ({category, name, number, hours, name_en?, hours_en?, languages?})."""
    return Hotline(
        id=f"tenant:{entry.get('number') or entry.get('name')}", number=str(entry.get("number", "")),
        categories=(str(entry.get("category", "all")),), languages=tuple(entry.get("languages", ["ja"])),
        names={"ja": entry.get("name", ""), **({"en": entry["name_en"]} if entry.get("name_en") else {})},
        hours={"ja": entry.get("hours", ""), **({"en": entry["hours_en"]} if entry.get("hours_en") else {})},
        dial_note={}, source="tenant",
    )


class CrisisReplies:
    def __init__(self, hotlines: list[Hotline] | None = None, texts_path: Path = TEXTS_PATH) -> None:
        self.hotlines = hotlines if hotlines is not None else load_hotlines()
        self.texts: dict[str, Any] = yaml.safe_load(texts_path.read_text(encoding="utf-8"))

    def text(self, key: str, language: str, sub: str | None = None) -> str:
        node = self.texts[key] if sub is None else self.texts[key][sub]
        return _pick(node, language)

    def lines_for(self, category: str, language: str, tenant_hotlines: list[dict] | None = None,
                  limit: int = 6) -> list[Hotline]:
        """Tenant lines first, then lines speaking the resident's language, then the Japanese ones."""
        own = [_tenant_line(h) for h in (tenant_hotlines or []) if h.get("category") in (category, "all")]
        taken = {h.number for h in own if h.number} | {h.names.get("ja") for h in own}
        default = [h for h in self.hotlines if h.serves(category) and not (h.number and h.number in taken)
                   and h.names.get("ja") not in taken]
        speaking = [h for h in default if h.speaks(language)]
        rest = [h for h in default if not h.speaks(language)]
        if language not in ("ja", "ja-easy"):  # a Japanese-only line is still worth naming, after the others
            rest = [h for h in rest if h.id != "yorisoi" or not any(x.id == "yorisoi_foreign" for x in speaking)]
        return (own + speaking + rest)[:limit]

    def format_line(self, line: Hotline, language: str) -> str:
        name = _pick(line.names, language)
        parts = [f"・{name}"]
        if line.number:
            parts.append(line.number)
        note = _pick(line.dial_note, language) if line.dial_note else ""
        hours = _pick(line.hours, language)
        extra = "、".join(x for x in (note, hours) if x) if language in ("ja", "ja-easy") else ", ".join(
            x for x in (note, hours) if x)
        text = " ".join(parts) + ((f"（{extra}）" if language in ("ja", "ja-easy") else f" ({extra})") if extra else "")
        if not line.speaks(language) and language not in ("ja", "ja-easy"):
            text += " " + self.text("japanese_only", language)
        return text

    def talk_button(self, language: str) -> dict:
        return chat.qr_postback(self.text("talk_label", language), chat.postback_data("crisis", "talk", lang=language),
                                display_text=self.text("talk_text", language))

    def crisis(self, category: str, severity: str, language: str, tenant_hotlines: list[dict] | None = None
               ) -> list[dict]:
        if category not in _OPENING_KEY:
            raise ValueError(f"unknown crisis category {category!r}")
        lang = language if language in LANGUAGES else "en"
        first = self.text("opening", lang, _OPENING_KEY[category])
        if severity == "immediate":
            first = self.text("immediate", lang) + "\n" + first
        lines = [self.text("list_head", lang)]
        lines += [self.format_line(h, lang) for h in self.lines_for(category, lang, tenant_hotlines)]
        lines.append(self.text("handoff", lang))
        return [chat.text(first), chat.text("\n".join(lines), quick_replies=[self.talk_button(lang)])]

    def concern(self, category: str, language: str, tenant_hotlines: list[dict] | None = None) -> list[dict]:
        lang = language if language in LANGUAGES else "en"
        lines = [h for h in self.lines_for(category, lang, tenant_hotlines) if h.number not in ("110", "119")][:2]
        body = "\n".join([self.text("concern", lang), *(self.format_line(h, lang) for h in lines)])
        fine = chat.qr_postback(self.text("fine_label", lang), chat.postback_data("crisis", "fine", lang=lang),
                                display_text=self.text("fine_label", lang))
        return [chat.text(body, quick_replies=[self.talk_button(lang), fine])]

    def queued(self, language: str) -> list[dict]:
        return [chat.text(self.text("queued", language if language in LANGUAGES else "en"))]

    def fine(self, language: str) -> list[dict]:
        return [chat.text(self.text("fine_reply", language if language in LANGUAGES else "en"))]
