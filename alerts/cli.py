"""Commands the lead mounts in ``app/cli.py``: ``civicbot alerts parse``, ``alerts mockfeed``, ``demo-alert``.

``add_parsers(subparsers)`` + ``run(args)`` mount everything; the functions below are usable on their own.

* ``parse_command(paths)`` prints one JSON line per file (errors included, as ``{"file", "error"}``) and
  returns the exit status (1 when any file failed).
* ``serve_mockfeed(host, port, stop, seed_dir=None)`` runs the local JMA feed stand-in (demo, tests).
* ``demo_alert(file, mock_url)`` publishes a telegram to that server; the scheduler's poller picks it up on its
  next cycle (``FeedConfig(base_url=mock_url + "/developer/xml/feed/", interval_s=…)`` in demo mode).
* ``rebuild_indexes(redis_url, tenants)`` (``civicbot alerts rebuild-indexes``) migrates users and subscriptions
  stored by an earlier release to the current Redis layout (index-keyed records + bitmaps, ``bot.roster``) and
  re-derives every index entry; idempotent, safe while the bot runs (the scheduler also runs it at start).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import TextIO

import aiohttp
from aiohttp import web

from alerts.jma.parser import TelegramError, parse_file
from alerts.mockfeed import MockFeed, make_app
from alerts.subscriptions import RedisSubscriptionStore
from bot.users import RedisUserStore


def parse_command(paths: list[str], out: TextIO | None = None) -> int:
    out = out or sys.stdout
    status = 0
    for p in paths:
        try:
            line = parse_file(p).to_json(p)
        except (TelegramError, OSError) as exc:
            line = {"file": p, "error": str(exc)}
            status = 1
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return status


async def serve_mockfeed(host: str, port: int, stop: asyncio.Event, seed_dir: Path | None = None) -> MockFeed:
    feed = MockFeed(base_url=f"http://{host}:{port}")
    for f in sorted(seed_dir.glob("*.xml")) if seed_dir else []:
        feed.publish(f.read_bytes())
    runner = web.AppRunner(make_app(feed), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
    return feed


async def demo_alert(file: str, mock_url: str) -> dict:
    data = Path(file).read_bytes()
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{mock_url.rstrip('/')}/publish", data=data) as resp:
            resp.raise_for_status()
            return await resp.json()


async def rebuild_indexes(
    store: RedisSubscriptionStore, users: RedisUserStore, tenants: list[str], *, out: TextIO | None = None
) -> dict[str, int]:
    """Tenant → subscription documents indexed; one JSON line per tenant on ``out``. The composition root passes
    the stores (``civicbot alerts rebuild-indexes``, app/commands.py)."""
    out = out or sys.stdout
    done: dict[str, int] = {}
    for tenant in tenants:
        moved = await users.migrate_legacy(tenant)
        done[tenant] = await store.rebuild_indexes(tenant)
        out.write(json.dumps({"tenant": tenant, "subscriptions": done[tenant], "users_migrated": moved}) + "\n")
    return done


MOCKFEED_PORT = 9191


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Mount ``alerts parse|mockfeed`` and ``demo-alert`` on the ``civicbot`` parser (``app/cli.py``)."""
    a = sub.add_parser("alerts", help="JMA 防災情報XML tools")
    asub = a.add_subparsers(dest="alerts_command", required=True)
    p = asub.add_parser("parse", help="print one JSON line per telegram file")
    p.add_argument("files", nargs="+")
    m = asub.add_parser("mockfeed", help="serve a local stand-in for JMA's feeds (demo)")
    m.add_argument("--host", default="127.0.0.1")
    m.add_argument("--port", type=int, default=MOCKFEED_PORT)
    m.add_argument("--seed-dir", type=Path, default=None)
    r = asub.add_parser("rebuild-indexes", help="migrate stored users and subscriptions to the current Redis layout")
    r.add_argument("--tenant", action="append", default=[], help="repeatable; default: every configured tenant")
    d = sub.add_parser("demo-alert", help="publish a telegram to the local mock feed")
    d.add_argument("file")
    d.add_argument("--mock-url", default=None, help=f"default: the demo's mock feed (http://127.0.0.1:{MOCKFEED_PORT})")


def run(args: argparse.Namespace, default_mock_url: str | None = None) -> int:
    """Run what ``add_parsers`` mounted; returns the exit status. ``default_mock_url``: where ``demo-alert``
    publishes without ``--mock-url`` — the composition root passes the configured mock feed port, so
    ``CIVICBOT_MOCKFEED_PORT`` moves both ``civicbot demo``'s feed and this command. ``rebuild-indexes`` needs the
    stores of a running system: the composition root runs it (``rebuild_indexes``), not this function."""
    if getattr(args, "command", None) == "demo-alert" or hasattr(args, "mock_url"):
        url = args.mock_url or default_mock_url or f"http://127.0.0.1:{MOCKFEED_PORT}"
        print(json.dumps(asyncio.run(demo_alert(args.file, url)), ensure_ascii=False))
        return 0
    if args.alerts_command == "parse":
        return parse_command(args.files)
    if args.alerts_command == "rebuild-indexes":
        print("rebuild-indexes needs the Redis URL and the tenants of the settings: run `civicbot alerts rebuild-indexes`",
              file=sys.stderr)
        return 2

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve_mockfeed(args.host, args.port, stop, args.seed_dir)

    asyncio.run(serve())
    return 0
