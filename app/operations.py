"""What the operator subcommands do (parsers: app/commands.py). Loaded only when one of them runs.

Each command attaches to the same data as the running processes (REDIS_URL or the embedded server of
CIVICBOT_DATA_DIR) through the composition root.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import alerts.cli
import crisisreview.cli
import disaster.cli
import staff
import staff.cli
from alerts.notices.cli import main as notices_main
from app.bootstrap import Container, crisis_assessor, open_container, redis_for
from app.ports import disaster_ports
from bot.config import Settings, load_tenants
from bot.redis_client import connect as connect_redis
from broadcasts.service import broadcast_status, format_status, seed_subscribers, send_broadcast
from crisisreview import RedisCrisisReviewStore
from faq.io import FaqImportError, export_csv, import_file, search_queries
from garbage.cli import run_export, run_import
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


def triage(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(run_triage(sys.stdin, sys.stdout, nlu_url=settings.nlu_url, no_rasa=args.no_rasa))


def triage_review(args: argparse.Namespace, settings: Settings) -> int:
    """`triage audit` / `triage export`: only Redis, the tenants file and the detector, no container to open."""
    tenants = load_tenants(settings.tenants_path(), demo=settings.demo)
    if args.tenant not in tenants:
        raise SystemExit(f"civicbot: unknown tenant {args.tenant!r} (known: {', '.join(sorted(tenants))})")

    async def go(url: str) -> int:
        client = connect_redis(url)
        try:
            store = RedisCrisisReviewStore(client)
            consent = tenants[args.tenant].crisis_training_consent
            return await crisisreview.cli.run(args, store, crisis_assessor(), consent=consent, out=sys.stdout, err=sys.stderr)
        finally:
            await client.aclose()

    with redis_for(settings) as url:
        return asyncio.run(go(url))


def nlu_parse(args: argparse.Namespace, settings: Settings) -> int:
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


async def _garbage(args: argparse.Namespace, container: Container) -> int:
    _tenant_check(args, container)
    run = run_import if args.garbage_command == "import" else run_export
    return await run(container.ports.garbage.datasets, args.tenant, Path(args.dir))


def notices_parse(args: argparse.Namespace, settings: Settings) -> int:
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


def disaster_cmd(args: argparse.Namespace, settings: Settings) -> int:
    """``civicbot shelters …`` / ``civicbot disaster …``: Redis and the Rich Menu API only, not the chat rooms."""
    tenants = load_tenants(settings.tenants_path(), demo=settings.demo)

    async def go(url: str) -> int:
        client = connect_redis(url)
        deps = disaster_ports(settings, tenants, client, None)
        try:
            return await disaster.cli.run(args, deps)
        finally:
            await deps.menus_api.aclose()
            await client.aclose()

    with redis_for(settings) as url:
        return asyncio.run(go(url))


def alerts_cmd(args: argparse.Namespace, settings: Settings) -> int:
    if getattr(args, "alerts_command", None) == "rebuild-indexes":
        return _with_container(_rebuild_indexes)(args, settings)
    return alerts.cli.run(args, default_mock_url=f"http://127.0.0.1:{settings.mockfeed_port}")


staff_cmd = _with_container(_staff)
faq_cmd = _with_container(_faq)
garbage_cmd = _with_container(_garbage)
subscribers_cmd = _with_container(_subscribers)
broadcast_cmd = _with_container(_broadcast)
