"""Does a resident's message carry personal data? Used to keep such messages out of the unanswered-questions list.

Errs on the side of exclusion: a question that is lost costs little, a phone number or an address kept for 90 days
in a staff screen costs a lot. Looks for phone numbers, e-mail addresses, postal codes, long digit strings (card,
account, My Number), street addresses (丁目/番地/号, 1-2-3 forms), self-introductions (「山田と申します」, "my name
is"), and person names as SudachiDict tags them (固有名詞・人名), also before an honorific (さん, 様, 君, ちゃん).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from sudachipy import Dictionary, SplitMode, Tokenizer

_PHONE = re.compile(
    r"(?:\+?81[-\s]?|0)\d{1,4}[-\s(（)）]?\d{1,4}[-\s)）]?\d{3,4}"  # 06-1234-5678, 090 1234 5678, +81-6-…
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_POSTAL = re.compile(r"〒\s?\d{3}-?\d{4}|\b\d{3}-\d{4}\b")
_LONG_DIGITS = re.compile(r"\d(?:[\s-]?\d){6,}")
_ADDRESS = re.compile(
    r"\d+\s?丁目|\d+\s?番地|\d+\s?番\s?\d+\s?号|\d+-\d+(?:-\d+)?\s?(?:号室)?(?!\d)(?=.*?(?:町|丁|番|区|市|$))"
    r"|[一二三四五六七八九十]+丁目|\d+\s?号室"
)
_INTRO = re.compile(
    r"(?:私|わたし|僕|ぼく|俺|わたくし)?(?:の)?(?:名前|なまえ|氏名)は|と申します|といいます|と言います|と申す者"
    r"|\bmy name is\b|\bi am [A-Z][a-z]+|\bthis is [A-Z][a-z]+ (?:speaking|here)",
    re.IGNORECASE,
)
_HONORIFIC = ("さん", "様", "さま", "君", "くん", "ちゃん", "氏", "先生")


def contains_pii(text: str) -> bool:
    """True when ``text`` looks like it carries a phone number, address, e-mail, long number or a person's name."""
    norm = unicodedata.normalize("NFKC", text or "")
    if not norm.strip():
        return False
    if _EMAIL.search(norm) or _POSTAL.search(norm) or _INTRO.search(norm):
        return True
    if _PHONE.search(norm) or _LONG_DIGITS.search(norm) or _ADDRESS.search(norm):
        return True
    return _has_person_name(norm)


def _has_person_name(text: str) -> bool:
    morphemes = _tokenizer().tokenize(text[:2000])
    for i, m in enumerate(morphemes):
        pos = m.part_of_speech()
        if pos[1] == "固有名詞" and pos[2] == "人名":
            return True
        # an unknown or proper noun followed by an honorific: 「たなかさん」「ＡＢＣ様」
        if m.surface() in _HONORIFIC and i > 0:
            prev = morphemes[i - 1].part_of_speech()
            if prev[1] == "固有名詞" or morphemes[i - 1].is_oov():
                return True
    return False


@lru_cache(maxsize=1)
def _tokenizer() -> Tokenizer:
    return Dictionary().create(mode=SplitMode.C)
