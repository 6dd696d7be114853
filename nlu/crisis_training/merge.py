"""Append an independently written training corpus to the training files, keeping its provenance.

    .venv/bin/python nlu/crisis_training/merge.py T3 /work/traindata/T3
    .venv/bin/python nlu/crisis_training/dedupe.py
    .venv/bin/python -m nlu.crisis_train

Each training file has a ``source`` column naming the corpus a row came from (T1, T2, T3, … or civicbot for the
bot's own texts). A row whose text (normalised like ``dedupe.py``) is already in the file — from any corpus — is not
added again, so the first corpus that wrote a message keeps it. Evaluation overlaps are removed by ``dedupe.py``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from dedupe import HERE, norm  # type: ignore[import-not-found]  # run as a script, like dedupe.py

FILES = ("crisis", "concern", "everyday", "figurative")


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return list(reader.fieldnames or []), [r for r in reader if r.get("text")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="provenance tag written into the source column, e.g. T3")
    parser.add_argument("corpus", type=Path, help="folder with crisis.tsv, concern.tsv, everyday.tsv, figurative.tsv")
    args = parser.parse_args()
    for name in FILES:
        incoming = args.corpus / f"{name}.tsv"
        if not incoming.exists():
            print(f"{name}.tsv: not in {args.corpus}, skipped")
            continue
        target = HERE / f"{name}.tsv"
        fields, rows = read(target)
        _, new = read(incoming)
        seen = {norm(r["text"]) for r in rows}
        added = 0
        for r in new:
            text = " ".join(r["text"].split())  # no tabs or newlines inside a cell
            if norm(text) in seen or (name in ("crisis", "concern") and not r.get("category")):
                continue
            seen.add(norm(text))
            row = {**{k: (r.get(k) or "").strip() for k in fields}, "source": args.source, "text": text}
            rows.append(row)
            added += 1
        lines = ["\t".join(fields)] + ["\t".join(r[k] for k in fields) for r in rows]
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{name}.tsv: {added} of {len(new)} added from {args.source} ({len(new) - added} already there)")


if __name__ == "__main__":
    main()
