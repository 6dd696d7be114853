"""The `civicbot` command: run processes and operate the system.

    civicbot serve web|worker|scheduler     run one production process
    civicbot emulator                       LINE platform emulator + resident simulator
    civicbot demo                           everything on embedded defaults (make demo)

Each subcommand loads only its own modules when it runs (``app.commands.entry``).
"""

from __future__ import annotations

import argparse
import sys

from app import commands
from app.commands import entry
from bot.config import ConfigError, Settings
from bot.native_threads import limit_native_threads

# ---------------------------------------------------------------- entry point


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="civicbot", description="LINE chatbot for Osaka's municipalities")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run a production process")
    s.add_argument("process", choices=["web", "worker", "scheduler"])
    s.set_defaults(func=entry("app.processes:cmd_serve"))

    e = sub.add_parser("emulator", help="LINE platform emulator and resident simulator")
    e.add_argument("--host", default="127.0.0.1")
    e.add_argument("--port", type=int, default=None)
    e.add_argument(
        "--bot-url", default=None, help="where the bot's webhook listens (default http://127.0.0.1:$CIVICBOT_WEB_PORT)"
    )
    e.set_defaults(func=entry("app.processes:cmd_emulator"))

    d = sub.add_parser("demo", help="start the whole system on embedded defaults")
    d.add_argument("--no-rasa", action="store_true", help="do not start the Rasa server (the fallback NLU answers)")
    d.set_defaults(func=entry("app.demo:cmd_demo"))

    commands.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
        limit_native_threads(settings.native_threads)
        return int(args.func(args, settings) or 0)
    except ConfigError as exc:
        print(f"civicbot: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
