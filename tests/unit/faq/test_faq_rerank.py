"""The learned second stage (faq.rerank): its BM25 fields, the pairwise fit, how it re-orders, and the bench's
cross-fitting (no dev query is ranked by weights fitted on it)."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from faq.index import FaqIndex, RankerConfig, analyse
from faq.models import FaqEntry
from faq.rerank import RERANK_FEATURES, RERANK_WEIGHTS, Bag, FieldBM25, adjacent_pairs, char_bigrams, fit_pairwise
from faq.text import Analyzer

ROWS = [
    ("sodai-1", "粗大ごみの出し方", "粗大ごみは受付センターに申し込んでください。"),
    ("sodai-2", "粗大ごみの手数料", "粗大ごみの手数料は品目ごとに決まっています。シールをコンビニで買って貼ってください。"
                               "受付センターで品目を伝えると金額を案内します。"),
    ("sodai-3", "粗大ごみを自分で持ち込みたい", "クリーンセンターへの持ち込みは予約制です。"),
    ("sodai-4", "粗大ごみの収集日", "収集日は申込のときにお知らせします。"),
    ("library", "図書館の休館日", "図書館は月曜日が休館日です。"),
    ("juminhyo", "住民票の写しが欲しい", "市役所の窓口かコンビニで取れます。"),
]
QUERY = "粗大ごみを出したい"


def bench_module():
    path = Path(__file__).resolve().parents[3] / "bench" / "faq_localgovfaq.py"
    spec = importlib.util.spec_from_file_location("bench_faq_rerank", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def docs():
    analyzer = Analyzer()
    return [analyse(FaqEntry("t", i, q, a), analyzer) for i, q, a in ROWS]


def weights_on(feature: str, value: float) -> tuple[float, ...]:
    return tuple(value if f == feature else 0.0 for f in RERANK_FEATURES)


def test_field_bm25_scores_only_entries_with_the_term_and_divides_by_the_best():
    field = FieldBM25([Bag.of(["犬", "登録"]), Bag.of(["猫"]), Bag.of(["犬", "犬", "注射", "保健所", "予約"])])
    scores = field.scores(["犬", "未知語"])
    assert scores[1] == 0 and scores.max() == pytest.approx(1.0) and scores[0] > 0 and scores[2] > 0
    assert field.scores(["未知語"]).tolist() == [0, 0, 0]
    assert field.coverage({"犬": 2.0, "登録": 1.0}).tolist() == [3.0, 0.0, 2.0]
    assert FieldBM25([]).scores(["犬"]).shape == (0,)


def test_char_bigrams_and_pairs_ignore_width_and_punctuation():
    assert char_bigrams("ｺﾞﾐ、出す") == char_bigrams("ゴミ出す") == ["ゴミ", "ミ出", "出す"]
    assert adjacent_pairs(["a", "b", "c"]) == ["a\x1fb", "b\x1fc"]


def test_the_pairwise_fit_finds_the_informative_feature():
    rng = np.random.default_rng(1)
    groups = []
    for _ in range(40):
        grades = rng.integers(0, 3, 12).astype(float)
        x = np.stack([grades + rng.normal(0, 0.7, 12), rng.normal(0, 1, 12)], axis=1)
        groups.append((x, grades))
    w = fit_pairwise(groups, l2=1.0)
    assert w[0] > 0 and abs(w[1]) < w[0] / 5
    top_is_relevant = [grades[np.argmax(x @ w)] > 0 for x, grades in groups]
    assert sum(top_is_relevant) >= 36
    with pytest.raises(ValueError):
        fit_pairwise([(np.zeros((3, 2)), np.zeros(3))])


def test_the_second_stage_keeps_the_first_stage_top_hit_and_reorders_the_rest(docs):
    analyzer = Analyzer()
    first = [h.id for h in FaqIndex(docs, analyzer, RankerConfig(rerank_weights=())).search(QUERY, 6)]
    long_first = [h.id for h in FaqIndex(docs, analyzer, RankerConfig(rerank_weights=weights_on("alen", 1.0)))
                  .search(QUERY, 6)]
    short_first = [h.id for h in FaqIndex(docs, analyzer, RankerConfig(rerank_weights=weights_on("alen", -1.0)))
                   .search(QUERY, 6)]
    answer_words = {d.entry.id: len(d.a) for d in docs}
    assert long_first[0] == short_first[0] == first[0]  # what the chat answers with stays the first stage's
    assert set(long_first) == set(short_first) == set(first)  # only the candidates, re-ordered
    rest = [answer_words[i] for i in long_first[1:]]
    assert rest == sorted(rest, reverse=True) and len(set(rest)) > 1
    assert [answer_words[i] for i in short_first[1:]] == sorted(rest)
    unkept = FaqIndex(docs, analyzer, RankerConfig(rerank_keep=0, rerank_weights=weights_on("alen", 1.0)))
    assert unkept.search(QUERY, 1)[0].id == max(first, key=answer_words.get)


def test_hits_keep_the_first_stage_score_and_confidence(docs):
    analyzer = Analyzer()
    plain = {h.id: (h.score, h.confidence) for h in FaqIndex(docs, analyzer, RankerConfig(rerank_weights=()))
             .search(QUERY, 6)}
    learned = FaqIndex(docs, analyzer, RankerConfig(rerank_weights=weights_on("alen", 1.0))).search(QUERY, 6)
    assert {h.id: (h.score, h.confidence) for h in learned} == plain


def test_weights_that_do_not_match_the_features_are_refused(docs):
    with pytest.raises(ValueError):
        FaqIndex(docs, Analyzer(), RankerConfig(rerank_weights=(1.0, 2.0)))
    assert len(RERANK_WEIGHTS) == len(RERANK_FEATURES)  # the shipped ones do
    assert FaqIndex(docs, Analyzer(), replace(RankerConfig(), rerank_depth=0)).search(QUERY, 3)


def test_an_editors_alternative_question_reaches_the_second_stage_fields(docs):
    analyzer = Analyzer()
    entry = replace(docs[4].entry, alternatives=["本を返す場所"])
    with_alt = [*docs[:4], analyse(entry, analyzer), *docs[5:]]
    hits = FaqIndex(with_alt, analyzer, RankerConfig()).search("本を返す場所はどこ", 3)
    assert hits[0].id == "library"


def test_cross_fitting_never_ranks_a_query_with_weights_fitted_on_it():
    bench = bench_module()
    rng = np.random.default_rng(2)
    features = {str(q): ([f"d{i}" for i in range(8)], rng.normal(size=(8, len(RERANK_FEATURES))))
                for q in range(1, 41)}
    qrels = {q: {"d1": 2, "d5": 1} for q in features}
    half_a, half_b = bench.halves(qrels)
    weights, cross = bench.cross_fit(features, qrels)
    # change every grade of half A: half A's rankings (by weights fitted on B) and B's weights must not move
    changed = {q: ({"d0": 2, "d7": 1} if q in half_a else r) for q, r in qrels.items()}
    weights2, cross2 = bench.cross_fit(features, changed)
    assert weights2["B"] == weights["B"] and weights2["A"] != weights["A"]
    assert all(cross2[q] == cross[q] for q in half_a)
    assert any(cross2[q] != cross[q] for q in half_b)
    assert all(cross[q][0] == "d0" for q in qrels)  # the first-stage top stays first
