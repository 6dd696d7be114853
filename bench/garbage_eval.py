"""Top-1 of the garbage item search on the frozen evaluation set (``garbage/eval/questions.tsv``).

The set was written by a colleague from the data files only, before the search existed, and is never tuned on. A
question counts as correct when the best candidate is the expected item (same name; or, for a row that names only
a category, the same category); a row expecting no item counts as correct when nothing is found. Prints the
figure overall and per row kind, and the misses (for the report — not for tuning).

    .venv/bin/python bench/garbage_eval.py [garbage/eval/questions.tsv]
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from garbage import DEMO_DATA, ItemIndex, load_lexicon, parse_files, read_dir  # noqa: E402
from nlu.normalize import JapaneseAnalyzer  # noqa: E402

QUESTION = ("question", "text", "query", "質問", "message")
ITEM = ("expected_item", "item", "name", "品目", "target")
CATEGORY = ("expected_category", "category", "type", "分別区分", "label")
NONE = {"", "-", "なし", "none", "null", "unknown", "(none)"}


def column(header: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {h.strip().lower(): h for h in header}
    return next((lowered[n] for n in names if n in lowered), None)


def main(path: Path) -> None:
    rows = list(csv.DictReader(path.open(encoding="utf-8"), delimiter="\t"))
    header = list(rows[0].keys()) if rows else []
    qcol, icol, ccol = column(header, QUESTION), column(header, ITEM), column(header, CATEGORY)
    if qcol is None or (icol is None and ccol is None):
        raise SystemExit(f"unknown columns {header}")
    index = ItemIndex(parse_files(read_dir(DEMO_DATA)), JapaneseAnalyzer(), load_lexicon())
    kcol = column(header, ("kind", "type_of_question", "種類"))
    correct = 0
    by_kind: dict[str, list[int]] = {}
    misses = []
    started = time.perf_counter()
    for row in rows:
        q = row[qcol]
        item = (row.get(icol) or "").strip() if icol else ""
        cat = (row.get(ccol) or "").strip() if ccol else ""
        best = index.search(q).best
        if icol and item.lower() not in NONE:
            ok = best is not None and best.item is not None and best.item.name == item
        elif cat and cat.lower() not in NONE:
            got = best.item.category if best and best.item else (best.category.label if best and best.category else "")
            ok = got == cat
        else:
            ok = best is None
        correct += ok
        tally = by_kind.setdefault(row.get(kcol, "") if kcol else "", [0, 0])
        tally[0] += ok
        tally[1] += 1
        if not ok:
            got_s = (best.item.name if best.item else f"[{best.category.label}]") if best else "—"
            misses.append(f"  {q}\texpected {item or cat or 'nothing'}\tgot {got_s}")
    elapsed = (time.perf_counter() - started) * 1000 / max(1, len(rows))
    print(
        f"top-1 {correct}/{len(rows)} = {100 * correct / max(1, len(rows)):.1f} %  ({elapsed:.2f} ms per question, "
        f"columns: question={qcol} item={icol} category={ccol})"
    )
    for kind, (good, total) in sorted(by_kind.items()):
        print(f"  {kind or '(no kind)'}: {good}/{total} = {100 * good / total:.1f} %")
    print("misses:")
    print("\n".join(misses))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "garbage" / "eval" / "questions.tsv")
