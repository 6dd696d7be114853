"""Crisis layer evaluation on the frozen sets: recall per category and language, alarm rates, with 95 % intervals.

    .venv/bin/python bench/crisis_eval.py                  # every frozen set under nlu/crisis_eval/
    .venv/bin/python bench/crisis_eval.py --sets C --misses

For each set (written by a different person who never saw the detector, frozen before any tuning; see
nlu/crisis_eval/README.md): crisis-level recall and crisis-or-concern recall on its crisis messages (per category and
per language), concern/crisis alarm rates on everyday and on figurative messages, the conversation cases (the last
turn assessed with the earlier turns as context), and whether the reply language is the writer's. Latency: p50/p95
of a full assessment per message, against the same-run baseline of the former detector (the lexicon alone).
Intervals are Wilson score intervals.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nlu.risk import RiskAssessor, default_risk_assessor  # noqa: E402

EVAL_DIR = REPO / "nlu" / "crisis_eval"


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    d = 1 + z * z / n
    c = p + z * z / (2 * n)
    m = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return ((c - m) / d, (c + m) / d)


def rate(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"{k:>3}/{n:<3} {100 * k / n if n else 0:5.1f} % [{100 * lo:4.1f}–{100 * hi:5.1f}]"


def read(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as f:
        return [r for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if r.get("text")]


def evaluate(assessor: RiskAssessor, name: str, show_misses: bool) -> dict[str, float]:
    d = EVAL_DIR / name
    crisis = read(d / "crisis.tsv")
    everyday = read(d / "everyday.tsv")
    figurative = read(d / "figurative.tsv")
    convs: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in read(d / "conversations.tsv"):
        convs[r["conv_id"]].append(r)
    print(f"\n== set {name}: {len(crisis)} crisis, {len(everyday)} everyday, {len(figurative)} figurative, "
          f"{len(convs)} conversations")
    by_cat: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    by_lang: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    misses = []
    for r in crisis:
        a = assessor.assess(r["text"])
        for key, table in ((r["category"], by_cat), (r["language"], by_lang)):
            row = table[key]
            row[0] += 1
            row[1] += a.level == "crisis"
            row[2] += a.level != "none"
        if r["language"] not in ("ja", "ja-easy"):
            by_lang[r["language"]][3] += a.language == r["language"]
        if a.level == "none":
            misses.append((r["category"], r["language"], r["text"]))
    n = len(crisis)
    k_crisis = sum(v[1] for v in by_cat.values())
    k_any = sum(v[2] for v in by_cat.values())
    print(f"crisis-level recall       {rate(k_crisis, n)}")
    print(f"crisis-or-concern recall  {rate(k_any, n)}")
    print("per category (crisis | crisis-or-concern):")
    for cat, (tot, kc, ka) in sorted(by_cat.items()):
        print(f"  {cat:16} {rate(kc, tot)} | {rate(ka, tot)}")
    print("per language (crisis | crisis-or-concern | reply language = writer's):")
    for lang, (tot, kc, ka, kl) in sorted(by_lang.items()):
        lang_txt = "" if lang in ("ja", "ja-easy") else f" | {kl}/{tot}"
        print(f"  {lang:8} {rate(kc, tot)} | {rate(ka, tot)}{lang_txt}")
    foreign = [v for lang, v in by_lang.items() if lang not in ("ja", "ja-easy")]
    f_n = sum(v[0] for v in foreign)
    print(f"foreign-language detected {rate(sum(v[2] for v in foreign), f_n)}; answered in their language "
          f"{rate(sum(v[3] for v in foreign), f_n)}")
    figures = {"crisis_recall": k_crisis / n if n else 0, "any_recall": k_any / n if n else 0}
    for label, rows in (("everyday", everyday), ("figurative", figurative)):
        levels = [assessor.assess(r["text"]).level for r in rows]
        c, k = levels.count("concern"), levels.count("crisis")
        print(f"{label:10} concern {rate(c, len(rows))}   crisis {rate(k, len(rows))}")
        figures[f"{label}_crisis"] = k / len(rows) if rows else 0
        for r, lvl in zip(rows, levels, strict=True):
            if show_misses and lvl != "none":
                print(f"    ALARM {lvl:7} {r['language']:6} {r['text']}")
    if convs:
        hits = {"crisis": [0, 0], "none": [0, 0]}
        for turns in convs.values():
            turns.sort(key=lambda t: int(t["turn"]))
            recent: list[float] = []
            worst = "none"
            for t in turns:
                a = assessor.assess(t["text"], recent)
                recent.insert(0, a.risk)
                if a.level == "crisis" or (a.level == "concern" and worst == "none"):
                    worst = a.level
            label = turns[0]["label"]
            hits[label][0] += 1
            hits[label][1] += worst != "none" if label == "crisis" else worst == "crisis"
        print(f"conversations: crisis ones flagged {rate(hits['crisis'][1], hits['crisis'][0])}; "
              f"safe ones raised to crisis {rate(hits['none'][1], hits['none'][0])}")
    if show_misses:
        for cat, lang, text in misses:
            print(f"    MISS {cat:16} {lang:6} {text}")
    return figures


def latency(assessor: RiskAssessor, texts: list[str]) -> None:
    def timed(fn) -> list[float]:  # type: ignore[no-untyped-def]
        out = []
        for t in texts:
            s = time.perf_counter()
            fn(t)
            out.append((time.perf_counter() - s) * 1000)
        return sorted(out)

    for t in texts[:50]:
        assessor.assess(t)  # warm-up
    base = timed(assessor.lexicon.assess)
    full = timed(assessor.assess)

    def q(xs: list[float], p: float) -> float:
        return xs[min(len(xs) - 1, int(p * len(xs)))]

    print(f"\nlatency per message over {len(texts)} messages (ms): baseline lexicon alone p50 {q(base, .5):.2f} "
          f"p95 {q(base, .95):.2f}; full assessment p50 {q(full, .5):.2f} p95 {q(full, .95):.2f} "
          f"(adds p95 {q(full, .95) - q(base, .95):.2f} ms; mean {statistics.mean(full):.2f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", help="set names under nlu/crisis_eval (default: all)")
    parser.add_argument("--misses", action="store_true", help="print missed crisis messages and alarms")
    args = parser.parse_args()
    assessor = default_risk_assessor()
    names = args.sets or sorted(p.name for p in EVAL_DIR.iterdir() if p.is_dir())
    texts: list[str] = []
    for name in names:
        evaluate(assessor, name, args.misses)
        for f in ("crisis.tsv", "everyday.tsv", "figurative.tsv"):
            texts += [r["text"] for r in read(EVAL_DIR / name / f)]
    latency(assessor, texts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
