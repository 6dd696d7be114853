"""Word vectors read from a spaCy vocab directory without spaCy: hashing, the key2row format, and their use."""

from __future__ import annotations

import struct

import numpy as np

from faq.index import FaqIndex, RankerConfig, analyse
from faq.models import FaqEntry
from faq.text import Analyzer
from faq.vectors import WordVectors, _read_key2row, spacy_hash


def test_hash_matches_spacy():
    # Values whose rows were found in ja_ginza 5.3.0's key2row (i.e. spaCy computed the same hashes).
    assert spacy_hash("蜂") == 2162568562652741618
    assert spacy_hash("雀蜂") == 8377331965906514667
    assert spacy_hash("ごみ") == 15436252878331833439


def test_key2row_reader_handles_spacy_int_encodings():
    items = [(1, 5), (2**63 + 7, 300), (70000, 2**20), (2**40, 0)]
    body = b""
    for key, row in items:
        body += b"\xcf" + struct.pack(">Q", key) if key > 2**32 else b"\xce" + struct.pack(">I", key)
        body += bytes([row]) if row < 128 else (b"\xcd" + struct.pack(">H", row) if row < 2**16
                                                 else b"\xce" + struct.pack(">I", row))
    assert _read_key2row(b"\x84" + body) == dict(items)
    assert _read_key2row(b"\xdf" + struct.pack(">I", 4) + body) == dict(items)


def write_vocab(tmp_path, words: dict[str, list[float]]):
    vocab = tmp_path / "vocab"
    vocab.mkdir()
    rows = list(words)
    body = b"\xdf" + struct.pack(">I", len(rows))
    for i, w in enumerate(rows):
        body += b"\xcf" + struct.pack(">Q", spacy_hash(w)) + bytes([i])
    (vocab / "key2row").write_bytes(body)
    with open(vocab / "vectors", "wb") as f:  # spaCy writes the .npy format to a file named "vectors"
        np.save(f, np.array([words[w] for w in rows], dtype=np.float32))
    return vocab


def test_vectors_bridge_a_vocabulary_gap(tmp_path):
    vocab = write_vocab(tmp_path, {
        "シングル": [1, 0, 0], "一人": [0.95, 0.1, 0], "マザー": [0, 1, 0], "母子": [0.1, 0.95, 0], "家庭": [0, 0.3, 1],
        "登録": [0, 0, -1], "犬": [-1, 0, 0]})
    vectors = WordVectors.from_spacy_vocab(vocab)
    assert vectors.row("しんぐる") == 0  # kana-folded terms find their katakana key
    analyzer = Analyzer()
    entries = [FaqEntry("t", "hitori", "ひとり親家庭の支援", "母子家庭・父子家庭の制度です。"),
               FaqEntry("t", "dog", "犬の登録", "保健所で登録します。")]
    docs = [analyse(e, analyzer) for e in entries]
    query = "シングルマザーの支援制度"
    plain = FaqIndex(docs, analyzer, RankerConfig())
    with_vectors = FaqIndex(docs, analyzer, RankerConfig(), vectors=vectors)
    hit = with_vectors.search(query)[0]
    assert hit.id == "hitori"
    assert hit.score > plain.search(query)[0].score
    assert with_vectors.search("犬の登録")[0].id == "dog"
