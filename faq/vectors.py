"""Word vectors from a spaCy vocab directory (ja-ginza ships chiVe-derived 300-d vectors, MIT licence) without spaCy.

Residents say シングルマザー, the city writes ひとり親/母子家庭: word vectors bridge such gaps (query expansion with
near neighbours from the tenant's own vocabulary, plus an embedding similarity fused into the score). We read only
three files of the package (``vocab/key2row``, ``vocab/vectors``) because importing spaCy/GiNZA would pin
SudachiPy < 0.7 and pull ~200 MB; the package is installed with ``pip install --no-deps ja-ginza==5.3.0`` and is
optional: without it the ranker runs lexical-only.
"""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import numpy as np

_MASK = (1 << 64) - 1
_M = 0xC6A4A7935BD1E995


def spacy_hash(text: str) -> int:
    """spaCy's ``hash_string``: MurmurHash64A of the UTF-8 bytes, seed 1."""
    data = text.encode("utf-8")
    h = (1 ^ (len(data) * _M)) & _MASK
    n = len(data) // 8
    for i in range(n):
        k = int.from_bytes(data[8 * i : 8 * i + 8], "little")
        k = (k * _M) & _MASK
        k ^= k >> 47
        k = (k * _M) & _MASK
        h ^= k
        h = (h * _M) & _MASK
    tail = data[n * 8 :]
    if tail:
        for i in range(len(tail) - 1, -1, -1):
            h ^= tail[i] << (8 * i)
        h = (h * _M) & _MASK
    h ^= h >> 47
    h = (h * _M) & _MASK
    h ^= h >> 47
    return h


def _read_key2row(data: bytes) -> dict[int, int]:
    """spaCy's key2row file: one msgpack map uint64 → int. Only the encodings spaCy writes are accepted."""
    if not data:
        return {}
    tag = data[0]
    if 0x80 <= tag <= 0x8F:
        count, pos = tag & 0x0F, 1
    elif tag == 0xDE:
        count, pos = struct.unpack_from(">H", data, 1)[0], 3
    elif tag == 0xDF:
        count, pos = struct.unpack_from(">I", data, 1)[0], 5
    else:
        raise ValueError("key2row is not a msgpack map")

    def read_int(pos: int) -> tuple[int, int]:
        t = data[pos]
        if t <= 0x7F:
            return t, pos + 1
        size = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}.get(t)
        if size is None:
            raise ValueError(f"unexpected msgpack type 0x{t:02x} in key2row")
        return int.from_bytes(data[pos + 1 : pos + 1 + size], "big"), pos + 1 + size

    out: dict[int, int] = {}
    for _ in range(count):
        key, pos = read_int(pos)
        row, pos = read_int(pos)
        out[key] = row
    return out


def _katakana(term: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in term)


class WordVectors:
    """Unit-length vectors looked up by term (our terms are kana-folded, so the katakana spelling is tried too)."""

    def __init__(self, key2row: dict[int, int], vectors: np.ndarray) -> None:
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors = (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)
        self.key2row = key2row
        self.dim = vectors.shape[1]
        self._rows: dict[str, int | None] = {}  # term → row memo (hashing in Python is the slow part of a rebuild)

    @classmethod
    def from_spacy_vocab(cls, vocab_dir: Path) -> WordVectors:
        key2row = _read_key2row((vocab_dir / "key2row").read_bytes())
        vectors = np.load(vocab_dir / "vectors", allow_pickle=False)
        return cls(key2row, vectors)

    def row(self, term: str) -> int | None:
        if term in self._rows:
            return self._rows[term]
        row = self.key2row.get(spacy_hash(term))
        if row is None:
            kata = _katakana(term)
            if kata != term:
                row = self.key2row.get(spacy_hash(kata))
        if len(self._rows) < 500_000:  # bounded: residents' typos must not grow it forever
            self._rows[term] = row
        return row

    def vector(self, term: str) -> np.ndarray | None:
        row = self.row(term)
        return None if row is None else self.vectors[row]


def find_ginza_vocab() -> Path | None:
    """The vocab directory of an installed ``ja_ginza`` package (found without importing it), or None."""
    spec = importlib.util.find_spec("ja_ginza")
    if spec is None or not spec.submodule_search_locations:
        return None
    for base in spec.submodule_search_locations:
        for vocab in sorted(Path(base).glob("ja_ginza-*/vocab")):
            if (vocab / "key2row").exists() and (vocab / "vectors").exists():
                return vocab
    return None


def load_ginza_vectors() -> WordVectors | None:
    vocab = find_ginza_vocab()
    return None if vocab is None else WordVectors.from_spacy_vocab(vocab)
