"""Per-tenant FAQ search index: BM25F over Sudachi terms + a kanji-character field, residents' 👍/👎 as a prior.

Dense evidence is fused into the lexical score (scaled by the query's top lexical score): ja-ginza word vectors
(query expansion + a centred embedding cosine, when installed) and a latent semantic space learned from the
tenant's own entries at every build (truncated SVD; no download, no artefact file, works for any tenant's FAQ).
On LocalGovFAQ dev: Recall@10 0.691 → 0.738 (bench/faq_localgovfaq.py --ablation shows each step). A learned second
stage (``faq.rerank``: a linear pairwise ranker over per-field BM25, character-bigram, word-pair, coverage, length and
dense features) re-orders the first stage's top 50 keeping its top hit: 0.738 → 0.763 cross-fitted on dev halves
(0.750 → 0.778 and 0.726 → 0.748); without word vectors 0.679 → 0.725.

Also implemented, measured, and off by default (see bench/faq_localgovfaq.py --ablation): RM3 pseudo-relevance
feedback, query-term → answer-term associations learned from the FAQ's own question/answer pairs, SudachiDict
synonym groups.

``FaqIndex`` is an immutable snapshot built from a list of entries; ``LiveIndex`` keeps one snapshot per tenant and
swaps in a new one when the store's revision moves (built beside the old one, swapped by one assignment: searches in
flight finish on the old snapshot, none fail). Term lists are cached by (id, version) so a one-entry edit re-analyses
one entry, not the corpus.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from faq.lang import ForeignIndex, glossary
from faq.models import FaqEntry, FaqFeedback, query_hash
from faq.rerank import RERANK_FEATURES, RERANK_WEIGHTS, Bag, FieldBM25, adjacent_pairs, char_bigrams
from faq.store import FaqStore
from faq.text import Analyzer, normalize
from faq.vectors import WordVectors

log = logging.getLogger("civicbot.faq")


@dataclass(frozen=True)
class RankerConfig:
    """Ranking knobs. Defaults are the values chosen on pseudo-queries (see bench/faq_localgovfaq.py)."""

    k1: float = 1.2
    b: float = 0.75
    w_question: float = 3.0
    w_keywords: float = 2.0
    w_alternatives: float = 3.0  # editors' alternative questions count like the question itself
    w_answer: float = 1.0
    rm3_docs: int = 0  # 0 = RM3 off
    rm3_terms: int = 10
    rm3_weight: float = 0.3  # share of the expansion in the final query
    assoc_terms: int = 0  # learned query-term → entry-term associations per query term (0 = off)
    assoc_weight: float = 0.3
    feedback_weight: float = 0.5  # 👍/👎 entry prior, in BM25 score units per log-odds of up/down votes
    feedback_query: float = 0.5  # same query (hash) voted: score × 2**(this × net votes, clipped to ±3)
    w_chars: float = 0.5  # kanji-character field (スズメバチの巣 ~ 蜂の巣); 0 = off
    q_chars: float = 0.3  # weight of a query's kanji characters relative to its words
    w_synonyms: float = 0.0  # SudachiDict synonym-group field (question + keywords); 0 = off
    q_synonyms: float = 0.3  # weight of a query's synonym groups relative to its words
    syn_rare_only: float = 0.0  # expand only query words with idf above this (0 = all)
    # Word vectors (only when a WordVectors is given to the index, see faq.vectors):
    vec_neighbours: int = 5  # per query word, this many nearest index words …
    vec_min_similarity: float = 0.6  # … at least this similar (cosine) …
    vec_expand_weight: float = 0.5  # … join the query with weight × similarity
    vec_fusion: float = 1.0  # + this × top lexical score × cos(query embedding, entry embedding)
    vec_center: bool = True  # subtract the tenant's mean embedding first (word-vector averages share one direction)
    # Latent semantic space learned from the tenant's own entries at index time (truncated SVD of the idf-weighted
    # term × entry matrix, question counted twice): 市民税 meets 市税 because the FAQ uses them together.
    lsa_dims: int = 200  # 0 = off; capped at half the number of entries
    lsa_fusion: float = 0.5  # + this × top lexical score × cos(query, entry) in that space
    lsa_refresh: float = 0.1  # relearn the space once this share of entries changed since it was learned
    # Learned second stage (faq.rerank): re-orders the first stage's top ``rerank_depth`` candidates, keeping its
    # top ``rerank_keep`` in place. Empty weights = features computed (for training) but no re-ordering.
    rerank_depth: int = 50  # 0 = off
    rerank_keep: int = 1
    rerank_weights: tuple[float, ...] = RERANK_WEIGHTS


@dataclass
class Hit:
    id: str
    score: float
    question: str
    confidence: float = 0.0  # score / the best score this query could reach in this index (0..1)
    novel: bool = False  # the question uses a word this FAQ never uses (so it may be about something else)


@dataclass
class _Doc:
    entry: FaqEntry
    q: list[str]
    k: list[str]
    a: list[str]
    s: list[str] = field(default_factory=list)  # synonym groups of question + keywords
    x: list[str] = field(default_factory=list)  # alternative questions (editors'), one field
    # question / answer embeddings, computed once per entry version (idf of the build that made them)
    emb: tuple[np.ndarray, np.ndarray] | None = None
    bags: dict[str, Bag] | None = None  # the learned ranker's fields (faq.rerank), once per entry version

    @property
    def c(self) -> list[str]:
        return kanji_chars(self.q + self.k + self.x)


def _matvec(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """matrix @ vector. BLAS runs single-threaded in the bot's processes (``bot.native_threads``, set by the
    composition root): split over a shared host's busy cores, a 2-MFLOP product waited 300+ ms at p95."""
    return matrix @ vector


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return (matrix / np.where(norms == 0, 1, norms)).astype(np.float32)


