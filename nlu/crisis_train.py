"""Train the statistical crisis detector: ``python -m nlu.crisis_train`` → ``nlu/crisis_model.npz``.

Training data (never evaluation data: ``tests/unit/nlu/test_crisis_data_separation.py`` fails on any overlap):
- ``nlu/crisis_training/crisis.tsv``, ``concern.tsv`` — ``source<TAB>category<TAB>language<TAB>text``;
- ``nlu/crisis_training/everyday.tsv``, ``figurative.tsv``, ``commands.tsv`` — ``source<TAB>language<TAB>text``
  (label none); ``source`` names the corpus (T1, T2, T3: independent writers; civicbot: the bot's own texts), added
  by ``crisis_training/merge.py``;
- the questions of the demo FAQ (``faq/sample/demo_faq.csv``) as label-none examples;
- the everyday intents of ``nlu/data/nlu.yml`` (FAQ questions, greetings, registration) as more label-none examples,
  and its consult_dv / consult_child_abuse / consult_sexual_violence / consult_mental examples as concern.

scikit-learn is used here only (a training-time dependency); the bot reads the weights with numpy.
"""

from __future__ import annotations

import argparse
import csv
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression

from nlu.crisis_model import CATEGORIES, MODEL_PATH, N_FEATURES, analyse, features, sparse_rows, training_digest
from nlu.normalize import default_analyzer

NLU_DIR = Path(__file__).resolve().parent
TRAINING_DIR = NLU_DIR / "crisis_training"
NLU_YML = NLU_DIR / "data" / "nlu.yml"
DEMO_FAQ = NLU_DIR.parent / "faq" / "sample" / "demo_faq.csv"
EVAL_DIR = NLU_DIR / "crisis_eval"
_CONSULT = {"consult_dv": "dv", "consult_child_abuse": "child_abuse", "consult_sexual_violence": "sexual_violence",
            "consult_mental": "suicide"}
_NEUTRAL_SKIP = {"consult_parenting", "consult_poverty", "consult_caregiving", "consult_bullying", "talk_to_human"}
_EXAMPLE = re.compile(r"^\s*-\s+(.*)$")
# Inverse regularisation of the logistic heads, chosen by held-out AUC across the independently written corpora
# (rule 0 in nlu/crisis_eval/README.md, `bench/crisis_crossval.py`): risk and crisis heads 4 → 16 in round 5 (mean
# held-out AUC 0.962 / 0.967 / 0.968 for C = 4 / 16 / 64; 64 is within 0.002, so the smaller wins); category head 4.
C_RISK = 16.0
C_CAT = 4.0


@dataclass(frozen=True)
class Example:
    text: str
    level: str  # crisis | concern | none
    category: str | None
    language: str
    source: str = ""  # the corpus the row came from (T1, T2, …, civicbot); empty for nlu.yml and the demo FAQ


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return [row for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if row.get("text")]


def training_files(directory: Path = TRAINING_DIR) -> list[Path]:
    return sorted(directory.glob("*.tsv"))


def nlu_examples(path: Path = NLU_YML) -> list[Example]:
    out: list[Example] = []
    for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        intent = block.get("intent")
        if not intent or intent in _NEUTRAL_SKIP:
            continue
        for line in str(block.get("examples", "")).splitlines():
            m = _EXAMPLE.match(line)
            if not m:
                continue
            text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", m.group(1)).strip()
            if intent in _CONSULT:
                out.append(Example(text, "concern", _CONSULT[intent], "ja"))
            else:
                out.append(Example(text, "none", None, "ja"))
    return out


def norm_text(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def frozen_texts(eval_dir: Path = EVAL_DIR) -> set[str]:
    """Normalised texts of every frozen evaluation set: never trained on."""
    return {norm_text(r["text"]) for path in eval_dir.rglob("*.tsv") for r in read_tsv(path)}


def load_training(directory: Path = TRAINING_DIR, include_nlu: bool = True) -> list[Example]:
    """The training examples. The TSV files are kept free of evaluation items by ``crisis_training/dedupe.py`` (a test
    checks); the shared data read besides them (nlu.yml, the demo FAQ) is filtered here."""
    examples: list[Example] = []
    for path in training_files(directory):
        level = path.stem if path.stem in ("crisis", "concern") else "none"
        for row in read_tsv(path):
            category = row.get("category") if level != "none" else None
            if category is not None and category not in CATEGORIES:
                raise ValueError(f"{path.name}: unknown category {category!r}")
            examples.append(Example(row["text"].strip(), level, category, row.get("language", "ja"),
                                    row.get("source") or ""))
    if include_nlu:
        frozen = frozen_texts()
        shared = nlu_examples()
        with DEMO_FAQ.open(encoding="utf-8-sig", newline="") as f:
            shared += [Example(row["質問"], "none", None, "ja") for row in csv.DictReader(f) if row.get("質問")]
        examples += [e for e in shared if norm_text(e.text) not in frozen]
    return examples


def vectorize(examples: list[Example]) -> csr_matrix:
    analyzer = default_analyzer()
    vectors = [features(analyse(e.text, analyzer)) for e in examples]
    data, indices, indptr = sparse_rows(vectors)
    return csr_matrix((data, indices, indptr), shape=(len(vectors), N_FEATURES))


def fit(x: csr_matrix, examples: list[Example], c_risk: float = C_RISK, c_cat: float = C_CAT,
        balanced: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The three heads on already vectorized examples (``bench/crisis_crossval.py`` reuses the vectors)."""
    weights = np.zeros((N_FEATURES, 2 + len(CATEGORIES)), dtype=np.float32)
    bias = np.zeros(2 + len(CATEGORIES), dtype=np.float32)
    for head, positive in enumerate(({"crisis", "concern"}, {"crisis"})):
        y = np.array([e.level in positive for e in examples], dtype=int)
        clf = LogisticRegression(C=c_risk, class_weight="balanced" if balanced else None, max_iter=2000)
        clf.fit(x, y)
        weights[:, head] = clf.coef_[0]
        bias[head] = clf.intercept_[0]
    risky = [i for i, e in enumerate(examples) if e.category is not None]
    y_cat = np.array([CATEGORIES.index(examples[i].category) for i in risky])  # type: ignore[arg-type]
    clf = LogisticRegression(C=c_cat, class_weight="balanced", max_iter=3000)
    clf.fit(x[risky], y_cat)
    for k, cls in enumerate(clf.classes_):
        weights[:, 2 + int(cls)] = clf.coef_[k]
        bias[2 + int(cls)] = clf.intercept_[k]
    return weights, bias


def train(examples: list[Example], c_risk: float = C_RISK, c_cat: float = C_CAT,
          balanced: bool = True) -> tuple[np.ndarray, np.ndarray]:
    return fit(vectorize(examples), examples, c_risk, c_cat, balanced)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--training", type=Path, default=TRAINING_DIR)
    parser.add_argument("-o", "--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    examples = load_training(args.training)
    weights, bias = train(examples)
    digest = training_digest([*training_files(args.training), NLU_YML, DEMO_FAQ])
    np.savez_compressed(args.out, weights=weights.astype(np.float16), bias=bias, training_sha256=np.array(digest))
    counts = {lvl: sum(e.level == lvl for e in examples) for lvl in ("crisis", "concern", "none")}
    print(f"trained on {len(examples)} examples {counts} → {args.out} ({args.out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
