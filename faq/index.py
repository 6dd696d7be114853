"""Per-tenant FAQ search index: BM25F over Sudachi terms, RM3 feedback, learned term associations, feedback prior.

``FaqIndex`` is an immutable snapshot built from a list of entries; ``LiveIndex`` keeps one snapshot per tenant and
swaps in a new one when the store's revision moves (built beside the old one, swapped by one assignment: searches in
flight finish on the old snapshot, none fail). Term lists are cached by (id, version) so a one-entry edit re-analyses
one entry, not the corpus.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from faq.models import FaqEntry
from faq.store import FaqStore
from faq.text import Analyzer


@dataclass(frozen=True)
class RankerConfig:
    """Ranking knobs. Defaults are the values chosen on pseudo-queries (see bench/faq_localgovfaq.py)."""

    k1: float = 1.2
    b: float = 0.75
    w_question: float = 3.0
    w_keywords: float = 2.0
    w_answer: float = 1.0
    rm3_docs: int = 0  # 0 = RM3 off
    rm3_terms: int = 10
    rm3_weight: float = 0.3  # share of the expansion in the final query
    assoc_terms: int = 0  # learned query-term → entry-term associations per query term (0 = off)
    assoc_weight: float = 0.3
    feedback_weight: float = 0.0  # 👍/👎 prior, in BM25 score units per log-odds


@dataclass
class Hit:
    id: str
    score: float
    question: str
    confidence: float = 0.0  # score / the best score this query could reach in this index (0..1)


@dataclass
class _Doc:
    entry: FaqEntry
    q: list[str]
    k: list[str]
    a: list[str]


class FaqIndex:
    def __init__(
        self,
        docs: list[_Doc],
        analyzer: Analyzer,
        config: RankerConfig,
        feedback: dict[str, tuple[int, int]] | None = None,
        revision: int = 0,
    ) -> None:
        self.analyzer = analyzer
        self.config = config
        self.revision = revision
        self.entries = [d.entry for d in docs]
        self.ids = [d.entry.id for d in docs]
        self._pos = {eid: i for i, eid in enumerate(self.ids)}
        self.meta_terms = [frozenset(d.k) for d in docs]
        self._ceiling = 0.0
        self._missing = 0
        self._last_weights: dict[str, float] = {}
        n = len(docs)
        self.n = n
        c = config
        fields = (("q", c.w_question), ("k", c.w_keywords), ("a", c.w_answer))
        avg = {f: (sum(len(getattr(d, f)) for d in docs) / n if n else 1.0) or 1.0 for f, _ in fields}
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
        self.prior = np.zeros(n, dtype=np.float32)
        if feedback and c.feedback_weight:
            for eid, (up, down) in feedback.items():
                if eid in self._pos:
                    self.prior[self._pos[eid]] = c.feedback_weight * math.log((up + 1) / (down + 1))
        self.assoc: dict[str, list[tuple[str, float]]] = {}
        if c.assoc_terms:
            self.assoc = learn_associations(docs, self.idf, c.assoc_terms)

    # -- scoring -------------------------------------------------------------------------------------------------
    def _score(self, weights: dict[str, float]) -> np.ndarray:
        scores = np.zeros(self.n, dtype=np.float32)
        for t, w in weights.items():
            p = self.postings.get(t)
            if p is not None:
                scores[p[0]] += w * p[1]
        self._ceiling = sum(w * self.best.get(t, 0.0) for t, w in weights.items())
        self._last_weights = weights
        return scores

    def query_weights(self, query: str) -> dict[str, float]:
        terms = self.analyzer.terms(query)
        weights = {t: float(n) for t, n in Counter(terms).items() if t in self.postings}
        # Words the FAQ never uses still count against confidence ("宇宙旅行の予約" is not a 予約 question).
        self._missing = sum(1 for t in terms if t not in self.postings)
        c = self.config
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
        return weights

    def scores(self, query: str) -> np.ndarray:
        if not self.n:
            return np.zeros(0, dtype=np.float32)
        weights = self.query_weights(query)
        if not weights:
            return np.zeros(self.n, dtype=np.float32)
        scores = self._score(weights)
        c = self.config
        if c.rm3_docs:
            scores = self._rm3(weights, scores)
        if c.feedback_weight:
            scores = scores + self.prior * (scores > 0)
        return scores

    def _rm3(self, weights: dict[str, float], scores: np.ndarray) -> np.ndarray:
        c = self.config
        top = np.argsort(-scores)[: c.rm3_docs]
        top = top[scores[top] > 0]
        if not len(top):
            return scores
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
        mixed = {t: (1 - c.rm3_weight) * w / total_q for t, w in weights.items()}
        for t, v in expansion:
            mixed[t] = mixed.get(t, 0.0) + c.rm3_weight * v / total_e
        return self._score(mixed)

    def search(self, query: str, k: int = 10, boost: np.ndarray | None = None) -> list[Hit]:
        self._ceiling = 0.0
        self._missing = 0
        scores = self.scores(query)
        if self._ceiling:
            share = sum(self._last_weights.values()) / max(1, len(self._last_weights))
            self._ceiling += self._missing * share * self.best_any * 0.5
        ceiling = self._ceiling or 1.0
        if boost is not None and len(scores):
            scores = scores * boost
        if not len(scores):
            return []
        k = min(k, self.n)
        top = np.argpartition(-scores, k - 1)[:k] if k < self.n else np.arange(self.n)
        top = top[np.argsort(-scores[top], kind="stable")]
        return [
            Hit(self.ids[i], float(scores[i]), self.entries[i].question, min(1.0, float(scores[i]) / ceiling))
            for i in top
            if scores[i] > 0
        ]

    def topic_boost(self, topic: str | None, factor: float = 1.15) -> np.ndarray | None:
        """The NLU's FAQ-topic intent as a prior: entries whose 分類/keywords mention the topic rank a bit higher."""
        if not topic:
            return None
        words = set(self.analyzer.terms(topic.rpartition(".")[2].replace("_", " ")))
        if not words:
            return None
        boost = np.ones(self.n, dtype=np.float32)
        for i, terms in enumerate(self.meta_terms):
            if words & terms:
                boost[i] = factor
        return boost

    def entry(self, entry_id: str) -> FaqEntry | None:
        i = self._pos.get(entry_id)
        return None if i is None else self.entries[i]


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
    return _Doc(
        entry,
        analyzer.terms(entry.question),
        analyzer.terms(" ".join([*entry.keywords, entry.category])),
        analyzer.terms(entry.answer),
    )


