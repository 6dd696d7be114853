"""Crisis patterns in the languages of Osaka's foreign residents (en, zh-Hans, ko, vi, tl, pt, ne, id).

The Japanese lexicon (``nlu/crisis.py``) works on Sudachi-normalized, kana-folded views; other languages need their
own views: case-folded Latin with and without diacritics (Vietnamese residents often type without an IME) and a
space-free view for Chinese and Korean. Rules live in ``nlu/crisis_lexicon_intl.yaml``; each names the language it is
written in, which is also the reply language when the language detector is unsure.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

INTL_LEXICON_PATH = Path(__file__).resolve().parent / "crisis_lexicon_intl.yaml"
_SPACES = re.compile(r"\s+")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})


@dataclass(frozen=True)
class IntlHit:
    category: str
    severity: str  # immediate | high | concern
    rule_id: str
    language: str


def bare_view(text: str) -> str:
    """Diacritics removed (tôi muốn chết → toi muon chet; đ → d)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def latin_view(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)).strip()


def intl_views(text: str) -> tuple[str, ...]:
    latin = latin_view(text)
    bare = bare_view(latin)
    tight = latin.replace(" ", "")
    return tuple(dict.fromkeys((latin, bare, tight)))


@dataclass(frozen=True)
class _IntlRule:
    id: str
    language: str
    category: str
    severity: str
    patterns: tuple[re.Pattern[str], ...]


class IntlCrisisLexicon:
    """Compiled rules; ``assess`` returns the most severe hit (immediate > high > concern), file order otherwise."""

    _RANK = {"immediate": 0, "high": 1, "concern": 2}

    def __init__(self, path: Path = INTL_LEXICON_PATH, categories: tuple[str, ...] | None = None) -> None:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        rules = []
        for r in raw["rules"]:
            if r["severity"] not in self._RANK or (categories is not None and r["category"] not in categories):
                raise ValueError(f"intl crisis rule {r['id']}: bad category or severity")
            patterns = tuple(re.compile(unicodedata.normalize("NFKC", p).casefold()) for p in r["any"])
            rules.append(_IntlRule(r["id"], r["language"], r["category"], r["severity"], patterns))
        self._rules = tuple(sorted(rules, key=lambda r: self._RANK[r.severity]))

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(r.language for r in self._rules)

    def assess(self, text: str) -> IntlHit | None:
        views = intl_views(text)
        for rule in self._rules:
            if any(p.search(v) for p in rule.patterns for v in views):
                return IntlHit(rule.category, rule.severity, rule.id, rule.language)
        return None
