"""Stand-alone audit entry until app/cli.py wires ``civicbot triage`` / ``civicbot nlu parse``:

    .venv/bin/python -m nlu triage [--no-rasa] [--nlu-url URL] < messages.txt
    .venv/bin/python -m nlu parse "粗大ゴミを出したい" [--no-rasa]
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from nlu.cli import run_parse, run_triage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nlu")
    parser.add_argument("--nlu-url", default="http://127.0.0.1:5005", help="rasa run --enable-api base URL")
    parser.add_argument("--no-rasa", action="store_true", help="use the in-process fallback classifier only")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("triage", help="one JSON line per stdin line")
    parse = sub.add_parser("parse", help="parse one message")
    parse.add_argument("text")
    args = parser.parse_args(argv)
    if args.command == "triage":
        return asyncio.run(run_triage(sys.stdin, sys.stdout, nlu_url=args.nlu_url, no_rasa=args.no_rasa))
    return asyncio.run(run_parse(args.text, sys.stdout, nlu_url=args.nlu_url, no_rasa=args.no_rasa))


if __name__ == "__main__":
    sys.exit(main())