def build_index(
    entries: Iterable[FaqEntry],
    analyzer: Analyzer,
    config: RankerConfig | None = None,
    feedback: dict[str, tuple[int, int]] | None = None,
    revision: int = 0,
    cache: dict[tuple[str, int], _Doc] | None = None,
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
    return FaqIndex(docs, analyzer, config or RankerConfig(), feedback, revision)


@dataclass
class _Slot:
    index: FaqIndex | None = None
    building: asyncio.Task | None = None
    cache: dict = field(default_factory=dict)
    checked_at: float = 0.0


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
    ) -> None:
        self.store = store
        self.analyzer = analyzer or Analyzer()
        self.config = config or RankerConfig()
        self.check_interval = check_interval
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
                if slot.index is not None:
                    return slot.index  # keep serving the old snapshot
                raise
        return slot.index

    async def _build(self, tenant: str, slot: _Slot, revision: int) -> FaqIndex:
        try:
            entries = await self.store.all(tenant)
            feedback = await self.store.feedback_counts(tenant) if self.config.feedback_weight else None
            index = await asyncio.to_thread(
                build_index, entries, self.analyzer, self.config, feedback, revision, slot.cache
            )
            if slot.index is None or slot.index.revision <= revision:
                slot.index = index  # the swap: one assignment
            return index
        finally:
            slot.building = None

    async def search(self, tenant: str, query: str, k: int = 10, topic: str | None = None) -> list[Hit]:
        index = await self.index(tenant)
        return index.search(query, k, index.topic_boost(topic))

    async def entry(self, tenant: str, entry_id: str) -> FaqEntry | None:
        return (await self.index(tenant)).entry(entry_id)
