"""Spelling variants of danger words: fold them onto the plain word before matching, and generate them for tests.

Residents in crisis rarely type the dictionary form: タヒ (two katakana that look like 死), 氏ね, 4ね, しにたみ/しにたす
(youth forms), half-width ｼﾆﾀｲ, small vowels (しにたぃ), elongations (しにたーーい), spaces between letters, romaji
typed without an IME (shinitai, kietai, jisatsu, risuka). ``slang_fold`` maps these onto the plain word (applied to
kana-folded text, see ``nlu.rasa_components.textfold.fold``); NFKC already folds the width. ``variants`` generates the
systematic spellings of a phrase, so ``tests/unit/nlu/test_crisis_variants.py`` can prove each lexicon seed phrase is
caught in every spelling — the lexicon itself stays a list of reviewed plain phrases.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from nlu.rasa_components.textfold import fold_small_kana

# romaji typed by residents without a Japanese IME → kana (only danger words: romaji is otherwise left alone)
_ROMAJI = (
    (r"sh?inn?itai|sinitai|shinitee|shinitaa?i", "しにたい"),
    (r"sh?inn?ou?ka(na)?", "しのうかな"),
    (r"kiet(ai|ee)", "きえたい"),
    (r"j(i|h)satsu|zisatu|jisatu", "じさつ"),
    (r"risuka|risukatto", "りすか"),
    (r"sh?in(e|u)(?![a-z])", "しね"),
    (r"ikitakunai", "いきたくない"),
    (r"tasukete", "たすけて"),
    (r"koros(are|a)ru|korosareru", "ころされる"),
)
_ROMAJI_RE = tuple((re.compile(p), k) for p, k in _ROMAJI)


def slang_fold(folded: str) -> str:
    """Slang and look-alike spellings onto the plain word. Each substitution is tested both ways: it must fire on
    the slang and not on ordinary words (タヒチ, またひとつ, 4ねん, 氏名)."""
    text = fold_small_kana(folded).replace("ー", "")
    for pattern, kana in _ROMAJI_RE:
        text = pattern.sub(kana, text)
    text = re.sub(r"(?<![ま])たひ(?=[ぬねにんの])", "死", text)  # タヒね, タヒにたい; not またひとつ / タヒチ
    text = re.sub(r"氏(?=[ねにぬ](?!ん))", "死", text)
    text = re.sub(r"(?<![0-9])4(?=ね(?![んこ])|にたい)", "死", text)
    text = re.sub(r"(しにた|死にた)(み|す|し|ひ|ぴ|ゐ)", r"\1い", text)
    text = re.sub(r"(きえた|消えた)(み|す|し)", r"\1い", text)
    text = re.sub(r"(しに|死に)て(え|ぇ)+", r"\1たい", text)
    return text


def _hira_to_kata(text: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


def _half_width(text: str) -> str:
    """Full-width katakana → half-width (the inverse of what NFKC does)."""
    out = []
    for c in _hira_to_kata(text):
        for half in range(0xFF66, 0xFFA0):
            if unicodedata.normalize("NFKC", chr(half)) == c:
                out.append(chr(half))
                break
        else:
            decomposed = unicodedata.normalize("NFD", c)
            if len(decomposed) == 2 and decomposed[1] in "\u3099\u309a":
                base = _half_width(decomposed[0])
                out.append(base + ("ﾞ" if decomposed[1] == "\u3099" else "ﾟ"))
            else:
                out.append(c)
    return "".join(out)


def variants(kana: str) -> Iterator[str]:
    """Systematic spellings of a phrase given in hiragana: katakana, half-width, small last vowel, elongation,
    letters spaced out, an emoji tail, youth endings of 〜たい."""
    yield kana
    yield _hira_to_kata(kana)
    yield _half_width(kana)
    small = str.maketrans("あいうえお", "ぁぃぅぇぉ")
    if kana[-1] in "あいうえお":
        yield kana[:-1] + kana[-1].translate(small)
        yield kana[:-1] + "ー" + kana[-1]
    yield " ".join(kana)
    yield kana + "😢"
    yield kana + "…"
    if kana.endswith("たい"):
        yield kana[:-1] + "み"
        yield kana[:-1] + "す"