def _orthonormal(matrix: np.ndarray) -> np.ndarray:
    """Orthonormal columns spanning ``matrix`` via the eigenvectors of its small Gram matrix (BLAS products; much
    faster than LAPACK's QR here). Directions with no variance (a rank-deficient FAQ: duplicates, one-word entries)
    are dropped instead of blowing up."""
    m = matrix.astype(np.float64)
    m /= np.maximum(np.linalg.norm(m, axis=0), 1e-30)
    eigval, eigvec = np.linalg.eigh(m.T @ m)
    keep = eigval > max(float(eigval.max(initial=0.0)), 1e-30) * 1e-9
    return (m @ (eigvec[:, keep] / np.sqrt(eigval[keep]))).astype(np.float32)


def kanji_chars(terms: list[str]) -> list[str]:
    """Kanji of multi-character words, prefixed '#': lets 雀蜂 meet 蜂の巣 without a dictionary entry."""
    return ["#" + ch for t in terms if len(t) > 1 for ch in t if "\u4e00" <= ch <= "\u9fff"]


@dataclass(frozen=True)
class FeedbackPrior:
    """Residents' 👍/👎 as ranking evidence.

    ``entry``: an additive per-entry prior (log-odds of up vs down votes, all queries together), applied only to
    entries the query already matched. ``by_query``: for the exact query (by hash) a multiplicative factor per entry,
    so an answer voted 👎 for precisely this wording sinks for it without hurting the entry elsewhere.
    """

    entry: np.ndarray
    by_query: dict[str, dict[int, float]]

    @classmethod
    def empty(cls, n: int) -> FeedbackPrior:
        return cls(np.zeros(n, dtype=np.float32), {})

    @classmethod
    def from_records(cls, records: Iterable[FaqFeedback], pos: dict[str, int], config: RankerConfig) -> FeedbackPrior:
        votes: dict[int, list[int]] = {}
        per_query: dict[str, dict[int, int]] = {}
        for fb in records:
            i = pos.get(fb.entry_id)
            if i is None:
                continue
            sign = 1 if fb.vote == "up" else -1
            votes.setdefault(i, [0, 0])[0 if sign > 0 else 1] += 1
            q = per_query.setdefault(fb.query_hash, {})
            q[i] = q.get(i, 0) + sign
        entry = np.zeros(len(pos), dtype=np.float32)
        for i, (up, down) in votes.items():
            entry[i] = config.feedback_weight * math.log((up + 1) / (down + 1))
        by_query = {
            qh: {i: 2.0 ** (config.feedback_query * max(-3, min(3, net))) for i, net in nets.items() if net}
            for qh, nets in per_query.items()
        }
        return cls(entry, {qh: f for qh, f in by_query.items() if f})


@dataclass
class _Ranked:
    scores: np.ndarray
    ceiling: float  # the best lexical score this query could reach here (for Hit.confidence)
    lexical: np.ndarray | None = None  # scores before embedding fusion (confidence is lexical evidence)
    missing: int = 0  # query words the FAQ never uses
    terms: list[str] = field(default_factory=list)  # the query's words
    vec: np.ndarray | None = None  # word-vector cosine per entry (≥ 0), when vectors are loaded
    lsa: np.ndarray | None = None  # latent-space cosine per entry (≥ 0), when the space exists


