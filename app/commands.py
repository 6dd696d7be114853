"""Operator subcommands contributed by the rooms (staff, nlu, faq, broadcasts, notices). Wired in one place.

Each command attaches to the same data as the running processes (REDIS_URL or the embedded server of
CIVICBOT_DATA_DIR) through the composition root.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable

import alerts.cli
import staff
import staff.cli
from alerts.notices.cli import main as notices_main
from app.bootstrap import Container, open_container, redis_for
from bot.config import Settings
from broadcasts.service import broadcast_status, format_status, seed_subscribers, send_broadcast
from faq.io import FaqImportError, export_csv, import_file, search_queries
from nlu.cli import run_parse, run_triage


def _with_container(
    fn: Callable[[argparse.Namespace, Container], Awaitable[int]],
) -> Callable[[argparse.Namespace, Settings], int]:
    def run(args: argparse.Namespace, settings: Settings) -> int:
        async def go() -> int:
            with redis_for(settings) as url:
                async with open_container(settings, url) as container:
                    return int(await fn(args, container) or 0)

        return asyncio.run(go())

    return run


async def _staff(args: argparse.Namespace, container: Container) -> int:
    return await staff.cli.run(args, staff.RedisStaffStore(container.redis))


def _triage(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(run_triage(sys.stdin, sys.stdout, nlu_url=settings.nlu_url, no_rasa=args.no_rasa))


def _nlu_parse(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(run_parse(args.text, sys.stdout, nlu_url=settings.nlu_url, no_rasa=args.no_rasa))


def _tenant_check(args: argparse.Namespace, container: Container) -> None:
    if args.tenant not in container.tenants:
        raise SystemExit(f"civicbot: unknown tenant {args.tenant!r} (known: {', '.join(sorted(container.tenants))})")


async def _faq(args: argparse.Namespace, container: Container) -> int:
    _tenant_check(args, container)
    store, index = container.ports.faq_store, container.ports.faq_index
    if args.faq_command == "import":
        try:
            report = await import_file(store, args.tenant, args.file, who="cli")
        except FaqImportError as exc:
            print(f"civicbot faq import: {exc}", file=sys.stderr)
            return 2
        print(report.summary())
        return 1 if report.errors and not (report.created or report.updated or report.unchanged) else 0
    if args.faq_command == "export":
        if args.output:
            with open(args.output, "w", encoding="utf-8-sig", newline="") as out:
                n = await export_csv(store, args.tenant, out)
        else:
            n = await export_csv(store, args.tenant, sys.stdout)
        print(f"{n} entries exported", file=sys.stderr)
        return 0
    async for record in search_queries(index, args.tenant, sys.stdin, top=args.top):
        print(json.dumps(record, ensure_ascii=False), flush=True)
    return 0


def _notices_parse(args: argparse.Namespace, settings: Settings) -> int:
    return int(notices_main(args.files))


async def _subscribers(args: argparse.Namespace, container: Container) -> int:
    _tenant_check(args, container)
    n = await seed_subscribers(container.users, args.tenant, args.count, languages=tuple(args.languages.split(",")))
    print(f"{n} synthetic subscribers (marked synthetic=True, ids U<tenant>-synthetic-…) in tenant {args.tenant}")
    return 0


async def _broadcast(args: argparse.Namespace, container: Container) -> int:
    deliverer = container.ports.deliverer
    if args.broadcast_command == "send":
        _tenant_check(args, container)
        job_id = await send_broadcast(
            deliverer, args.tenant, args.text, all_friends=args.all, area=args.area, priority=args.priority
        )
        print(job_id)
        return 0
    status = await broadcast_status(deliverer, args.job_id)
    print(format_status(status, as_json=args.json))
    return 0 if status is not None else 1


async def _rebuild_indexes(args: argparse.Namespace, container: Container) -> int:
    tenants = list(args.tenant or container.tenants)
    await alerts.cli.rebuild_indexes(container.ports.alerts.store, container.users, tenants)
    return 0


def _alerts(args: argparse.Namespace, settings: Settings) -> int:
    if getattr(args, "alerts_command", None) == "rebuild-indexes":
        return _with_container(_rebuild_indexes)(args, settings)
    return alerts.cli.run(args, default_mock_url=f"http://127.0.0.1:{settings.mockfeed_port}")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the rooms' subcommands to the `civicbot` parser."""
    t = sub.add_parser("triage", help="crisis + intent triage of messages read one per line on stdin (JSON lines out)")
    t.add_argument("--no-rasa", action="store_true", help="force the in-process fallback classifier")
    t.set_defaults(func=_triage)

    n = sub.add_parser("nlu", help="NLU tools")
    nsub = n.add_subparsers(dest="nlu_command", required=True)
    np_ = nsub.add_parser("parse", help="print the parse of TEXT as JSON")
    np_.add_argument("text")
    np_.add_argument("--no-rasa", action="store_true")
    np_.set_defaults(func=_nlu_parse)

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
    f.set_defaults(func=_with_container(_faq))

    alerts.cli.add_parsers(sub)
    for name in ("alerts", "demo-alert"):
        sub.choices[name].set_defaults(func=_alerts)

    sb = sub.add_parser("subscribers", help="subscriber tools (load tests)")
    sbsub = sb.add_subparsers(dest="subscribers_command", required=True)
    seed = sbsub.add_parser("seed", help="create N synthetic, clearly marked subscribers for load tests")
    seed.add_argument("--tenant", required=True)
    seed.add_argument("--count", type=int, required=True)
    seed.add_argument("--languages", default="ja", help="comma-separated, spread round-robin")
    sb.set_defaults(func=_with_container(_subscribers))

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
    b.set_defaults(func=_with_container(_broadcast))

    no = sub.add_parser("notices", help="police / child-safety notices")
    nosub = no.add_subparsers(dest="notices_command", required=True)
    nop = nosub.add_parser("parse", help="parse .eml notices and print one JSON line each")
    nop.add_argument("files", nargs="+")
    nop.set_defaults(func=_notices_parse)

    p = sub.add_parser("staff", help="staff accounts (counsellors, supervisors, editors, admins)")
    staff.cli.add_arguments(p)
    p.set_defaults(func=_with_container(_staff))
