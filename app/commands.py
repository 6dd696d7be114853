"""The `civicbot` subcommands contributed by the rooms (staff, nlu, faq, alerts, broadcasts, notices): their argument
parsers, wired in one place. What each does is in app/operations.py, loaded only when it runs (``entry``).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

import alerts.cli
import crisisreview.cli
import disaster.cli
import staff.cli
from bot.config import Settings

Command = Callable[[argparse.Namespace, Settings], int]


def entry(target: str) -> Command:
    """``"module:function"``, imported when the subcommand runs: the CLI's one deliberate late import. Importing the
    whole app (line-bot-sdk, every room) takes seconds, which `civicbot emulator`, the mock feed, `triage` and the
    other small commands should not pay; each loads only the modules of the command that runs."""
    module, _, name = target.partition(":")

    def run(args: argparse.Namespace, settings: Settings) -> int:
        command: Command = getattr(importlib.import_module(module), name)
        return command(args, settings)

    return run


def register(sub: argparse._SubParsersAction) -> None:
    """Add the rooms' subcommands to the `civicbot` parser."""
    t = sub.add_parser("triage", help="crisis + intent triage of messages read one per line on stdin (JSON lines out)")
    t.add_argument("--no-rasa", action="store_true", help="force the in-process fallback classifier")
    t.set_defaults(func=entry("app.operations:triage"))
    for cmd in crisisreview.cli.add_parsers(t.add_subparsers(dest="triage_command")).values():
        cmd.set_defaults(func=entry("app.operations:triage_review"))

    n = sub.add_parser("nlu", help="NLU tools")
    nsub = n.add_subparsers(dest="nlu_command", required=True)
    np_ = nsub.add_parser("parse", help="print the parse of TEXT as JSON")
    np_.add_argument("text")
    np_.add_argument("--no-rasa", action="store_true")
    np_.set_defaults(func=entry("app.operations:nlu_parse"))

    f = sub.add_parser("faq", help="FAQ import, export and search")
    fsub = f.add_subparsers(dest="faq_command", required=True)
    fi = fsub.add_parser("import", help="import a CSV (UTF-8/BOM/Shift_JIS) or JSON file; re-import by ID updates")
    fi.add_argument("--tenant", required=True)
    fi.add_argument("file")
    fe = fsub.add_parser("export", help="export the tenant's FAQ as CSV")
    fe.add_argument("--tenant", required=True)
    fe.add_argument("-o", "--output", help="write to a file (UTF-8 with BOM, for Excel) instead of stdout")
    fs = fsub.add_parser("search", help="read queries one per line on stdin, print JSON lines")
    fs.add_argument("--tenant", required=True)
    fs.add_argument("--top", type=int, default=10)
    f.set_defaults(func=entry("app.operations:faq_cmd"))

    alerts.cli.add_parsers(sub)
    for name in ("alerts", "demo-alert"):
        sub.choices[name].set_defaults(func=entry("app.operations:alerts_cmd"))

    sb = sub.add_parser("subscribers", help="subscriber tools (load tests)")
    sbsub = sb.add_subparsers(dest="subscribers_command", required=True)
    seed = sbsub.add_parser("seed", help="create N synthetic, clearly marked subscribers for load tests")
    seed.add_argument("--tenant", required=True)
    seed.add_argument("--count", type=int, required=True)
    seed.add_argument("--languages", default="ja", help="comma-separated, spread round-robin")
    sb.set_defaults(func=entry("app.operations:subscribers_cmd"))

    b = sub.add_parser("broadcast", help="send and follow broadcasts (delivery engine)")
    bsub = b.add_subparsers(dest="broadcast_command", required=True)
    bs = bsub.add_parser("send", help="queue a broadcast; prints the job id")
    bs.add_argument("--tenant", required=True)
    target = bs.add_mutually_exclusive_group(required=True)
    target.add_argument("--all", action="store_true", help="every active friend")
    target.add_argument("--area", help="municipality/ward code (5-digit 全国地方公共団体コード or JMA 7-digit)")
    bs.add_argument("--text", required=True)
    bs.add_argument("--priority", choices=["routine", "alert", "emergency"], default="routine")
    bt = bsub.add_parser("status", help="progress and outcome of a job")
    bt.add_argument("job_id")
    bt.add_argument("--json", action="store_true")
    b.set_defaults(func=entry("app.operations:broadcast_cmd"))

    g = sub.add_parser("garbage", help="garbage sorting data (5374.jp layout) and collection-day reminders")
    gsub = g.add_subparsers(dest="garbage_command", required=True)
    for name, what in (
        ("import", "replace the tenant's data with the 5374 CSVs of DIR (nothing changes on any row error)"),
        ("export", "write the tenant's data as 5374 CSVs into DIR"),
    ):
        gp = gsub.add_parser(name, help=what)
        gp.add_argument("--tenant", required=True)
        gp.add_argument("dir")
    g.set_defaults(func=entry("app.operations:garbage_cmd"))

    no = sub.add_parser("notices", help="police / child-safety notices")
    nosub = no.add_subparsers(dest="notices_command", required=True)
    nop = nosub.add_parser("parse", help="parse .eml notices and print one JSON line each")
    nop.add_argument("files", nargs="+")
    nop.set_defaults(func=entry("app.operations:notices_parse"))

    disaster.cli.add_parsers(sub)
    for name in ("shelters", "disaster"):
        sub.choices[name].set_defaults(func=entry("app.operations:disaster_cmd"))

    p = sub.add_parser("staff", help="staff accounts (counsellors, supervisors, editors, admins)")
    staff.cli.add_arguments(p)
    p.set_defaults(func=entry("app.operations:staff_cmd"))