class FaqIndex:
    def __init__(
        self,
        docs: list[_Doc],
        analyzer: Analyzer,
        config: RankerConfig,
        feedback: Iterable[FaqFeedback] = (),
        revision: int = 0,
        vectors: WordVectors | None = None,
        previous: FaqIndex | None = None,
    ) -> None:
        self.analyzer = analyzer
        self.config = config
        self.revision = revision
        self.entries = [d.entry for d in docs]
        self.ids = [d.entry.id for d in docs]
        self._pos = {eid: i for i, eid in enumerate(self.ids)}
        self.meta_parts = [
            [p for p in re.split(r"[・/／、,，\s]+", normalize(" ".join([d.entry.category, *d.entry.keywords]))) if p]
            for d in docs
        ]
        n = len(docs)
        self.n = n
        c = config
        fields = (("q", c.w_question), ("k", c.w_keywords), ("a", c.w_answer), ("c", c.w_chars),
                  ("s", c.w_synonyms), ("x", c.w_alternatives))
        avg = {f: (sum(len(getattr(d, f)) for d in docs) / n if n else 1.0) or 1.0 for f, _ in fields}
        # few entries have alternatives: their length norm is taken over the entries that have some
        with_x = [len(d.x) for d in docs if d.x]
        avg["x"] = sum(with_x) / len(with_x) if with_x else 1.0
        # BM25F: per-field length-normalised tf, weighted, summed, then one saturation.
        acc: dict[str, dict[int, float]] = {}
        df: Counter[str] = Counter()
        self.doc_terms: list[Counter[str]] = []
        for i, d in enumerate(docs):
            seen: set[str] = set()
            whole: Counter[str] = Counter()
            for f, w in fields:
                terms = getattr(d, f)
                if not terms or w == 0:
                    continue
                norm = 1 - c.b + c.b * len(terms) / avg[f]
                for t, tf in Counter(terms).items():
                    acc.setdefault(t, {})
                    acc[t][i] = acc[t].get(i, 0.0) + w * tf / norm
                    seen.add(t)
                    whole[t] += tf
            df.update(seen)
            self.doc_terms.append(whole)
        self.idf = {t: math.log(1 + (n - df_ + 0.5) / (df_ + 0.5)) for t, df_ in df.items()}
        self.postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for t, docs_tf in acc.items():
            idx = np.fromiter(docs_tf.keys(), dtype=np.int32, count=len(docs_tf))
            tfw = np.fromiter(docs_tf.values(), dtype=np.float32, count=len(docs_tf))
            self.postings[t] = (idx, (self.idf[t] * tfw * (c.k1 + 1) / (tfw + c.k1)).astype(np.float32))
        self.best = {t: float(p[1].max()) for t, p in self.postings.items()}
        self.best_any = max(self.best.values(), default=1.0)
        self.assoc: dict[str, list[tuple[str, float]]] = {}
        if c.assoc_terms:
            self.assoc = learn_associations(docs, self.idf, c.assoc_terms)
        self.vectors = vectors
        if vectors is not None:
            self._init_vectors(docs, vectors)
        self.latent: LatentSpace | None = None
        if c.lsa_dims and c.lsa_fusion:
            self.latent = self._latent_space(docs, previous.latent if previous is not None else None)
        if self.latent is not None:
            rows = [self.latent.fold(_latent_terms(d), self.idf) for d in docs]
            dims = self.latent.vectors.shape[1]
            self._lsa_docs = np.stack([r if r is not None else np.zeros(dims, np.float32) for r in rows])
        if c.rerank_weights and len(c.rerank_weights) != len(RERANK_FEATURES):
            raise ValueError(f"{len(c.rerank_weights)} second-stage weights for {len(RERANK_FEATURES)} features")
        self._second: _SecondStage | None = _SecondStage(docs) if c.rerank_depth and n else None
        self.foreign: dict[str, ForeignIndex] = {}
        by_lang: dict[str, list[tuple[int, str, str]]] = {}
        for i, d in enumerate(docs):
            for lang, t in d.entry.translations.items():
                if not lang.startswith("ja"):
                    by_lang.setdefault(lang, []).append((i, t.question, t.answer))
        self.foreign = {lang: ForeignIndex(lang, rows) for lang, rows in by_lang.items()}
        # Replaced as a whole (one assignment) when new votes arrive; never mutated in place.
        self.feedback = FeedbackPrior.from_records(feedback, self._pos, c) if c.feedback_weight else \
            FeedbackPrior.empty(n)

    def _latent_space(self, docs: list[_Doc], previous: LatentSpace | None) -> LatentSpace | None:
        """Reuse the previous snapshot's space while few entries changed (a one-entry edit then costs a fold-in, not
        an SVD); learn a new one otherwise. A numerically degenerate FAQ ranks without it, it never fails a build."""
        keys = frozenset((d.entry.id, d.entry.version) for d in docs)
        if previous is not None and len(keys ^ previous.keys) <= self.config.lsa_refresh * len(keys):
            return previous
        try:
            return learn_latent_space(docs, self.idf, min(self.config.lsa_dims, self.n // 2), keys)
        except (np.linalg.LinAlgError, ValueError):
            log.warning("faq latent space not built", exc_info=True, extra={"entries": self.n})
            return None

    def _init_vectors(self, docs: list[_Doc], vectors: WordVectors) -> None:
        vocab, rows = [], []
        for t in self.postings:
            if t[0] in "#§":
                continue
            row = vectors.row(t)
            if row is not None:
                vocab.append(t)
                rows.append(row)
        self._vocab = vocab
        self._vocab_vectors = vectors.vectors[np.array(rows, dtype=np.int64)] if rows else np.zeros((0, vectors.dim))
        for d in docs:
            if d.emb is None:
                d.emb = (self._embed(d.q), self._embed(d.a))
        dim = vectors.dim
        eq = np.stack([d.emb[0] for d in docs]) if docs else np.zeros((0, dim), dtype=np.float32)
        ea = np.stack([d.emb[1] for d in docs]) if docs else np.zeros((0, dim), dtype=np.float32)
        # Averages of word vectors all lean one way; removing the tenant's mean leaves what tells entries apart.
        self._mean_vector = np.zeros(dim, dtype=np.float32)
        if self.config.vec_center and len(docs):
            self._mean_vector = np.concatenate([eq, ea]).mean(axis=0).astype(np.float32)
        self._doc_vectors = _unit(self._center(eq) + 0.3 * self._center(ea))

    def _center(self, emb: np.ndarray) -> np.ndarray:
        """Unit vectors minus the tenant's mean; an empty embedding (no known word) stays zero."""
        centred = _unit(emb - self._mean_vector)
        return centred * (np.abs(emb).sum(axis=-1, keepdims=True) > 0)

    def _lsa_query(self, terms: list[str]) -> np.ndarray | None:
        if self.latent is None:
            return None
        return self.latent.fold(Counter(terms), self.idf)

    def _embed(self, terms: list[str]) -> np.ndarray:
        assert self.vectors is not None
        acc = np.zeros(self.vectors.dim, dtype=np.float32)
        for t in terms:
            v = self.vectors.vector(t)
            if v is not None:
                acc += self.idf.get(t, 3.0) * v
        norm = float(np.linalg.norm(acc))
        return acc / norm if norm else acc

    def _neighbours(self, terms: list[str], weights: dict[str, float]) -> None:
        """Add each query word's nearest index words (by vector) to the query, weighted by similarity."""
        c = self.config
        assert self.vectors is not None
        extra: dict[str, float] = {}
        for t in set(terms):
            v = self.vectors.vector(t)
            if v is None or not len(self._vocab):
                continue
            sims = _matvec(self._vocab_vectors, v)
            k = min(c.vec_neighbours + 1, len(sims))
            for j in np.argpartition(-sims, k - 1)[:k]:
                u, sim = self._vocab[j], float(sims[j])
                if u != t and sim >= c.vec_min_similarity and u not in weights:
                    extra[u] = max(extra.get(u, 0.0), c.vec_expand_weight * sim)
        weights.update(extra)

    # -- scoring -------------------------------------------------------------------------------------------------
    def _score(self, weights: dict[str, float]) -> _Ranked:
        scores = np.zeros(self.n, dtype=np.float32)
        for t, w in weights.items():
            p = self.postings.get(t)
            if p is not None:
                scores[p[0]] += w * p[1]
        return _Ranked(scores, sum(w * self.best.get(t, 0.0) for t, w in weights.items()))

    def query_weights(self, query: str) -> tuple[dict[str, float], int, list[str]]:
        """Term weights of a query, how many of its words the FAQ never uses, and its words."""
        c = self.config
        terms, synonyms = self.analyzer.analyze(query)
        weights = {t: float(n) for t, n in Counter(terms).items() if t in self.postings}
        missing = sum(1 for t in terms if t not in self.postings)
        if c.w_synonyms:
            for t, groups in zip(terms, synonyms):
                if c.syn_rare_only and self.idf.get(t, 99.0) < c.syn_rare_only:
                    continue
                for g in groups.split():
                    if g in self.postings:
                        weights[g] = weights.get(g, 0.0) + c.q_synonyms / len(groups.split())
        if c.w_chars:
            for ch, n in Counter(kanji_chars(terms)).items():
                if ch in self.postings:
                    weights[ch] = weights.get(ch, 0.0) + c.q_chars * n
        if c.assoc_terms and weights:
            extra: Counter[str] = Counter()
            for t in weights:
                for u, s in self.assoc.get(t, []):
                    if u not in weights:
                        extra[u] += s
            if extra:
                total = sum(extra.values())
                base = sum(weights.values())
                for u, s in extra.most_common(c.assoc_terms * 2):
                    weights[u] = weights.get(u, 0.0) + c.assoc_weight * base * s / total
        return weights, missing, terms

    def rank(self, query: str) -> _Ranked:
        weights, missing, terms = self.query_weights(query)
        if not self.n or not weights:
            return _Ranked(np.zeros(self.n, dtype=np.float32), 0.0)
        # Words the FAQ never uses count against confidence ("宇宙旅行の予約" is not a 予約 question).
        mean_weight = sum(weights.values()) / len(weights)
        ceiling = sum(w * self.best.get(t, 0.0) for t, w in weights.items())
        ceiling += missing * mean_weight * self.best_any * 0.5
        ranked = self._score(weights)
        lexical = ranked.scores  # evidence from the resident's own words: what confidence is measured on
        if self.vectors is not None and self.config.vec_neighbours:
            weights = dict(weights)
            self._neighbours(terms, weights)
            ranked = self._score(weights)
        if self.config.rm3_docs:
            ranked = self._rm3(weights, ranked.scores)
        ranked.ceiling = ceiling
        ranked.lexical = lexical
        ranked.missing = missing
        ranked.terms = terms
        top = float(ranked.scores.max())
        if top > 0:
            dense = np.zeros(self.n, dtype=np.float32)
            if self.vectors is not None and (self.config.vec_fusion or self._second is not None):
                query = self._center(self._embed(terms))
                ranked.vec = np.maximum(_matvec(self._doc_vectors, query), 0)
                dense += self.config.vec_fusion * ranked.vec
            if self.latent is not None:
                latent = self._lsa_query(terms)
                if latent is not None:
                    ranked.lsa = np.maximum(_matvec(self._lsa_docs, latent), 0)
                    dense += self.config.lsa_fusion * ranked.lsa
            if dense.any():
                ranked.scores = ranked.scores + top * dense
        return ranked

    def rerank_features(self, query: str, ranked: _Ranked, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The second stage's candidates (the first stage's top ``rerank_depth`` with a score, best first) and their
        features (``faq.rerank.RERANK_FEATURES``, one row per candidate)."""
        second = self._second
        assert second is not None
        depth = min(self.config.rerank_depth, self.n)
        cand = np.argpartition(-scores, depth - 1)[:depth] if depth < self.n else np.arange(self.n)
        cand = cand[np.argsort(-scores[cand], kind="stable")]
        cand = cand[scores[cand] > 0]
        if not len(cand):
            return cand, np.zeros((0, len(RERANK_FEATURES)), dtype=np.float32)
        lexical = ranked.lexical if ranked.lexical is not None else ranked.scores
        terms = ranked.terms
        zeros = np.zeros(len(cand), dtype=np.float32)
        fused = scores[cand] / float(scores[cand[0]])
        lex_top = float(lexical.max())
        known = {t: self.idf[t] for t in terms if t in self.idf}
        total = sum(known.values()) or 1.0
        top5, weight = cand[:5], np.exp(5 * fused[:5])
        weight /= weight.sum()
        plsa = pvec = zeros
        if self.latent is not None:
            plsa = (self._lsa_docs[cand] @ self._lsa_docs[top5].T) @ weight
        if self.vectors is not None:
            pvec = (self._doc_vectors[cand] @ self._doc_vectors[top5].T) @ weight
        columns = {
            "fused": fused,
            "lex": lexical[cand] / (ranked.ceiling or 1.0),
            "lexn": lexical[cand] / lex_top if lex_top > 0 else zeros,
            "vec": ranked.vec[cand] if ranked.vec is not None else zeros,
            "lsa": ranked.lsa[cand] if ranked.lsa is not None else zeros,
            "q": second.q.scores(terms)[cand],
            "a": second.a.scores(terms)[cand],
            "c": second.c.scores(kanji_chars(terms))[cand],
            "biq": second.biq.scores(char_bigrams(query))[cand],
            "covq": second.q.coverage(known)[cand] / total,
            "cova": second.a.coverage(known)[cand] / total,
            "qlen": second.q_len[cand],
            "alen": second.a_len[cand],
            "rank": np.log1p(np.arange(len(cand), dtype=np.float32)),
            "plsa": plsa,
            "pvec": pvec,
            "pq": second.pq.scores(adjacent_pairs(terms))[cand],
            "pa": second.pa.scores(adjacent_pairs(terms))[cand],
        }
        return cand, np.stack([np.asarray(columns[f], dtype=np.float32) for f in RERANK_FEATURES], axis=1)

    def _second_stage(self, query: str, ranked: _Ranked, scores: np.ndarray) -> np.ndarray:
        """Entry positions in the order the learned ranker gives them (the first stage's top ``rerank_keep`` first)."""
        cand, x = self.rerank_features(query, ranked, scores)
        keep = min(self.config.rerank_keep, len(cand))
        learned = x[keep:] @ np.asarray(self.config.rerank_weights, dtype=np.float32)
        return np.concatenate([cand[:keep], cand[keep:][np.argsort(-learned, kind="stable")]])

    def _rm3(self, weights: dict[str, float], scores: np.ndarray) -> _Ranked:
        c = self.config
        top = np.argsort(-scores)[: c.rm3_docs]
        top = top[scores[top] > 0]
        if not len(top):
            return _Ranked(scores, sum(w * self.best.get(t, 0.0) for t, w in weights.items()))
        rel = np.exp(scores[top] - scores[top].max())
        model: Counter[str] = Counter()
        for di, r in zip(top, rel):
            terms = self.doc_terms[di]
            length = sum(terms.values()) or 1
            for t, tf in terms.items():
                model[t] += r * tf / length * self.idf.get(t, 0.0)
        expansion = model.most_common(c.rm3_terms)
        total_e = sum(v for _, v in expansion) or 1.0
        total_q = sum(weights.values()) or 1.0
        # keep the query's total weight, so scores stay comparable with the confidence ceiling
        mixed = {t: (1 - c.rm3_weight) * w for t, w in weights.items()}
        for t, v in expansion:
            mixed[t] = mixed.get(t, 0.0) + c.rm3_weight * total_q * v / total_e
        return self._score(mixed)

    def search(self, query: str, k: int = 10, boost: np.ndarray | None = None) -> list[Hit]:
        if not self.n:
            return []
        ranked = self.rank(query)
        scores, ceiling = ranked.scores, ranked.ceiling or 1.0
        lexical = ranked.lexical if ranked.lexical is not None else scores
        prior = self.feedback
        if prior.by_query or prior.entry.any():
            scores = scores + prior.entry * (scores > 0)
            factors = prior.by_query.get(query_hash(query))
            if factors:
                scores = scores.copy()
                for i, f in factors.items():
                    scores[i] *= f
        if boost is not None:
            scores = scores * boost
        k = min(k, self.n)
        if self._second is not None and self.config.rerank_weights:
            top = self._second_stage(query, ranked, scores)[:k]
        else:
            top = np.argpartition(-scores, k - 1)[:k] if k < self.n else np.arange(self.n)
            top = top[np.argsort(-scores[top], kind="stable")]
        return [
            Hit(self.ids[i], float(scores[i]), self.entries[i].question,
                max(0.0, min(1.0, float(lexical[i]) / ceiling)), ranked.missing > 0)
            for i in top
            if scores[i] > 0
        ]

    def search_foreign(self, query: str, lang: str, k: int = 10, boost: np.ndarray | None = None) -> list[Hit]:
        """A question in ``lang`` (not Japanese): its translations' index and the glossary route into the Japanese
        entries, merged by confidence (the higher of the two routes per entry)."""
        best: dict[int, float] = {}
        novel = True  # until a route understood every word
        foreign = self.foreign.get(lang)
        if foreign is not None:
            found, unknown = foreign.search(query)
            novel = unknown > 0
            for pos, _, confidence in found[: k * 2]:
                best[pos] = confidence
        route = glossary(lang)
        if route is not None:
            japanese, coverage = route.translate(query)
            if japanese:
                hits = self.search(japanese, k * 2, boost)
                novel = novel and coverage < 1.0  # the glossary offers synonyms; some may be absent
                for hit in hits:
                    pos = self._pos[hit.id]
                    best[pos] = max(best.get(pos, 0.0), hit.confidence * coverage)
        ranked = sorted(best.items(), key=lambda item: -item[1])[:k]
        return [Hit(self.ids[i], c, self.entries[i].question, c, novel) for i, c in ranked if c > 0]

    def topic_boost(self, topic: str | None, factor: float = 1.15) -> np.ndarray | None:
        """The NLU's FAQ-topic label (e.g. 「子育て・保育」) as a prior: entries whose 分類 or keywords share a word
        with it (substring either way, after normalisation: 税 ~ 税金) rank a little higher. Never excludes."""
        if not topic:
            return None
        words = [w for w in re.split(r"[・/／、,，\s]+", normalize(topic)) if w]
        if not words:
            return None
        boost = np.ones(self.n, dtype=np.float32)
        for i, parts in enumerate(self.meta_parts):
            if any(w in p or (len(p) > 1 and p in w) for w in words for p in parts):
                boost[i] = factor
        return boost

    def entry(self, entry_id: str) -> FaqEntry | None:
        i = self._pos.get(entry_id)
        return None if i is None else self.entries[i]


SECOND_STAGE_FIELDS = ("q", "a", "c", "biq", "pq", "pa")


def _second_stage_bags(d: _Doc) -> dict[str, Bag]:
    """The second stage's fields of one entry (cached on the entry's analysis, so once per entry version)."""
    if d.bags is None:
        question = d.q + d.x
        d.bags = {
            "q": Bag.of(question), "a": Bag.of(d.a), "c": Bag.of(d.c),
            "biq": Bag.of([g for text in (d.entry.question, *d.entry.alternatives) for g in char_bigrams(text)]),
            "pq": Bag.of(adjacent_pairs(question)), "pa": Bag.of(adjacent_pairs(d.a)),
        }
    return d.bags


class _SecondStage:
    """Per-field indexes the learned ranker's features read (faq.rerank), built with the snapshot."""

    def __init__(self, docs: list[_Doc]) -> None:
        bags = [_second_stage_bags(d) for d in docs]
        fields = {f: FieldBM25([b[f] for b in bags]) for f in SECOND_STAGE_FIELDS}
        self.q, self.a, self.c = fields["q"], fields["a"], fields["c"]
        self.biq, self.pq, self.pa = fields["biq"], fields["pq"], fields["pa"]
        self.q_len = np.log1p(np.array([len(d.q) for d in docs], dtype=np.float32))
        self.a_len = np.log1p(np.array([len(d.a) for d in docs], dtype=np.float32))


def _latent_terms(doc: _Doc) -> Counter[str]:
    """An entry as the latent space sees it: question counted twice, keywords, answer."""
    return Counter(doc.q + doc.q + doc.x + doc.k + doc.a)


@dataclass(frozen=True)
class LatentSpace:
    """A latent semantic space learned from one tenant's entries: one vector per term (right singular vectors of
    the idf-weighted term × entry matrix). Entries and queries are placed in it by folding in their terms."""

    terms: dict[str, int]
    vectors: np.ndarray  # terms × dims, float32
    keys: frozenset  # (id, version) of the entries it was learned from

    def fold(self, counts: Counter[str], idf: dict[str, float]) -> np.ndarray | None:
        rows, weights = [], []
        for t, tf in counts.items():
            j = self.terms.get(t)
            if j is not None and t in idf:
                rows.append(j)
                weights.append((1 + math.log(tf)) * idf[t])
        if not rows:
            return None
        v = np.asarray(weights, dtype=np.float32) @ self.vectors[np.asarray(rows)]
        norm = float(np.linalg.norm(v))
        return v / norm if norm else None


def learn_latent_space(docs: list[_Doc], idf: dict[str, float], k: int, keys: frozenset) -> LatentSpace | None:
    """Truncated SVD of the idf-weighted term × entry matrix, by subspace iteration on the entry Gram matrix.

    Costs ~n² × k × 8 flops for n entries (about a second for 1,800 entries on a busy core) and runs in the build
    thread; no file, nothing downloaded. Deterministic (fixed seed) so the web and worker processes rank alike.
    """
    n = len(docs)
    if k < 2:
        return None
    cols: dict[str, tuple[list[int], list[float]]] = {}
    for i, d in enumerate(docs):
        for t, tf in _latent_terms(d).items():
            weight = idf.get(t)
            if weight is None or t[0] in "#§":
                continue
            entry = cols.setdefault(t, ([], []))
            entry[0].append(i)
            entry[1].append((1 + math.log(tf)) * weight)
    if not cols:
        return None
    terms = list(cols)
    postings = [(np.array(cols[t][0], dtype=np.int64), np.array(cols[t][1], dtype=np.float32)) for t in terms]
    gram = np.zeros((n, n), dtype=np.float32)
    diagonal = np.zeros(n, dtype=np.float32)
    for idx, val in postings:
        if len(idx) == 1:  # most terms occur in one entry: they only add to the diagonal
            diagonal[idx[0]] += val[0] * val[0]
        else:
            gram[np.ix_(idx, idx)] += np.outer(val, val)
    gram[np.diag_indices(n)] += diagonal
    rng = np.random.default_rng(0)
    basis = _orthonormal(gram @ rng.standard_normal((n, min(n, k + 10))).astype(np.float32))
    for _ in range(3):
        basis = _orthonormal(gram @ basis)
    if basis.shape[1] < 2:
        return None
    eigval, eigvec = np.linalg.eigh((basis.T @ gram @ basis).astype(np.float64))
    order = [i for i in np.argsort(-eigval)[:k] if eigval[i] > 1e-9 * max(float(eigval.max()), 1e-30)]
    if len(order) < 2:
        return None
    sing = np.sqrt(eigval[order]).astype(np.float32)
    left = (basis @ eigvec[:, order]).astype(np.float32)  # n × k: the entries' left singular vectors
    vectors = np.zeros((len(terms), len(order)), dtype=np.float32)
    for j, (idx, val) in enumerate(postings):
        vectors[j] = val @ left[idx] / sing
    if not np.isfinite(vectors).all():
        raise ValueError("non-finite latent vectors")
    return LatentSpace({t: j for j, t in enumerate(terms)}, vectors, keys)


def learn_associations(docs: list[_Doc], idf: dict[str, float], per_term: int) -> dict[str, list[tuple[str, float]]]:
    """Query-term → entry-term associations learned from the corpus's own question/answer pairs.

    A resident's words resemble the city's questions, the entry's vocabulary lives in its answer: for each question
    term t we collect the answer terms of the entries whose question contains t, weighted by idf and normalised by
    how common the answer term is overall (a PMI-like lift). Unsupervised: no dev queries involved.
    """
    n = len(docs)
    a_df: Counter[str] = Counter()
    for d in docs:
        a_df.update(set(d.a) | set(d.k))
    by_q: dict[str, Counter[str]] = {}
    q_df: Counter[str] = Counter()
    for d in docs:
        qs = set(d.q)
        ans = Counter(d.a + d.k)
        length = sum(ans.values()) or 1
        for t in qs:
            q_df[t] += 1
            acc = by_q.setdefault(t, Counter())
            for u, tf in ans.items():
                if u not in qs:
                    acc[u] += tf / length
    out: dict[str, list[tuple[str, float]]] = {}
    for t, acc in by_q.items():
        if q_df[t] < 2 or q_df[t] > n * 0.2:
            continue
        scored = []
        for u, s in acc.items():
            lift = (s / q_df[t]) / (a_df[u] / n)
            if a_df[u] >= 2 and lift > 1:
                scored.append((u, s / q_df[t] * math.log(lift) * idf.get(u, 0.0)))
        scored.sort(key=lambda x: -x[1])
        out[t] = scored[:per_term]
    return out


def analyse(entry: FaqEntry, analyzer: Analyzer) -> _Doc:
    q, q_syn = analyzer.analyze(entry.question)
    k, k_syn = analyzer.analyze(" ".join([*entry.keywords, entry.category]))
    x = [t for alternative in entry.alternatives for t in analyzer.terms(alternative)]
    return _Doc(entry, q, k, analyzer.terms(entry.answer), " ".join(q_syn + k_syn).split(), x)


def build_index(
    entries: Iterable[FaqEntry],
    analyzer: Analyzer,
    config: RankerConfig | None = None,
    feedback: Iterable[FaqFeedback] = (),
    revision: int = 0,
    cache: dict[tuple[str, int], _Doc] | None = None,
    vectors: WordVectors | None = None,
    previous: FaqIndex | None = None,
) -> FaqIndex:
    docs = []
    for e in entries:
        key = (e.id, e.version)
        doc = cache.get(key) if cache is not None else None
        if doc is None or doc.entry.content() != e.content():
            doc = analyse(e, analyzer)
            if cache is not None:
                cache[key] = doc
        docs.append(doc)
    if cache is not None:
        live = {(e.id, e.version) for e in (d.entry for d in docs)}
        for key in [k for k in cache if k not in live]:
            del cache[key]
    return FaqIndex(docs, analyzer, config or RankerConfig(), feedback, revision, vectors, previous)


@dataclass
class _Slot:
    index: FaqIndex | None = None
    building: asyncio.Task | None = None
    cache: dict = field(default_factory=dict)
    checked_at: float = 0.0
    feedback_at: float = 0.0


class LiveIndex:
    """The search door: one snapshot per tenant, rebuilt when ``store.revision(tenant)`` moves.

    Every search reads the revision (one Redis GET) unless it was read less than ``check_interval`` seconds ago, so
    an edit in any process is seen by the next search. The rebuild runs in a worker thread; concurrent searches
    wait for the same build (never two builds at once), and a failing build keeps the old snapshot.
    """

    def __init__(
        self,
        store: FaqStore,
        analyzer: Analyzer | None = None,
        config: RankerConfig | None = None,
        check_interval: float = 0.0,
        feedback_refresh: float = 60.0,
        feedback_limit: int = 20_000,
        vectors: WordVectors | None = None,
    ) -> None:
        self.vectors = vectors  # optional (faq.vectors.load_ginza_vectors()); shared read-only by all tenants
        self.store = store
        self.analyzer = analyzer or Analyzer()
        self.config = config or RankerConfig()
        self.check_interval = check_interval
        self.feedback_refresh = feedback_refresh  # votes reach the ranking within this many seconds
        self.feedback_limit = feedback_limit
        self._slots: dict[str, _Slot] = {}

    async def index(self, tenant: str) -> FaqIndex:
        slot = self._slots.setdefault(tenant, _Slot())
        now = time.monotonic()
        if slot.index is not None and now - slot.checked_at < self.check_interval and slot.building is None:
            return slot.index
        revision = await self.store.revision(tenant)
        slot.checked_at = now
        while slot.index is None or slot.index.revision < revision:
            if slot.building is None or slot.building.done():
                slot.building = asyncio.ensure_future(self._build(tenant, slot, revision))
            try:
                await asyncio.shield(slot.building)
            except Exception:
                log.exception("faq index build failed", extra={"tenant": tenant, "revision": revision})
                if slot.index is not None:
                    return slot.index  # keep serving the old snapshot
                raise
        if self.config.feedback_weight and now - slot.feedback_at >= self.feedback_refresh:
            slot.feedback_at = now
            index = slot.index
            records = await self.store.feedback(tenant, self.feedback_limit)
            index.feedback = FeedbackPrior.from_records(records, index._pos, self.config)
        return slot.index

    async def _build(self, tenant: str, slot: _Slot, revision: int) -> FaqIndex:
        started = time.monotonic()
        try:
            entries = await self.store.all(tenant)
            feedback = await self.store.feedback(tenant, self.feedback_limit) if self.config.feedback_weight else []
            slot.feedback_at = time.monotonic()
            index = await asyncio.to_thread(
                build_index, entries, self.analyzer, self.config, feedback, revision, slot.cache, self.vectors,
                slot.index,
            )
            if slot.index is None or slot.index.revision <= revision:
                slot.index = index  # the swap: one assignment
            log.info("faq index built", extra={"tenant": tenant, "revision": revision, "entries": index.n,
                                                "seconds": round(time.monotonic() - started, 3)})
            return index
        finally:
            slot.building = None

    async def search(
        self, tenant: str, query: str, k: int = 10, topic: str | None = None, lang: str = "ja"
    ) -> list[Hit]:
        """``lang``: the language the question is written in (``faq.lang.detect_language``); Japanese by default."""
        index = await self.index(tenant)
        if lang.startswith("ja"):
            return index.search(query, k, index.topic_boost(topic))
        return index.search_foreign(query, lang, k, index.topic_boost(topic))

    async def entry(self, tenant: str, entry_id: str) -> FaqEntry | None:
        return (await self.index(tenant)).entry(entry_id)
