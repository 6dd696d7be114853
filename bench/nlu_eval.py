"""NLU evaluation on the held-out sets in nlu/tests/ (never used for training).

Prints, for the in-process fallback and (when available) Rasa: intent accuracy and macro-F1, crisis recall per
category and false-alarm rate through the triage path (Rasa up and Rasa down), and parse latency p50/p95.
Baseline measured in the same run: a surface-form character-bigram nearest-example classifier (what you get without
Sudachi normalization and training), so the figures read as ratios too.
Targets (issue 4): crisis recall 100 % up and down, false alarms ≤ 2 %, macro-F1 ≥ 0.90, Rasa parse p95 ≤ 50 ms.

    .venv/bin/python bench/nlu_eval.py                      # fallback only
    .venv/bin/python bench/nlu_eval.py --rasa-url http://127.0.0.1:5005
    .venv/bin/python bench/nlu_eval.py --start-rasa         # serve nlu/models/civicbot-nlu.tar.gz itself
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.native_threads import limit_native_threads, native_threads  # noqa: E402
from nlu import server as rasa_server  # noqa: E402
from nlu.breaker import CircuitBreaker  # noqa: E402
from nlu.cli import triage_lines  # noqa: E402
from nlu.crisis import CATEGORIES, default_detector  # noqa: E402
from nlu.evaluation import macro_f1  # noqa: E402
from nlu.fallback import FallbackNlu  # noqa: E402
from nlu.intents import FALLBACK_INTENT  # noqa: E402
from nlu.port import Nlu, Parse  # noqa: E402
from nlu.rasa_client import RasaNlu  # noqa: E402
from nlu.rasa_components.textfold import strip_noise  # noqa: E402
from nlu.resilient import ResilientNlu  # noqa: E402
from nlu.training_data import load_examples  # noqa: E402

HELD_OUT = REPO / "nlu" / "tests"


def load_sets() -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[str]]:
    def tsv(name: str) -> list[tuple[str, str]]:
        return [tuple(line.split("\t", 1)) for line in (HELD_OUT / name).read_text("utf-8").splitlines() if line.strip()]

    ordinary = [line.strip() for name in ("ordinary_messages.txt", "ordinary_messages_fresh.txt",
                                          "ordinary_messages_round3.txt")
                for line in (HELD_OUT / name).read_text("utf-8").splitlines() if line.strip()]
    crisis = [row for name in ("crisis_messages.tsv", "crisis_messages_fresh.tsv", "crisis_messages_round3.tsv")
              for row in tsv(name)]
    return tsv("intent_messages.tsv"), crisis, ordinary


class BigramBaseline:
    """Surface character bigrams, nearest training example by Jaccard: no normalization, no learning."""

    def __init__(self) -> None:
        self.examples = [(self._grams(e.text), e.intent) for e in load_examples()]

    @staticmethod
    def _grams(text: str) -> set[str]:
        t = strip_noise(text)
        return {t[i:i + 2] for i in range(len(t) - 1)} or {t}

    async def parse(self, text: str) -> Parse:
        g = self._grams(text)
        score, intent = max((len(g & e) / (len(g | e) or 1), i) for e, i in self.examples)
        return Parse(intent if score >= 0.15 else FALLBACK_INTENT, score, [], "fallback")


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


async def eval_intents(name: str, nlu: Nlu, rows: list[tuple[str, str]]) -> dict:
    pairs, latencies, sources = [], [], Counter()
    for gold, text in rows:
        t0 = time.perf_counter()
        parse = await nlu.parse(text)
        latencies.append((time.perf_counter() - t0) * 1000)
        sources[parse.source] += 1
        predicted = gold if gold == "out_of_scope" and parse.intent == FALLBACK_INTENT else parse.intent
        pairs.append((gold, predicted))
    acc = sum(g == p for g, p in pairs) / len(pairs)
    unsure = sum(p == FALLBACK_INTENT for _, p in pairs) / len(pairs)
    result = {"name": name, "acc": acc, "f1": macro_f1(pairs), "unsure": unsure,
              "p50": pct(latencies, 50), "p95": pct(latencies, 95), "sources": dict(sources)}
    print(f"  {name:<28} acc {acc:6.1%}  macro-F1 {result['f1']:.3f}  →nlu_fallback {unsure:5.1%}  "
          f"parse p50 {result['p50']:6.2f} ms  p95 {result['p95']:6.2f} ms  sources {dict(sources)}")
    return result


async def eval_crisis(name: str, nlu: Nlu, crisis: list[tuple[str, str]], ordinary: list[str]) -> None:
    out = [row async for row in triage_lines([t for _, t in crisis] + ordinary, nlu)]
    hits = out[: len(crisis)]
    per_cat = Counter(cat for cat, _ in crisis)
    caught = Counter(cat for (cat, _), row in zip(crisis, hits) if row["crisis"] == cat)
    any_hit = sum(row["crisis"] is not None for row in hits)
    alarms = [row["text"] for row in out[len(crisis):] if row["crisis"] is not None]
    recall = ", ".join(f"{c} {caught[c]}/{per_cat[c]}" for c in CATEGORIES)
    print(f"  {name:<28} crisis recall {any_hit}/{len(crisis)} = {any_hit / len(crisis):.1%} "
          f"(right category: {recall})")
    print(f"  {'':<28} false alarms {len(alarms)}/{len(ordinary)} = {len(alarms) / len(ordinary):.1%}"
          + (f"  {alarms}" if alarms else ""))


async def parse_latencies(nlu: Nlu, texts: list[str]) -> tuple[float, float]:
    latencies = []
    for text in texts:
        t0 = time.perf_counter()
        await nlu.parse(text)
        latencies.append((time.perf_counter() - t0) * 1000)
    return pct(latencies, 50), pct(latencies, 95)


async def blas_threads_under_load(fallback: Nlu, texts: list[str], load: int) -> None:
    """The fallback's parse latency with the BLAS pool as numpy starts it, then capped at one thread as the app's
    processes run (``bot.native_threads``), while ``load`` busy processes compete for the cores. The cap is the
    last thing this bench does to the process: threadpoolctl cannot reliably restore a pool it reduced."""
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(load)]
    try:
        time.sleep(0.5)
        default = native_threads().get("blas")
        p50, p95 = await parse_latencies(fallback, texts)
        print(f"  BLAS {default} threads (numpy's default)  parse p50 {p50:6.2f} ms  p95 {p95:6.2f} ms")
        limit_native_threads(1)
        p50_1, p95_1 = await parse_latencies(fallback, texts)
        print(f"  BLAS 1 thread (the app's setting)    parse p50 {p50_1:6.2f} ms  p95 {p95_1:6.2f} ms"
              f"  (p50 ×{p50 / p50_1:.1f} faster)")
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rasa-url", help="a running rasa server (rasa run --enable-api)")
    parser.add_argument("--start-rasa", action="store_true", help="serve nlu/models/civicbot-nlu.tar.gz for the run")
    parser.add_argument("--load", type=int, default=2, help="busy processes while comparing BLAS thread counts")
    args = parser.parse_args()

    intents, crisis, ordinary = load_sets()
    print(f"held-out: {len(intents)} intent messages, {len(crisis)} crisis messages, {len(ordinary)} ordinary messages")

    t0 = time.perf_counter()
    baseline = BigramBaseline()
    print(f"\nbaseline built in {time.perf_counter() - t0:.2f} s")
    t0 = time.perf_counter()
    fallback = FallbackNlu.from_yaml()
    print(f"fallback trained in {time.perf_counter() - t0:.2f} s (in-process, at start-up)")
    t0 = time.perf_counter()
    detector = default_detector()
    detector.assess("warm-up")
    print(f"crisis layer loaded in {time.perf_counter() - t0:.2f} s")

    print("\nintents")
    base = await eval_intents("baseline (surface bigrams)", baseline, intents)
    fb = await eval_intents("fallback (in-process)", fallback, intents)
    print(f"  fallback/baseline macro-F1 ratio {fb['f1'] / base['f1']:.2f}")

    latencies = []
    for _, text in crisis + [(None, t) for t in ordinary]:
        t0 = time.perf_counter()
        detector.assess(text)
        latencies.append((time.perf_counter() - t0) * 1000)
    print(f"\ncrisis layer assess p50 {pct(latencies, 50):.2f} ms  p95 {pct(latencies, 95):.2f} ms")
    await eval_crisis("Rasa down (fallback)", fallback, crisis, ordinary)

    server = None
    url = args.rasa_url
    if not url and args.start_rasa:
        if not rasa_server.rasa_available():
            print("\nRasa: .venv-rasa missing (run nlu/scripts/setup_venv.sh); skipped")
        elif not rasa_server.DEFAULT_MODEL.exists():
            print("\nRasa: no trained model (run nlu/scripts/train.sh); skipped")
        else:
            t0 = time.perf_counter()
            server = rasa_server.start_server(rasa_server.DEFAULT_MODEL)
            print(f"\nRasa server started in {time.perf_counter() - t0:.1f} s, "
                  f"RSS {rasa_server.rss_bytes(server.process.pid) / 2**20:.0f} MiB")
            url = server.url
    try:
        if url:
            async with RasaNlu.connect(url, timeout=2.0) as rasa:
                for _, text in intents[:5]:
                    await rasa.parse(text)  # warm-up
                print("\nRasa")
                ra = await eval_intents("rasa (HTTP)", rasa, intents)
                print(f"  rasa/baseline macro-F1 ratio {ra['f1'] / base['f1']:.2f}")
                resilient = ResilientNlu(rasa, fallback, CircuitBreaker())
                await eval_crisis("Rasa up (resilient)", resilient, crisis, ordinary)
        else:
            print("\nRasa: not measured (give --rasa-url or --start-rasa)")
    finally:
        if server:
            server.stop()

    print(f"\nfallback parse, BLAS threads, {args.load} busy processes beside (same run)")
    await blas_threads_under_load(fallback, [t for _, t in intents], args.load)


if __name__ == "__main__":
    asyncio.run(main())
