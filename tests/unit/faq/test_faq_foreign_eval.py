"""The frozen evaluation of the cross-language route (bench/faq_foreign.py): the test set is the file a colleague
wrote without seeing the code, unchanged; nothing the route is built from (glossaries, the dev set) contains its
questions."""

from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from collections import Counter
from pathlib import Path

from faq.demo import SAMPLE
from faq.io import parse_bytes

REPO = Path(__file__).resolve().parents[3]
EVAL = REPO / "faq" / "eval"
TEST = EVAL / "foreign_test.tsv"
DEV = EVAL / "foreign_dev.tsv"
GLOSSARIES = REPO / "faq" / "glossary"
# copied unchanged from /work/evalsets/faq-foreign/test.tsv on 2026-12-01 (written against faq/sample/demo_faq.csv)
TEST_SHA256 = "3a3debde95f51a684fa05e5b4f2e702a49a5b303979bc9e80a8a8be0d466229a"


def rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]


def fold(text: str) -> str:
    return re.sub(r"[\W_]+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()


def test_the_test_set_is_the_colleagues_file_unchanged():
    assert hashlib.sha256(TEST.read_bytes()).hexdigest() == TEST_SHA256
    body = rows(TEST)
    assert Counter(r[0] for r in body) == {"en": 40, "zh-Hans": 30, "ko": 30, "vi": 30}
    ids = {e.id for e in parse_bytes(SAMPLE.read_bytes(), "demo").entries}
    assert all(len(r) == 3 and r[1].strip() and r[2] in ids for r in body)


def test_no_test_question_is_in_a_glossary_or_the_dev_set():
    questions = {fold(r[1]) for r in rows(TEST)}
    for path in sorted(GLOSSARIES.glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            source = fold(line.partition("\t")[0])
            if line.startswith("#") or not source:
                continue
            assert source not in questions, (path.name, source)  # a whole question as a glossary phrase
            assert not any(len(q) > 12 and q in fold(line) for q in questions), (path.name, source)  # or in a line
    dev = [fold(r[1]) for r in rows(DEV)]
    assert dev and [q for q in dev if q in questions] == []  # reports dev questions only, never test ones
