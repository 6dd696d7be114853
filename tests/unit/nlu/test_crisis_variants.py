"""Spelling variants of danger words are caught systematically; look-alikes in ordinary words are not."""

from __future__ import annotations

import pytest

from nlu.crisis import assess
from nlu.crisis_variants import slang_fold, variants
from nlu.rasa_components.textfold import fold, strip_noise

# Seed phrases in hiragana (the lexicon's reviewed phrases, one per kind); every generated spelling must be caught.
SEEDS = {
    "しにたい": "suicide", "きえたい": "suicide", "じさつしたい": "suicide", "いきるのがつらい": "suicide",
    "りすかした": "self_harm", "おーばーどーずした": "self_harm", "なぐられた": "danger", "ころされる": "danger",
    "すとーかーがいる": "stalking", "ちかんにあった": "sexual_violence", "ぎゃくたいされてる": "child_abuse",
}


@pytest.mark.parametrize(("seed", "category"), SEEDS.items())
def test_every_systematic_spelling_of_a_seed_is_caught(seed, category):
    missed = [v for v in variants(seed) if (a := assess(v)) is None or a.category != category]
    assert missed == []


@pytest.mark.parametrize(("slang", "plain"), [
    ("タヒにたい", "死にたい"), ("ﾀﾋね", "死ね"), ("氏ね", "死ね"), ("4ね", "死ね"), ("しにたみ", "しにたい"),
    ("しにたす", "しにたい"), ("死にてぇ", "死にたい"), ("shinitai", "しにたい"), ("jisatsu", "じさつ"),
])
def test_slang_folds_onto_the_plain_word(slang, plain):
    assert plain in slang_fold(strip_noise(fold(slang)))


@pytest.mark.parametrize("ordinary", ["タヒチに旅行したい", "またひとつ年をとった", "4ねん生です", "氏名を書く欄",
                                      "shine on you", "今年で4ねんめ"])
def test_look_alikes_in_ordinary_words_are_left_alone(ordinary):
    assert "死" not in slang_fold(strip_noise(fold(ordinary)))
    assert assess(ordinary) is None


def test_variants_cover_the_kinds_the_residents_use():
    spellings = list(variants("しにたい"))
    assert {"シニタイ", "ｼﾆﾀｲ", "しにたぃ", "しにたーい", "し に た い", "しにたみ"} <= set(spellings)
