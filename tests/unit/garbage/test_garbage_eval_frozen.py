"""The item-search evaluation sets are frozen and separate from every synonym and training file, and from each other.

``garbage/eval/questions.tsv`` (the test set) was written by a colleague from the data files only, before the search
was built, and measured once (top-1 in the report of issue 20). It must not change (its SHA-256 is pinned here), and
none of its questions may appear in the data the search or the NLU learn from: the common-name lexicon
(``garbage/lexicon.tsv``), the English glossary (``garbage/glossary_en.tsv``) and the NLU training files
(``nlu/data``). ``garbage/eval/dev.tsv`` (the tuning set, written by a second colleague) has no question in the synonym files and
shares none with the test set. Failures give counts only: the test set's questions are never printed.
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import pytest

from nlu.rasa_components.textfold import fold

REPO = Path(__file__).resolve().parents[3]
EVAL = REPO / "garbage" / "eval" / "questions.tsv"
DEV = REPO / "garbage" / "eval" / "dev.tsv"
SHA256 = "71f3507804b3d4f55b823ee9837c086ba83882cad43b2c8bc3001d1c56c24744"
QUESTION_COLUMN = "question"


def _norm(text: str) -> str:
    return re.sub(r"[\s?？!！。、,.「」]", "", fold(text))


def _questions(path: Path = EVAL) -> list[str]:
    with path.open(encoding="utf-8") as f:
        return [row[QUESTION_COLUMN] for row in csv.DictReader(f, delimiter="\t")]


def _synonyms() -> set[str]:
    """Every entry of the search's synonym files (lexicon, English glossary), normalized."""
    return {
        _norm(part)
        for name in ("lexicon.tsv", "glossary_en.tsv")
        for line in (REPO / "garbage" / name).read_text(encoding="utf-8").splitlines()
        if not line.startswith("#")
        for part in line.split("\t")
        if part.strip()
    }


def _learned_from() -> set[str]:
    """Every synonym entry and every NLU training example, normalized."""
    training = {
        _norm(re.sub(r"^\s*-\s*", "", line))
        for path in sorted((REPO / "nlu" / "data").rglob("*.yml"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("- ")
    }
    return _synonyms() | training


def test_eval_set_is_frozen():
    assert hashlib.sha256(EVAL.read_bytes()).hexdigest() == SHA256
    assert len(_questions()) >= 200


def test_eval_questions_are_in_no_synonym_or_training_data():
    learned = _learned_from()
    overlap = sum(1 for q in _questions() if _norm(q) in learned)
    assert overlap == 0, f"{overlap} test-set questions appear in the lexicon, glossary or NLU training data"


@pytest.mark.xfail(
    strict=True,
    reason="known defect: 1 dev question equals (normalized) a test-set question as the two colleagues wrote them; "
    "the lead decides which set drops it (the sets are copied unchanged)",
)
def test_dev_set_shares_no_question_with_the_test_set():
    test = {_norm(q) for q in _questions()}
    shared = sum(1 for q in _questions(DEV) if _norm(q) in test)
    assert shared == 0, f"{shared} dev questions are also in the test set"


def test_dev_questions_are_in_no_synonym_file():
    """Synonyms are written from knowledge of the language, not copied from dev (dev and the NLU training data
    are both data tuned on, so they may share a question)."""
    dev = _questions(DEV)
    assert len(dev) >= 200
    synonyms = _synonyms()
    assert [q for q in dev if _norm(q) in synonyms] == []  # dev questions may be printed
