"""Cross-corpus check of the crisis layer on the training corpora (never on the frozen evaluation sets).

    .venv/bin/python bench/crisis_crossval.py                 # leave-one-corpus-out over T1, T2, T3, …
    .venv/bin/python bench/crisis_crossval.py --c 4 16 64 --layer-c 16

The training files carry a ``source`` column: each T-corpus was written by its own writer who never saw the
detector or the others' corpora, like the evaluation sets. So training on every corpus but one and measuring on the
held-out one shows how the model meets phrasings nobody trained it on — without opening a frozen set. Printed per
fold: the held-out AUC of the model's crisis head (crisis vs everyday + figurative) and risk head (crisis + concern vs
everyday + figurative) for each regularisation C (rule 0 in nlu/crisis_eval/README.md picks C from these), then the
whole layer (lexicons + that model, shipped thresholds) on the held-out corpus: crisis-level and crisis-or-concern
recall, alarm rates on everyday and figurative messages, and how many crisis alarms the lexicon raised.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nlu.crisis import CrisisDetector  # noqa: E402
from nlu.crisis_intl import IntlCrisisLexicon  # noqa: E402
from nlu.crisis_model import CrisisModel  # noqa: E402
from nlu.crisis_train import C_CAT, Example, fit, load_training, read_tsv, training_files, vectorize  # noqa: E402
from nlu.language import LanguageDetectorPort  # noqa: E402
from nlu.normalize import default_analyzer  # noqa: E402
from nlu.risk import RiskAssessor, Thresholds  # noqa: E402


def kinds() -> dict[tuple[str, str], str]:
    """(source, text) → file stem (crisis, concern, everyday, figurative, commands)."""
    return {(r.get("source") or "", r["text"].strip()): p.stem for p in training_files() for r in read_tsv(p)}


def pct(k: int, n: int) -> str:
    return f"{k}/{n} ({100 * k / n if n else 0:.1f} %)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--c", type=float, nargs="*", default=[4.0, 16.0, 64.0], help="regularisations to compare")
    parser.add_argument("--layer-c", type=float, default=None, help="C of the model in the layer run (default: best)")
    parser.add_argument("--veto", type=float, default=None, help="lexicon_veto for the layer run (default: shipped)")
    args = parser.parse_args()
    examples = load_training()
    kind = kinds()
    labels = [kind.get((e.source, e.text), "shared") for e in examples]
    folds = sorted({e.source for e in examples if e.source.startswith("T")})
    x = vectorize(examples)
    analyzer = default_analyzer()
    lexicon, intl, languages = CrisisDetector(analyzer=analyzer), IntlCrisisLexicon(), LanguageDetectorPort()
    thresholds = Thresholds() if args.veto is None else replace(Thresholds(), lexicon_veto=args.veto)
    auc: dict[float, list[float]] = {c: [] for c in args.c}
    for held in folds:
        train_idx = [i for i, e in enumerate(examples) if e.source != held]
        test_idx = [i for i, e in enumerate(examples) if e.source == held]
        train_ex: list[Example] = [examples[i] for i in train_idx]
        test_kind = np.array([labels[i] for i in test_idx])
        scored = np.isin(test_kind, ["crisis", "everyday", "figurative"])
        risky = np.isin(test_kind, ["crisis", "concern", "everyday", "figurative"])
        print(f"\n== held out {held}: {len(test_idx)} messages; trained on {len(train_idx)}")
        weights_by_c = {}
        for c in args.c:
            w, b = fit(x[train_idx], train_ex, c_risk=c, c_cat=C_CAT)
            weights_by_c[c] = (w, b)
            z = x[test_idx] @ w[:, :2] + b[:2]
            a_crisis = roc_auc_score(test_kind[scored] == "crisis", z[scored, 1])
            a_risk = roc_auc_score(np.isin(test_kind[risky], ["crisis", "concern"]), z[risky, 0])
            auc[c].append(a_crisis)
            print(f"C={c:<5g} AUC crisis head {a_crisis:.3f}   risk head {a_risk:.3f}")
        c_layer = args.layer_c if args.layer_c is not None else max(args.c, key=lambda c: auc[c][-1])
        w, b = weights_by_c.get(c_layer) or fit(x[train_idx], train_ex, c_risk=c_layer, c_cat=C_CAT)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.npz"
            np.savez_compressed(path, weights=w.astype(np.float16), bias=b, training_sha256=np.array("crossval"))
            layer = RiskAssessor(lexicon, intl, CrisisModel(path), languages, analyzer, thresholds)
        counts: dict[str, dict[str, int]] = {}
        for i, k in zip(test_idx, test_kind, strict=True):
            a = layer.assess(examples[i].text)
            row = counts.setdefault(str(k), {"n": 0, "crisis": 0, "concern": 0, "none": 0, "lex": 0})
            row["n"] += 1
            row[a.level] += 1
            row["lex"] += a.level == "crisis" and any(s.startswith(("lex:", "intl:")) for s in a.signals)
        cr, co, ev, fi = (counts.get(k, {"n": 0, "crisis": 0, "concern": 0, "none": 0, "lex": 0})
                          for k in ("crisis", "concern", "everyday", "figurative"))
        print(f"layer (C={c_layer:g}, veto {thresholds.lexicon_veto:g}): crisis-level {pct(cr['crisis'], cr['n'])}; "
              f"crisis-or-concern {pct(cr['n'] - cr['none'], cr['n'])}; concern messages flagged "
              f"{pct(co['n'] - co['none'], co['n'])}")
        print(f"  everyday concern {pct(ev['concern'], ev['n'])} crisis {pct(ev['crisis'], ev['n'])} "
              f"(lexicon {ev['lex']}); figurative concern {pct(fi['concern'], fi['n'])} crisis "
              f"{pct(fi['crisis'], fi['n'])} (lexicon {fi['lex']})")
    print("\nmean held-out AUC of the crisis head: " + ", ".join(f"C={c:g} {np.mean(v):.4f}" for c, v in auc.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
