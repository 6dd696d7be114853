"""Police notice parsing + offline geocoding throughput, against the stdlib MIME parse alone (same run).

    .venv/bin/python bench/notices_parse.py [--rounds 200]

Prints µs per notice for: the baseline (``email.message_from_bytes`` + decoded text payload), ``parse_mail``
(MIME + layout + dates), and ``parse_mail`` + ``geocode`` (gazetteer town match), over the five sample mails.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from alerts.geo import Gazetteer  # noqa: E402
from alerts.notices.geocode import geocode  # noqa: E402
from alerts.notices.parse import parse_mail  # noqa: E402

MAILS = [p.read_bytes() for p in sorted((REPO / "tests" / "fixtures" / "police_mail").glob("*.eml"))]


def baseline(data: bytes) -> str:
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    return msg.get_payload(decode=True).decode(msg.get_content_charset() or "utf-8")


def run(fn, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for m in MAILS:
            fn(m)
        samples.append((time.perf_counter() - t0) / len(MAILS) * 1e6)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args()
    g = Gazetteer.load()

    def full(m: bytes) -> None:
        n = parse_mail(m)
        geocode(n.place_text, g, hint=n.municipality_hint)

    base = run(baseline, args.rounds)
    parse = run(parse_mail, args.rounds)
    both = run(full, args.rounds)
    print(f"{'step':<28}{'µs/notice':>12}{'× baseline':>12}")
    for name, v in [("stdlib MIME parse (baseline)", base), ("parse_mail", parse), ("parse_mail + geocode", both)]:
        print(f"{name:<28}{v:>12.0f}{v / base:>12.1f}")


if __name__ == "__main__":
    main()
