"""The item-search evaluation set is frozen and separate from every synonym and training file.

``garbage/eval/questions.tsv`` was written by a colleague from the data files only, before the search was built,
and measured once (top-1 in the report of issue 20). It must not change (its SHA-256 is pinned here), and none of
its questions may appear in the data the search or the NLU learn from: the common-name lexicon
(``garbage/lexicon.tsv``) and the NLU training files (``nlu/data``).
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

from nlu.rasa_components.textfold import fold

REPO = Path(__file__).resolve().parents[3]
EVAL = REPO / "garbage" / "eval" / "questions.tsv"
SHA256 = "71f3507804b3d4f55b823ee9837c086ba83882cad43b2c8bc3001d1c56c24744"
QUESTION_COLUMN = "question"


def _norm(text: str) -> str:
    return re.sub(r"[\s?？!！。、,.「」]", "", fold(text))


def _questions() -> list[str]:
    with EVAL.open(encoding="utf-8") as f:
        return [row[QUESTION_COLUMN] for row in csv.DictReader(f, delimiter="\t")]


def test_eval_set_is_frozen():
    assert hashlib.sha256(EVAL.read_bytes()).hexdigest() == SHA256
    assert len(_questions()) >= 200


def test_eval_questions_are_in_no_synonym_or_training_data():
    lexicon = REPO / "garbage" / "lexicon.tsv"
    entries = {
        _norm(part)
        for line in lexicon.read_text(encoding="utf-8").splitlines()
        if not line.startswith("#")
        for part in line.split("\t")
        if part.strip()
    }
    training = {
        _norm(re.sub(r"^\s*-\s*", "", line))
        for path in sorted((REPO / "nlu" / "data").rglob("*.yml"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("- ")
    }
    overlap = [q for q in _questions() if _norm(q) in entries or _norm(q) in training]
    assert overlap == []
