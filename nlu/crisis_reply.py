"""The crisis layer's first reply, in the resident's language, from one hotline table and one message catalogue.

- crisis: warm words (+ "call 110/119 first" when immediate), then the lines for the category — lines that serve the
  resident's language first, Japanese-only lines marked as such — and the offer of a counsellor in this chat.
- concern: one short check-in that names two lines and offers a person (or "I'm OK").

Data: the core's one hotline table ``bot/hotlines.yaml`` (every line with its official source and review date; loaded
and formatted by ``bot.hotlines``) and ``nlu/crisis_texts.yaml``.
Tenants put local lines first (``hotlines:`` in the tenants file; they replace a default with the same number).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot import chat
from bot.hotlines import HOTLINES_PATH as HOTLINES_PATH
from bot.hotlines import Hotline, arrange, format_line, load_hotlines, tenant_line
from bot.i18n import pick

NLU_DIR = Path(__file__).resolve().parent
TEXTS_PATH = NLU_DIR / "crisis_texts.yaml"
LANGUAGES: tuple[str, ...] = ("ja", "ja-easy", "en", "zh-Hans", "ko", "vi", "tl", "pt", "ne", "id")
_OPENING_KEY = {
    "suicide": "suicide", "self_harm": "self_harm", "dv": "violence", "stalking": "violence",
    "sexual_violence": "violence", "child_abuse": "protect", "elder_abuse": "protect", "danger": "danger",
}
CATEGORIES = tuple(_OPENING_KEY)


class CrisisReplies:
    def __init__(self, hotlines: list[Hotline] | None = None, texts_path: Path = TEXTS_PATH) -> None:
        self.hotlines = hotlines if hotlines is not None else load_hotlines()
        self.texts: dict[str, Any] = yaml.safe_load(texts_path.read_text(encoding="utf-8"))

    def text(self, key: str, language: str, sub: str | None = None) -> str:
        node = self.texts[key] if sub is None else self.texts[key][sub]
        return pick(node, language)

    def lines_for(self, category: str, language: str, tenant_hotlines: list[dict] | None = None,
                  limit: int = 6) -> list[Hotline]:
        """Tenant lines first, then lines speaking the resident's language, then the Japanese ones."""
        own = [tenant_line(h) for h in (tenant_hotlines or []) if h.get("category") in (category, "all")]
        return arrange(own, [h for h in self.hotlines if h.serves(category)], language)[:limit]

    def format_line(self, line: Hotline, language: str) -> str:
        return format_line(line, language, self.text("japanese_only", language), self.text("english_only", language))

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
