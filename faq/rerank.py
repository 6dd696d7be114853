"""A learned second stage for FAQ search: a linear pairwise ranker over features the index computes anyway.

The first stage (``faq.index.FaqIndex.rank``: BM25F + word vectors + the tenant's latent space, hand-fused) finds the
candidates; this stage re-orders its top ``RankerConfig.rerank_depth`` with ``score = Σ weight × feature``, keeping the
first stage's top hit in place (``rerank_keep``: what the chat answers with and calibrates on). The features are
single-field BM25 scores (question with editors' alternatives, answer, kanji characters, character bigrams of the
question, adjacent word pairs), the dense similarities, how much of the query each field covers, lengths, the first-stage rank, and how close
an entry is to the first stage's best candidates (in the latent space and in word-vector space). Every score is
divided by the query's best so the weights carry over between tenants and queries.

The weights are learnt offline by ``fit_pairwise`` (RankNet-style logistic loss over pairs of a more and a less
relevant candidate of one query, L2-regularised, Newton's method; numpy only): ``bench/faq_localgovfaq.py`` fits them
on one half of LocalGovFAQ dev and measures the other half (both ways: the cross-fitted figure), then fits the
shipped ``RERANK_WEIGHTS`` on all of dev (``--fit-reranker`` prints them). No model file, nothing downloaded.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RERANK_FEATURES: tuple[str, ...] = (
    "fused",  # first-stage score / the query's best
    "lex",  # lexical score / the best the query could reach (Hit.confidence)
    "lexn",  # lexical score / the query's best lexical score
    "vec",  # word-vector cosine (centred)
    "lsa",  # latent-space cosine
    "q",  # BM25 on the question (+ editors' alternatives) alone
    "a",  # BM25 on the answer alone
    "c",  # BM25 on the kanji characters of question, keywords and alternatives
    "biq",  # BM25 on character bigrams of the question (+ alternatives)
    "covq",  # idf share of the query's words found in the question
    "cova",  # … in the answer
    "qlen",  # log(1 + words in the question)
    "alen",  # log(1 + words in the answer)
    "rank",  # log(1 + first-stage position)
    "plsa",  # latent-space closeness to the first stage's top 5 (softmax-weighted)
    "pvec",  # word-vector closeness to the first stage's top 5
    "pq",  # BM25 on adjacent word pairs of the question
    "pa",  # … of the answer
)

# Fitted on all of LocalGovFAQ dev (239 queries) by ``bench/faq_localgovfaq.py --fit-reranker`` (pairwise, L2 100,
# top 50 candidates, features divided by their standard deviation on dev and folded into the weights).
RERANK_WEIGHTS: tuple[float, ...] = (
    2.6367, 3.2303, -0.7698, 1.8481, 1.5496, -1.6393, -0.3609, 0.4053, 1.8873, -0.3267, 0.9047, -0.8717, 0.4633,
    0.0106, 2.9305, -0.7644, 0.7163, 0.9776,
)


def char_bigrams(text: str) -> list[str]:
    """Bigrams of letters/digits/kana/kanji after NFKC (punctuation and spaces dropped)."""
    s = "".join(ch for ch in unicodedata.normalize("NFKC", text or "").lower() if ch.isalnum())
    return [s[i : i + 2] for i in range(len(s) - 1)]


def adjacent_pairs(terms: Sequence[str]) -> list[str]:
    return [a + "\x1f" + b for a, b in zip(terms, terms[1:])]


@dataclass(frozen=True)
class Bag:
    """One field of one entry as hashed terms (sorted, unique) with their counts: computed once per entry version
    (``faq.index`` caches it with the entry's analysis), so a rebuild after an edit only concatenates arrays.
    Python's string hash is per process, like the index; 64-bit collisions are negligible."""

    keys: np.ndarray  # int64
    counts: np.ndarray  # float32
    length: int

    @classmethod
    def of(cls, terms: Sequence[str]) -> Bag:
        hashed = np.fromiter((hash(t) for t in terms), dtype=np.int64, count=len(terms))
        keys, counts = np.unique(hashed, return_counts=True)
        return cls(keys, counts.astype(np.float32), len(terms))


class FieldBM25:
    """Plain BM25 over one field of every entry (k1 1.2, b 0.75), scores divided by the query's best. Postings are
    flat arrays sorted by term hash (built with numpy, no per-term Python objects)."""

    def __init__(self, bags: Sequence[Bag], k1: float = 1.2, b: float = 0.75) -> None:
        n = len(bags)
        self.n = n
        lengths = np.array([bag.length for bag in bags], dtype=np.float32)
        avg = float(lengths.mean()) if n else 0.0
        keys = np.concatenate([bag.keys for bag in bags]) if n else np.zeros(0, np.int64)
        tf = np.concatenate([bag.counts for bag in bags]) if n else np.zeros(0, np.float32)
        doc = np.repeat(np.arange(n, dtype=np.int32), [len(bag.keys) for bag in bags])
        order = np.argsort(keys, kind="stable")
        keys, tf, doc = keys[order], tf[order], doc[order]
        self.keys, self.start, df = np.unique(keys, return_index=True, return_counts=True)
        self.end = self.start + df
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        norm = k1 * (1 - b + b * lengths[doc] / (avg or 1.0))
        self.doc = doc
        self.weight = (np.repeat(idf, df) * tf * (k1 + 1) / (tf + norm)).astype(np.float32)

    def _found(self, terms: Sequence[str]) -> list[tuple[int, int, int]]:
        """(query term position in ``terms``, postings start, end) of the terms this field has."""
        if not len(self.keys) or not terms:
            return []
        hashed = np.fromiter((hash(t) for t in terms), dtype=np.int64, count=len(terms))
        at = np.minimum(np.searchsorted(self.keys, hashed), len(self.keys) - 1)
        return [(j, int(self.start[i]), int(self.end[i]))
                for j, i in enumerate(at.tolist()) if self.keys[i] == hashed[j]]

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.float32)
        counts = Counter(terms)
        unique = list(counts)
        for j, s, e in self._found(unique):
            out[self.doc[s:e]] += counts[unique[j]] * self.weight[s:e]
        top = float(out.max()) if self.n else 0.0
        return out / top if top > 0 else out

    def coverage(self, weights: dict[str, float]) -> np.ndarray:
        """Per entry, the sum of ``weights`` of the terms its field contains."""
        out = np.zeros(self.n, dtype=np.float32)
        unique = list(weights)
        for j, s, e in self._found(unique):
            out[self.doc[s:e]] += weights[unique[j]]
        return out


def fit_pairwise(groups: Sequence[tuple[np.ndarray, np.ndarray]], l2: float = 100.0,
                 iterations: int = 50) -> np.ndarray:
    """Weights of a linear ranker from (features [candidates × features], grades [candidates]) per query.

    Every pair (i, j) of one query with grade_i > grade_j is a training example for P(i above j) =
    σ(w · (x_i − x_j)); the L2-regularised log loss is minimised by Newton's method. Scale the features first (the
    penalty is the same for every weight)."""
    diffs: list[np.ndarray] = []
    for x, grades in groups:
        for i in np.flatnonzero(grades > 0):
            lower = np.flatnonzero(grades < grades[i])
            if len(lower):
                diffs.append(x[i] - x[lower])
    if not diffs:
        raise ValueError("no pair of differently graded candidates to learn from")
    d = np.concatenate(diffs).astype(np.float64)
    w = np.zeros(d.shape[1])
    eye = l2 * np.eye(d.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(d @ w)))
        grad = -d.T @ (1 - p) + l2 * w
        hess = d.T @ (d * (p * (1 - p))[:, None]) + eye
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w
