"""Japanese normalization on the bot side: the same folding and Sudachi normalized forms the Rasa tokenizer uses.

Why a class with a cached default instead of a module-level object: loading the Sudachi dictionary is a (small)
resource; tests and the bench build their own, the crisis layer and fallback share ``default_analyzer()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sudachipy import Dictionary, SplitMode

from nlu.rasa_components.textfold import fold, is_noise

_SKIP_POS = {"補助記号", "空白"}


@dataclass(frozen=True)
class Morpheme:
    surface: str  # folded surface (NFKC, lower case, hiragana)
    normalized: str  # folded Sudachi normalized form (申込→申し込み, ﾏｲﾅﾝﾊﾞｰ→まいなんばー)
    reading: str  # hiragana reading (死にたい → しにたい)
    pos: str  # first POS level (名詞, 動詞, 助詞, ...)


class JapaneseAnalyzer:
    def __init__(self, dict_name: str = "core", split_mode: str = "C") -> None:
        dictionary = Dictionary(dict=dict_name)
        mode = getattr(SplitMode, split_mode.upper())
        self._tokenizer = dictionary.create(mode) if not hasattr(dictionary, "tokenizer") else dictionary.tokenizer(mode)

    def morphemes(self, text: str) -> list[Morpheme]:
        out: list[Morpheme] = []
        for m in self._tokenizer.tokenize(text):
            surface = m.surface()
            pos = m.part_of_speech()[0]
            if pos in _SKIP_POS or all(is_noise(c) for c in surface):
                continue
            normalized = fold(m.normalized_form()) or fold(surface)
            out.append(Morpheme(fold(surface), normalized, fold(m.reading_form()) or normalized, pos))
        return out


@lru_cache(maxsize=1)
def default_analyzer() -> JapaneseAnalyzer:
    return JapaneseAnalyzer()
