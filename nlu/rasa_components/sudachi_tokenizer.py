"""Japanese tokenizer for Rasa 3 on SudachiPy: token text = Sudachi normalized form, lemma = reading.

Why normalized forms: residents write ゴミ/ごみ/塵, 申込/申し込み and half-width ｶﾅ; with surface tokens and few
examples DIET learned spurious cues (「粗大ゴミを出したいんだけど」 → DV at p=0.998). Normalized forms (folded to
hiragana) make the variants meet; the reading (hiragana) is exposed as the token lemma so a second
CountVectorsFeaturizer with ``use_lemma: true`` catches kana-only spellings (しにたい, こくほ).
Token offsets stay those of the original text, so entity extractors keep working.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from .textfold import fold, is_noise

_SKIP_POS = {"補助記号", "空白"}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class SudachiTokenizer(Tokenizer):
    """Tokenizes Japanese (and mixed) text with SudachiPy."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            # Sudachi split mode: A (short units), B (middle), C (named entities as one unit)
            "split_mode": "C",
            # Sudachi system dictionary: small | core | full (sudachidict-<name> must be installed)
            "dict": "core",
        }

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sudachipy"]

    @staticmethod
    def supported_languages() -> Optional[List[Text]]:
        return None  # any: Japanese plus the odd English word

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        from sudachipy import Dictionary, SplitMode

        dictionary = Dictionary(dict=self._config["dict"])
        mode = getattr(SplitMode, str(self._config["split_mode"]).upper())
        self._tokenizer = dictionary.tokenizer(mode) if hasattr(dictionary, "tokenizer") else dictionary.create(mode)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SudachiTokenizer":
        return cls(config)

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        text = message.get(attribute)
        tokens: List[Token] = []
        for m in self._tokenizer.tokenize(text):
            surface = m.surface()
            if m.part_of_speech()[0] in _SKIP_POS or all(is_noise(c) for c in surface):
                continue
            normalized = fold(m.normalized_form()) or fold(surface)
            reading = fold(m.reading_form()) or normalized
            tokens.append(Token(normalized, m.begin(), m.end(), lemma=reading))
        if not tokens:  # only emoji/punctuation: keep one token so featurizers see something
            tokens = [Token(fold(text) or text, 0, len(text))]
        return self._apply_token_pattern(tokens)
