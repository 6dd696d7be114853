"""The crisis layer: deterministic, in-process, independent of Rasa; runs on every message before anything else.

Why deterministic: a statistical classifier can be down, slow or confidently wrong; missing a resident in danger is
the one error this bot must not make. So the layer normalizes the text (NFKC, width and kana folding, Sudachi
normalized forms, spaces and emoji removed) and matches a curated, reviewed lexicon (nlu/crisis_lexicon.yaml),
after deleting everyday figurative uses (死ぬほど笑った, 課題が多すぎて死ぬ). The result names a category, a severity
and the rule id — never the message text, so it can be logged.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml

from bot import chat
from nlu.crisis_variants import slang_fold
from nlu.normalize import JapaneseAnalyzer, default_analyzer
from nlu.rasa_components.textfold import fold, kata_to_hira, strip_noise

log = logging.getLogger(__name__)
LEXICON_PATH = Path(__file__).resolve().parent / "crisis_lexicon.yaml"

Category = Literal["suicide", "self_harm", "dv", "child_abuse", "elder_abuse", "sexual_violence", "stalking", "danger"]
Severity = Literal["immediate", "high", "concern"]  # concern: a possible risk → a check-in, not the crisis protocol
CATEGORIES: tuple[Category, ...] = (
    "suicide", "self_harm", "dv", "child_abuse", "elder_abuse", "sexual_violence", "stalking", "danger",
)
_SEVERITY_RANK = {"immediate": 0, "high": 1, "concern": 2}
_SMALL_VOWELS = str.maketrans("ぁぃぅぇぉ", "あいうえお")
_MACRO = re.compile(r"<<([A-Z_]+)>>")


@dataclass(frozen=True)
class CrisisAssessment:
    category: Category
    severity: Severity
    rule_id: str  # stable id from the lexicon: safe to log, unlike the message


@dataclass(frozen=True)
class _Rule:
    id: str
    category: Category
    severity: Severity
    any: tuple[re.Pattern[str], ...]
    all: tuple[re.Pattern[str], ...]  # every group must match (a group is one alternation)


class CrisisDetector:
    """Compiled lexicon + analyzer. ``assess`` is a pure function of the text."""

    def __init__(self, lexicon_path: Path = LEXICON_PATH, analyzer: JapaneseAnalyzer | None = None) -> None:
        raw = yaml.safe_load(Path(lexicon_path).read_text(encoding="utf-8"))
        macros: dict[str, str] = raw.get("macros", {})

        def compile_(pattern: str) -> re.Pattern[str]:
            expanded = _MACRO.sub(lambda m: macros[m.group(1)], pattern)
            # views are folded to hiragana, so fold the pattern's katakana too (リスカ → りすか)
            return re.compile(kata_to_hira(unicodedata.normalize("NFKC", expanded)))

        self._figurative = tuple(compile_(f["pattern"]) for f in raw.get("figurative", []))
        rules = []
        for r in raw["rules"]:
            if r["category"] not in CATEGORIES or r["severity"] not in _SEVERITY_RANK:
                raise ValueError(f"crisis rule {r['id']}: bad category or severity")
            groups = tuple(compile_("|".join(f"(?:{p})" for p in group)) for group in r.get("all", []))
            rules.append(_Rule(r["id"], r["category"], r["severity"], tuple(compile_(p) for p in r.get("any", [])),
                               groups))
        # immediate rules first, then high, then concern; file order otherwise
        self._rules = tuple(sorted(rules, key=lambda r: _SEVERITY_RANK[r.severity]))
        self._analyzer = analyzer or default_analyzer()

    def views(self, text: str, normalized: Sequence[str] | None = None) -> list[str]:
        """The normalized forms of the message that the patterns run on (after figurative deletion).

        ``normalized``: Sudachi normalized forms when the caller already analysed the text (nlu/risk.py does).
        """
        surface = strip_noise(fold(text)).translate(_SMALL_VOWELS)
        plain = surface.replace("ー", "")
        slang = slang_fold(surface)
        if normalized is None:
            normalized = [m.normalized for m in self._analyzer.morphemes(text)]
        norm = strip_noise("".join(normalized))
        views = []
        for view in dict.fromkeys((surface, plain, slang, norm)):
            for fig in self._figurative:
                view = fig.sub("・", view)
            views.append(view)
        return views

    def assess(self, text: str, normalized: Sequence[str] | None = None) -> CrisisAssessment | None:
        if not text or not text.strip():
            return None
        views = self.views(text, normalized)
        for rule in self._rules:
            if any(p.search(v) for p in rule.any for v in views) or (
                rule.all and all(any(g.search(v) for v in views) for g in rule.all)
            ):
                return CrisisAssessment(rule.category, rule.severity, rule.id)
        return None


@lru_cache(maxsize=1)
def default_detector() -> CrisisDetector:
    return CrisisDetector()


def assess(text: str) -> CrisisAssessment | None:
    """Crisis check with the default lexicon: None, or the category/severity/rule that matched."""
    return default_detector().assess(text)


# --------------------------------------------------------------------------------------------- hotline replies

# Defaults from the issue (national lines). Tenants override or extend per category in their config
# (Tenant.hotlines: [{"category": "dv", "name": ..., "number": ..., "hours": ...}]; "category": "all" = every one).
DEFAULT_HOTLINES: dict[str, list[dict[str, str]]] = {
    "suicide": [
        {"name": "よりそいホットライン", "name_en": "Yorisoi Hotline", "number": "0120-279-338",
         "hours": "24時間", "hours_en": "24 hours"},
        {"name": "いのちの電話", "name_en": "Inochi no Denwa (Lifeline)", "number": "0570-783-556",
         "hours": "毎日10時〜22時", "hours_en": "daily 10:00-22:00"},
        {"name": "こころの健康相談統一ダイヤル", "name_en": "Mental health counselling line", "number": "0570-064-556",
         "hours": "平日の日中・時間は地域によります", "hours_en": "weekday daytime (varies by area)"},
    ],
    "dv": [
        {"name": "DV相談＋（プラス）", "name_en": "DV Soudan Plus", "number": "0120-279-889",
         "hours": "24時間", "hours_en": "24 hours"},
        {"name": "DV相談ナビ", "name_en": "DV Soudan Navi", "number": "#8008",
         "hours": "お近くの相談窓口につながります・受付時間は窓口によります",
         "hours_en": "connects to your nearest centre (hours vary)"},
        {"name": "警察（緊急のとき）", "name_en": "Police (emergency)", "number": "110",
         "hours": "24時間", "hours_en": "24 hours"},
    ],
    "child_abuse": [
        {"name": "児童相談所 虐待対応ダイヤル", "name_en": "Child guidance centre (abuse line)", "number": "189",
         "hours": "24時間・通話料無料", "hours_en": "24 hours, free"},
        {"name": "チャイルドライン（18歳まで）", "name_en": "Childline (up to 18)", "number": "0120-99-7777",
         "hours": "毎日16時〜21時", "hours_en": "daily 16:00-21:00"},
        {"name": "警察（緊急のとき）", "name_en": "Police (emergency)", "number": "110",
         "hours": "24時間", "hours_en": "24 hours"},
    ],
    "sexual_violence": [
        {"name": "性犯罪・性暴力被害者のためのワンストップ支援センター", "name_en": "Sexual violence one-stop centre",
         "number": "#8891", "hours": "お近くのセンターにつながります", "hours_en": "connects to your nearest centre"},
        {"name": "よりそいホットライン", "name_en": "Yorisoi Hotline", "number": "0120-279-338",
         "hours": "24時間", "hours_en": "24 hours"},
        {"name": "警察（緊急のとき）", "name_en": "Police (emergency)", "number": "110",
         "hours": "24時間", "hours_en": "24 hours"},
    ],
    "danger": [
        {"name": "警察", "name_en": "Police", "number": "110", "hours": "24時間", "hours_en": "24 hours"},
        {"name": "救急・消防", "name_en": "Ambulance / fire", "number": "119", "hours": "24時間", "hours_en": "24 hours"},
        {"name": "よりそいホットライン", "name_en": "Yorisoi Hotline", "number": "0120-279-338",
         "hours": "24時間", "hours_en": "24 hours"},
    ],
}

_OPENING = {
    "ja": {
        "suicide": "話してくれてありがとうございます。とてもつらい気持ちなのですね。ひとりで抱えなくて大丈夫です。",
        "dv": "話してくれてありがとうございます。あなたは悪くありません。安全がいちばん大切です。",
        "child_abuse": "知らせてくれてありがとうございます。子どもの安全がいちばん大切です。",
        "sexual_violence": "話してくれてありがとうございます。あなたは悪くありません。",
        "danger": "あなたの安全がいちばん大切です。",
    },
    "en": {
        "suicide": "Thank you for telling us. It sounds really hard. You don't have to carry this alone.",
        "dv": "Thank you for telling us. It is not your fault. Your safety comes first.",
        "child_abuse": "Thank you for letting us know. The child's safety comes first.",
        "sexual_violence": "Thank you for telling us. It is not your fault.",
        "danger": "Your safety comes first.",
    },
}
_IMMEDIATE = {
    "ja": "今すぐ危険なときは、110番（警察）か119番（救急）に電話してください。",
    "en": "If you are in danger right now, call 110 (police) or 119 (ambulance) first.",
}
_LIST_HEAD = {"ja": "相談できる窓口です。", "en": "You can talk to:"}
_HANDOFF = {
    "ja": "このトークでも相談員におつなぎできます。",
    "en": "You can also talk with a counsellor in this chat.",
}
_QR = {
    "ja": ("相談員と話したい", "人と話したい"),
    "en": ("Talk to a counsellor", "talk to a person"),
}


def _lang(language: str) -> str:
    return "ja" if language in ("ja", "ja-easy") else "en"


def hotlines_for(category: str, tenant_hotlines: list[dict] | None = None) -> list[dict[str, str]]:
    """Tenant lines for the category (or "all") first; they replace a default with the same number or name."""
    own = [h for h in (tenant_hotlines or []) if h.get("category") in (category, "all") and h.get("number")]
    taken = {h.get("number") for h in own} | {h.get("name") for h in own}
    return own + [h for h in DEFAULT_HOTLINES[category] if h["number"] not in taken and h["name"] not in taken]


def hotline_messages(
    category: str, severity: str, tenant_hotlines: list[dict] | None = None, language: str = "ja"
) -> list[dict]:
    """The first reply on a crisis hit: warm words (+ call 110/119 first when immediate), then the hotlines."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown crisis category {category!r}")
    lang = _lang(language)
    first = _OPENING[lang][category]
    if severity == "immediate":
        first = _IMMEDIATE[lang] + "\n" + first
    lines = [_LIST_HEAD[lang]]
    for h in hotlines_for(category, tenant_hotlines):
        name = h.get("name_en", h["name"]) if lang == "en" else h["name"]
        hours = h.get("hours_en", h.get("hours", "")) if lang == "en" else h.get("hours", "")
        lines.append(f"・{name} {h['number']}" + (f"（{hours}）" if hours and lang == "ja" else f" ({hours})" if hours else ""))
    lines.append(_HANDOFF[lang])
    label, text_ = _QR[lang]
    return [chat.text(first), chat.text("\n".join(lines), quick_replies=[chat.qr_message(label, text_)])]


def crisis_reply(incoming: chat.Incoming, detector: CrisisDetector | None = None
                 ) -> tuple[CrisisAssessment, list[dict]] | None:
    """For the router's crisis middleware: assess a text event and build the first reply (same reply token).

    Logs category, severity, rule and ids — the message body only when the tenant set ``log_message_bodies``.
    The caller still creates the high-priority handoff request for the counsellor queue.
    """
    if incoming.kind != "text" or not incoming.text:
        return None
    result = (detector or default_detector()).assess(incoming.text)
    if result is None:
        return None
    fields = {"tenant": incoming.tenant.id, "user": incoming.user_id, "event": incoming.webhook_event_id,
              "category": result.category, "severity": result.severity, "rule": result.rule_id}
    if incoming.tenant.log_message_bodies:
        fields["text"] = incoming.text
    log.warning("crisis detected", extra={"crisis": fields})
    return result, hotline_messages(result.category, result.severity, incoming.tenant.hotlines, incoming.language)
