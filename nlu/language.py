"""Which language a resident wrote in: script first, then lingua for Latin-script text.

Why both: kana, Hangul and Devanagari settle the question on sight (and cost nothing); Latin-script messages (en, vi,
tl, pt, id) need a statistical detector. lingua-language-detector ships its models inside its wheel (no downloads at
run time) and is accurate on short text. Nepali is not among lingua's languages: Devanagari text is taken as Nepali
(Osaka's Devanagari-writing residents are mostly Nepali speakers); romanized Nepali is recognised by the crisis
lexicon's Nepali patterns instead (see ``nlu/crisis_lexicon_intl.yaml``).

Codes are the tenants file's: ja, ja-easy (never detected from text — it is a resident's choice), en, zh-Hans, ko,
vi, tl, pt, ne, id. ``detect`` answers None when it is not sure; callers then keep the resident's own setting.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

DETECTABLE = ("ja", "en", "zh-Hans", "ko", "vi", "tl", "pt", "ne", "id")
_LINGUA = {
    Language.ENGLISH: "en",
    Language.VIETNAMESE: "vi",
    Language.TAGALOG: "tl",
    Language.PORTUGUESE: "pt",
    Language.INDONESIAN: "id",
}
MIN_CONFIDENCE = 0.35  # lingua's best guess must reach this and be twice the runner-up (short Latin text is hard)


@dataclass(frozen=True)
class DetectedLanguage:
    code: str
    confidence: float


def _script_counts(text: str) -> dict[str, int]:
    counts = {"kana": 0, "han": 0, "hangul": 0, "deva": 0, "latin": 0}
    for ch in text:
        o = ord(ch)
        if 0x3040 <= o <= 0x30FF or 0xFF66 <= o <= 0xFF9F:
            counts["kana"] += 1
        elif 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF:
            counts["han"] += 1
        elif 0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F:
            counts["hangul"] += 1
        elif 0x0900 <= o <= 0x097F:
            counts["deva"] += 1
        elif ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN"):
            counts["latin"] += 1
    return counts


class LanguageDetectorPort:
    """Script rules + lingua restricted to the Latin-script languages we serve (fast, and no false Japanese)."""

    def __init__(self, detector: LanguageDetector | None = None) -> None:
        self._lingua = detector or LanguageDetectorBuilder.from_languages(*_LINGUA).build()

    def detect(self, text: str) -> DetectedLanguage | None:
        counts = _script_counts(unicodedata.normalize("NFKC", text))
        total = sum(counts.values())
        if total == 0:
            return None
        if counts["kana"]:
            return DetectedLanguage("ja", 1.0)
        if counts["hangul"] >= max(1, total // 3):
            return DetectedLanguage("ko", 1.0)
        if counts["deva"] >= max(1, total // 3):
            return DetectedLanguage("ne", 1.0)
        if counts["han"] and counts["han"] >= counts["latin"]:
            # Han without kana: Chinese, unless it is a very short Japanese kanji-only text (駐輪場, 粗大ごみ has kana)
            return DetectedLanguage("zh-Hans", 0.9 if counts["han"] >= 3 else 0.6)
        if counts["latin"] < 3:
            return None
        values = self._lingua.compute_language_confidence_values(text)
        if not values or values[0].value < MIN_CONFIDENCE or (len(values) > 1 and values[0].value < 2 * values[1].value):
            return None
        return DetectedLanguage(_LINGUA[values[0].language], float(values[0].value))


def reply_language(detected: str | None, profile_language: str) -> str:
    """The language to answer in: the profile's unless the message is confidently in another language
    (``detected``: the code ``detect`` found, or None when it was not sure).

    A resident whose profile says ``ja-easy`` and who writes Japanese keeps やさしい日本語.
    """
    if detected is None or (detected == "ja" and profile_language in ("ja", "ja-easy")):
        return profile_language
    return detected
