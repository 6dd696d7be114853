"""Text folding shared by the Rasa tokenizer (Python 3.10 venv) and the bot side (Python 3.11).

Why one module: the fallback classifier is trained from the same nlu.yml as Rasa and must see the same features,
and the crisis layer must normalize exactly as documented. Pure stdlib on purpose: it is imported in both venvs.
"""

from __future__ import annotations

import unicodedata

_SMALL_KANA = str.maketrans("ぁぃぅぇぉっゃゅょゎ", "あいうえおつやゆよわ")


def kata_to_hira(text: str) -> str:
    """Katakana → hiragana (ア→あ, ヴ→ゔ); the long-vowel mark ー and other characters are kept."""
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def fold(text: str) -> str:
    """NFKC (full/half width), lower case, katakana folded to hiragana, wave dashes unified."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("〜", "ー").replace("~", "ー")
    return kata_to_hira(text)


def fold_small_kana(text: str) -> str:
    """ぃ→い, っ→つ …: residents type small kana as typos or for emphasis (しにたぃ, きえたーい)."""
    return text.translate(_SMALL_KANA)


def is_noise(char: str) -> bool:
    """Whitespace, emoji, symbols and joiners: carry no words, only break phrase matching."""
    cat = unicodedata.category(char)
    return (
        char.isspace()
        or cat in ("So", "Sk", "Cs", "Co", "Cf", "Mn", "Me")
        or 0xFE00 <= ord(char) <= 0xFE0F
        or 0x1F000 <= ord(char) <= 0x1FAFF
    )


def strip_noise(text: str) -> str:
    return "".join(c for c in text if not is_noise(c))
