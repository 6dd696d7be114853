"""Apply the threshold rules of nlu/crisis_eval/README.md (round 5) to the development sets A and B only.

    .venv/bin/python bench/crisis_thresholds.py

Rule 1 — ``crisis``: the lowest t in 0.50…0.95 at which the model alone (P(crisis) ≥ t or P(risk) ≥ risk_crisis)
  raises crisis on ≤ 2 % of A+B's figurative and ≤ 1 % of their everyday messages. The model never saw A or B; the
  lexicon was tuned on them, so the model's threshold is chosen on the model's own decisions.
Rule 2 — ``lexicon_veto``: the largest v in 0.0…0.5 at which the layer's crisis-level recall on A+B is at most one
  point below v = 0.
Rule 3 — ``concern``: the lowest t in 0.30…0.70 at which the layer's everyday concern rate on A+B stays below 5 %.
Frozen test sets (C, D, …) are never read here.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.crisis_eval import EVAL_DIR, read  # noqa: E402
from nlu.crisis_model import analyse  # noqa: E402
from nlu.risk import RiskAssessor, Thresholds, default_risk_assessor  # noqa: E402

DEV_SETS = ("A", "B")


def grid(lo: float, hi: float, step: float) -> list[float]:
    return [round(lo + i * step, 2) for i in range(round((hi - lo) / step) + 1)]


def main() -> int:
    base = default_risk_assessor()
    if base.model is None:
        raise SystemExit("no model file: train it first (python -m nlu.crisis_train)")
    items = {kind: [r["text"] for s in DEV_SETS for r in read(EVAL_DIR / s / f"{kind}.tsv")]
             for kind in ("crisis", "everyday", "figurative")}
    shipped = base.thresholds

    def layer(t: Thresholds, kind: str, level: str) -> int:
        a = RiskAssessor(base.lexicon, base.intl, base.model, base.languages, base.analyzer, t)
        return sum(a.assess(text).level == level for text in items[kind])

    scores = {kind: [base.model.score(analyse(t, base.analyzer)) for t in texts] for kind, texts in items.items()}
    n = {kind: len(v) for kind, v in items.items()}
    print(f"A+B: {n['crisis']} crisis, {n['everyday']} everyday, {n['figurative']} figurative messages")
    crisis_t = None
    for t in grid(0.50, 0.95, 0.05):
        alarms = {k: sum(s.crisis >= t or s.risk >= shipped.risk_crisis for s in scores[k]) for k in scores}
        ok = alarms["figurative"] <= 0.02 * n["figurative"] and alarms["everyday"] <= 0.01 * n["everyday"]
        print(f"rule 1  t={t:.2f}  model alone: crisis {alarms['crisis']}/{n['crisis']}, figurative "
              f"{alarms['figurative']}, everyday {alarms['everyday']}{'  ← lowest within budget' if ok else ''}")
        if ok:
            crisis_t = t
            break
    if crisis_t is None:
        crisis_t = 0.95
    t1 = replace(shipped, crisis=crisis_t)
    veto = 0.0
    recall0 = layer(replace(t1, lexicon_veto=0.0), "crisis", "crisis")
    for v in grid(0.0, 0.5, 0.1):
        k = recall0 if v == 0 else layer(replace(t1, lexicon_veto=v), "crisis", "crisis")
        fig = layer(replace(t1, lexicon_veto=v), "figurative", "crisis")
        print(f"rule 2  veto={v:.1f}  layer crisis-level {k}/{n['crisis']}, figurative crisis {fig}")
        if 100 * (recall0 - k) / n["crisis"] <= 1.0:
            veto = v
    t2 = replace(t1, lexicon_veto=veto)
    concern_t = 0.70
    for c in grid(0.30, 0.70, 0.05):
        everyday = layer(replace(t2, concern=c), "everyday", "concern")
        print(f"rule 3  concern={c:.2f}  layer everyday concern {everyday}/{n['everyday']}")
        if everyday < 0.05 * n["everyday"]:
            concern_t = c
            break
    chosen = replace(t2, concern=concern_t)
    print(f"\nchosen: crisis={chosen.crisis} lexicon_veto={chosen.lexicon_veto} concern={chosen.concern} "
          f"(shipped now: crisis={shipped.crisis} lexicon_veto={shipped.lexicon_veto} concern={shipped.concern})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
