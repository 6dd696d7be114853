"""The crisis layer: deterministic, in-process, independent of Rasa; runs on every message before anything else.

Why deterministic: a statistical classifier can be down, slow or confidently wrong; missing a resident in danger is
the one error this bot must not make. So the layer normalizes the text (NFKC, width and kana folding, Sudachi
normalized forms, spaces and emoji removed) and matches a curated, reviewed lexicon (nlu/crisis_lexicon.yaml),
after deleting everyday figurative uses (死ぬほど笑った, 課題が多すぎて死ぬ). The result names a category, a severity
and the rule id — never the message text, so it can be logged.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml

from nlu.crisis_variants import slang_fold
from nlu.normalize import JapaneseAnalyzer, default_analyzer
from nlu.rasa_components.textfold import fold, kata_to_hira, strip_noise

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
        norm = kata_to_hira(strip_noise("".join(normalized)))  # patterns are hiragana (compile_ folds them)
        extra: tuple[str, ...] = ()
        if plain != text:  # katakana, half-width or spaced-out text: analyse its folded spelling too
            extra = (kata_to_hira(strip_noise("".join(m.normalized for m in self._analyzer.morphemes(plain)))),)
        views = []
        for view in dict.fromkeys((surface, plain, slang, norm, *extra)):
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
