"""How intent classifiers are scored (``bench/nlu_eval.py`` and the fallback's quality test use the same measure)."""

from __future__ import annotations


def macro_f1(pairs: list[tuple[str, str]]) -> float:
    """Mean F1 over the gold labels of (gold, predicted) pairs; a label never predicted right scores 0."""
    scores = []
    for label in {gold for gold, _ in pairs}:
        tp = sum(g == label and p == label for g, p in pairs)
        fp = sum(g != label and p == label for g, p in pairs)
        fn = sum(g == label and p != label for g, p in pairs)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)
