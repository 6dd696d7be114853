"""The statistical crisis detector: hashed character n-grams + Sudachi word features → linear models.

Why: the reviewed lexicon is precise but only knows the phrasings someone wrote down; fresh phrasings were missed
(the closing note of the last turn: 41/52 and 26/41 on new sets). A linear model over character n-grams of the
folded text and Sudachi normalized forms generalises to unseen wording and to other scripts, costs well under a
millisecond, and needs nothing but numpy at run time (no downloads, no Rasa). It is one of several detectors that
``nlu/risk.py`` combines; on its own it never decides that a message is *not* dangerous.

Three heads share one feature space: ``risk`` (crisis or concern vs none), ``crisis`` (clear danger vs the rest) and
``category`` (one of the eight categories, trained on risky messages only). Weights are trained by
``python -m nlu.crisis_train`` from ``nlu/crisis_training/`` and stored in ``nlu/crisis_model.npz`` together with the
SHA-256 of the training files, so a test can tell when the shipped weights are stale.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlu.crisis_intl import bare_view, latin_view
from nlu.crisis_variants import slang_fold
from nlu.normalize import JapaneseAnalyzer
from nlu.rasa_components.textfold import fold, strip_noise

MODEL_PATH = Path(__file__).resolve().parent / "crisis_model.npz"
N_FEATURES = 1 << 18
JA_NGRAMS = (2, 3)  # unigrams of kana/kanji were noise (set A: everyday alarms 2.7 % → 1.4 % at equal recall)
CATEGORIES: tuple[str, ...] = (
    "suicide", "self_harm", "dv", "child_abuse", "elder_abuse", "sexual_violence", "stalking", "danger",
)
_JA_CHARS = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def _h(feature: str) -> int:
    return zlib.crc32(feature.encode("utf-8")) & (N_FEATURES - 1)


def char_ngrams(text: str, lo: int, hi: int, prefix: str) -> Iterable[str]:
    padded = f"^{text}$"
    for n in range(lo, hi + 1):
        for i in range(len(padded) - n + 1):
            yield f"{prefix}{padded[i:i + n]}"


@dataclass(frozen=True)
class Analysis:
    """One message analysed once and shared by every detector (Sudachi is the expensive part)."""

    text: str
    surface: str  # NFKC, lower, hiragana, noise and long vowels removed, slang folded
    normalized: tuple[str, ...]  # Sudachi normalized forms (empty for text without Japanese)
    japanese: bool


def analyse(text: str, analyzer: JapaneseAnalyzer) -> Analysis:
    japanese = bool(_JA_CHARS.search(text))
    surface = slang_fold(strip_noise(fold(text)))
    normalized = tuple(m.normalized for m in analyzer.morphemes(text)) if japanese else ()
    return Analysis(text=text, surface=surface, normalized=normalized, japanese=japanese)


def features(a: Analysis) -> dict[int, float]:
    """Hashed, L2-normalised feature vector of an analysed message."""
    feats: list[str] = []
    if a.japanese:
        feats += char_ngrams(a.surface, JA_NGRAMS[0], JA_NGRAMS[1], "c")
        words = [w for w in a.normalized if w.strip()]
        feats += (f"w{w}" for w in words)
        feats += (f"b{x}|{y}" for x, y in zip(words, words[1:], strict=False))
    else:
        latin = latin_view(a.text)
        bare = bare_view(latin)
        for view in dict.fromkeys((latin, bare)):
            feats += char_ngrams(view, 2, 4, "l")
        words = _WORD.findall(bare)
        feats += (f"v{w}" for w in words)
        feats += (f"p{x}|{y}" for x, y in zip(words, words[1:], strict=False))
        feats += char_ngrams(a.surface, 1, 2, "c")  # CJK/Hangul/Devanagari characters
    vec: dict[int, float] = {}
    for f in feats:
        i = _h(f)
        vec[i] = vec.get(i, 0.0) + 1.0
    norm = float(np.sqrt(sum(v * v for v in vec.values()))) or 1.0
    return {i: v / norm for i, v in vec.items()}


@dataclass(frozen=True)
class ModelScores:
    risk: float  # P(crisis or concern)
    crisis: float  # P(crisis)
    category: str
    category_p: float


class CrisisModel:
    """Linear heads over the hashed features; pure numpy at run time."""

    def __init__(self, path: Path = MODEL_PATH) -> None:
        data = np.load(path, allow_pickle=False)
        self.weights: np.ndarray = data["weights"].astype(np.float32)  # (N_FEATURES, 2 + len(CATEGORIES))
        self.bias: np.ndarray = data["bias"].astype(np.float32)
        self.training_sha256 = str(data["training_sha256"])
        if self.weights.shape != (N_FEATURES, 2 + len(CATEGORIES)):
            raise ValueError(f"{path}: unexpected weight shape {self.weights.shape}")

    def score(self, a: Analysis) -> ModelScores:
        vec = features(a)
        idx = np.fromiter(vec.keys(), dtype=np.int64, count=len(vec))
        val = np.fromiter(vec.values(), dtype=np.float32, count=len(vec))
        z = val @ self.weights[idx] + self.bias
        risk, crisis = 1.0 / (1.0 + np.exp(-z[:2]))
        logits = z[2:]
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        best = int(probs.argmax())
        return ModelScores(float(risk), float(crisis), CATEGORIES[best], float(probs[best]))


def sparse_rows(vectors: Sequence[dict[int, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR parts (data, indices, indptr) for training with scipy/scikit-learn."""
    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    for v in vectors:
        indices += v.keys()
        data += v.values()
        indptr.append(len(indices))
    return np.array(data, dtype=np.float32), np.array(indices, dtype=np.int64), np.array(indptr, dtype=np.int64)


def training_digest(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        h.update(unicodedata.normalize("NFC", p.read_text(encoding="utf-8")).encode())
    return h.hexdigest()
