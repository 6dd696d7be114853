"""Operator subcommands contributed by the rooms (staff, nlu, faq, broadcasts, notices). Wired in one place.

Each command attaches to the same data as the running processes (REDIS_URL or the embedded server of
CIVICBOT_DATA_DIR) through the composition root.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable

from bot.config import Settings


def _with_container(fn: Callable[..., Awaitable[int]]) -> Callable[[argparse.Namespace, Settings], int]:
    def run(args: argparse.Namespace, settings: Settings) -> int:
        from bot.bootstrap import open_container, redis_for

        async def go() -> int:
            with redis_for(settings) as url:
                async with open_container(settings, url) as container:
                    return int(await fn(args, container) or 0)

        return asyncio.run(go())

    return run


async def _staff(args: argparse.Namespace, container) -> int:
    import staff
    import staff.cli

    return await staff.cli.run(args, staff.RedisStaffStore(container.redis))


def _triage(args: argparse.Namespace, settings: Settings) -> int:
    import sys

    from nlu.cli import run_triage

    return asyncio.run(run_triage(sys.stdin, sys.stdout, nlu_url=settings.nlu_url, no_rasa=args.no_rasa))


def _nlu_parse(args: argparse.Namespace, settings: Settings) -> int:
    import sys

    from nlu.cli import run_parse

    return asyncio.run(run_parse(args.text, sys.stdout, nlu_url=settings.nlu_url, no_rasa=args.no_rasa))


def register(sub: argparse._SubParsersAction) -> None:
    """Add the rooms' subcommands to the `civicbot` parser."""
    import staff.cli

    t = sub.add_parser("triage", help="crisis + intent triage of messages read one per line on stdin (JSON lines out)")
    t.add_argument("--no-rasa", action="store_true", help="force the in-process fallback classifier")
    t.set_defaults(func=_triage)

    n = sub.add_parser("nlu", help="NLU tools")
    nsub = n.add_subparsers(dest="nlu_command", required=True)
    np_ = nsub.add_parser("parse", help="print the parse of TEXT as JSON")
    np_.add_argument("text")
    np_.add_argument("--no-rasa", action="store_true")
    np_.set_defaults(func=_nlu_parse)

    p = sub.add_parser("staff", help="staff accounts (counsellors, supervisors, editors, admins)")
    staff.cli.add_arguments(p)
    p.set_defaults(func=_with_container(_staff))
