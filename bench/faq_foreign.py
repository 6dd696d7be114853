"""Questions in other languages against the demo FAQ: Hit@1 and Recall@3 per language, the cross-language route
beside baselines measured in the same run.

    .venv/bin/python bench/faq_foreign.py [--file faq/eval/foreign_test.tsv] [--no-vectors]

The file has ``lang<TAB>question<TAB>expected_id`` rows: ``lang`` is the resident's language (their setting), the
question what they typed, ``expected_id`` the demo FAQ entry (faq/sample/demo_faq.csv) that answers it. The FAQ is
the demo sample with its English translations (``faq.demo.sample_entries``), as ``make demo`` loads it.

Each question goes the way the chat sends it: ``faq.lang.detect_language(question, lang)`` picks the route. Systems:

* ``japanese index``: the question as typed, searched in the Japanese index (a bot without a cross-language route;
  Chinese questions share some characters with the Japanese entries);
* ``translations``: only the entries' translations in the question's language (``faq.lang.ForeignIndex``; the demo
  has English translations only, so zh-Hans/ko/vi score nothing here);
* ``route``: what the chat does (``FaqIndex.search_foreign``: translations + ``faq/glossary/<lang>.tsv``);
* ``route, no romaji``: the same without the romanized-Japanese glossary (``faq/glossary/ja-Latn.tsv``).

Also prints how the chat's confidence policy (``faq.chat.classify``) treats the route's hits: answered directly
(and how often that answer is the expected entry), もしかして (choices; and how often the expected entry is among the
three offered), don't know.

``faq/eval/foreign_test.tsv`` is a frozen test set written by a colleague who had not seen the code (SHA-256 pinned
in tests/unit/faq/test_faq_foreign_eval.py); first-contact figures are recorded in bench/faq_foreign.md.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import faq.index as faq_index  # noqa: E402
from faq.chat import ConfidencePolicy, classify  # noqa: E402
from faq.demo import sample_entries  # noqa: E402
from faq.index import FaqIndex, Hit, build_index  # noqa: E402
from faq.lang import GLOSSARIES, Glossary, detect_language, glossary  # noqa: E402
from faq.text import Analyzer  # noqa: E402
from faq.vectors import load_ginza_vectors  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT = REPO / "faq" / "eval" / "foreign_test.tsv"
ORDER = ("en", "zh-Hans", "ko", "vi")


def read_rows(path: Path) -> list[tuple[str, str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    body = rows[1:] if rows and rows[0][:3] == ["lang", "question", "expected_id"] else rows
    return [(r[0].strip(), r[1].strip(), r[2].strip()) for r in body if len(r) >= 3 and r[1].strip()]


def without_romaji(lang: str) -> Glossary | None:
    path = GLOSSARIES / f"{lang}.tsv"
    return Glossary.parse(lang, path.read_text(encoding="utf-8")) if path.exists() else None


def route(index: FaqIndex, question: str, lang: str, k: int = 5) -> list[Hit]:
    return index.search(question, k) if lang.startswith("ja") else index.search_foreign(question, lang, k)


def systems(index: FaqIndex) -> dict[str, Callable[[str, str], list[str]]]:
    def japanese(question: str, lang: str) -> list[str]:
        return [h.id for h in index.search(question, 3)]

    def translations(question: str, lang: str) -> list[str]:
        foreign = index.foreign.get(lang)
        if lang.startswith("ja"):
            return japanese(question, lang)
        return [index.ids[pos] for pos, _, _ in foreign.search(question)[0][:3]] if foreign is not None else []

    def full(question: str, lang: str) -> list[str]:
        return [h.id for h in route(index, question, lang, 3)]

    def no_romaji(question: str, lang: str) -> list[str]:
        shipped = faq_index.glossary
        faq_index.glossary = without_romaji  # type: ignore[assignment]  # the bench's own ablation
        try:
            return full(question, lang)
        finally:
            faq_index.glossary = shipped

    return {"japanese index": japanese, "translations": translations, "route": full, "route, no romaji": no_romaji}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT)
    parser.add_argument("--no-vectors", action="store_true", help="rank without the ja-ginza word vectors")
    parser.add_argument("--misses", action="store_true", help="list the route's misses (not for the test set)")
    args = parser.parse_args()

    rows = read_rows(args.file)
    entries = sample_entries("demo").entries
    ids = {e.id for e in entries}
    unknown = sorted({expected for _, _, expected in rows if expected not in ids})
    if unknown:
        sys.exit(f"expected ids not in the demo FAQ: {', '.join(unknown)}")
    vectors = None if args.no_vectors else load_ginza_vectors()
    index = build_index(entries, Analyzer(), vectors=vectors)
    print(f"{args.file.name}: {len(rows)} questions; demo FAQ {len(entries)} entries; word vectors "
          f"{'on' if vectors is not None else 'off'}; glossaries: "
          + ", ".join(f"{lang} {len(g.phrases)}" for lang in ORDER if (g := glossary(lang)) is not None))

    langs = [lang for lang in ORDER if any(r[0] == lang for r in rows)]
    langs += sorted({r[0] for r in rows} - set(langs))
    detected: Counter[tuple[str, str]] = Counter((lang, detect_language(q, lang)) for lang, q, _ in rows)
    print("routed as: " + "; ".join(f"{a}→{b} {n}" for (a, b), n in sorted(detected.items())))

    header = f"{'system':<18}" + "".join(f"{lang + ' H@1':>12}{'R@3':>7}" for lang in [*langs, 'all'])
    print("\n" + header)
    for name, run in systems(index).items():
        hit1: dict[str, int] = defaultdict(int)
        rec3: dict[str, int] = defaultdict(int)
        count: Counter[str] = Counter()
        for lang, question, expected in rows:
            found = run(question, detect_language(question, lang))
            for key in (lang, "all"):
                count[key] += 1
                hit1[key] += bool(found[:1] == [expected])
                rec3[key] += expected in found[:3]
        print(f"{name:<18}" + "".join(f"{hit1[k] / count[k]:>12.3f}{rec3[k] / count[k]:>7.3f}"
                                        for k in [*langs, "all"]))

    policy = ConfidencePolicy()
    print(f"\nthe chat's verdict on the route's hits ({policy.answer_p=}, {policy.answer_min=})")
    print(f"{'lang':<9}{'answer':>8}{'right':>7}{'choices':>9}{'in 3':>6}{'nothing':>9}")
    misses = []
    for lang in [*langs, "all"]:
        verdicts: Counter[str] = Counter()
        good: Counter[str] = Counter()
        for row_lang, question, expected in rows:
            if lang not in ("all", row_lang):
                continue
            hits = route(index, question, detect_language(question, row_lang))
            verdict = classify(hits, policy)
            verdicts[verdict] += 1
            good[verdict] += bool(hits[:1] and hits[0].id == expected) if verdict == "answer" else \
                expected in [h.id for h in hits[:3]]
            if lang == "all" and not (hits[:1] and hits[0].id == expected):
                misses.append((row_lang, question, expected, [h.id for h in hits[:3]]))
        n = sum(verdicts.values())
        print(f"{lang:<9}{verdicts['answer'] / n:>8.3f}{good['answer'] / max(1, verdicts['answer']):>7.3f}"
              f"{verdicts['choices'] / n:>9.3f}{good['choices'] / max(1, verdicts['choices']):>6.3f}"
              f"{verdicts['nothing'] / n:>9.3f}")
    if args.misses:
        print("\nroute misses (Hit@1):")
        for lang, question, expected, top in misses:
            print(f"  {lang:<8}{expected:<14}{','.join(top):<44}{question}")


if __name__ == "__main__":
    main()
