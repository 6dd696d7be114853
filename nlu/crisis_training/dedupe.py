"""Drop training messages that also appear in a frozen evaluation set (normalised: NFKC, case, white space).

    .venv/bin/python nlu/crisis_training/dedupe.py

Writers of training and evaluation data worked independently, so short everyday phrases (「もう疲れた」) can occur in
both. Evaluation sets are frozen; the copy in the training data is the one that goes. Run after adding training
data and before `python -m nlu.crisis_train`; tests/unit/nlu/test_risk.py fails on any overlap.
"""

from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
EVAL = HERE.parent / "crisis_eval"


def norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def main() -> None:
    frozen = set()
    for path in EVAL.rglob("*.tsv"):
        with path.open(encoding="utf-8", newline="") as f:
            frozen |= {norm(r["text"]) for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)}
    for path in sorted(HERE.glob("*.tsv")):
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            fields, rows = reader.fieldnames, list(reader)
        kept = [r for r in rows if norm(r["text"]) not in frozen]
        if len(kept) != len(rows):  # written by hand: QUOTE_NONE would refuse the quote characters residents type
            lines = ["\t".join(fields or [])] + ["\t".join(r[k] for k in fields or []) for r in kept]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{path.name}: {len(rows) - len(kept)} dropped, {len(kept)} kept")


if __name__ == "__main__":
    main()
