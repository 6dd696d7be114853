"""The production processes (`civicbot serve web|worker|scheduler`) and the LINE emulator (`civicbot emulator`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import uvloop
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app.bootstrap import open_container, redis_for
from app.web import create_web_app
from bot.config import Settings, load_tenants
from bot.leases import run_as_leader
from bot.logs import setup_logging
from bot.router import MeteredNlu
from bot.worker import WorkerDeps, run_worker
from emulator.app import EmulatorOptions, run
from kpi.metrics import Metrics, create_metrics, serve_metrics

log = logging.getLogger("civicbot.cli")


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def _serve_web(settings: Settings, redis_url: str) -> None:
    app = create_web_app(settings, redis_url)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.web_host, settings.web_port, reuse_port=settings.web_reuse_port or None)
    await site.start()
    log.info("web listening", extra={"url": f"http://{settings.web_host}:{settings.web_port}"})
    try:
        await _stop_event().wait()
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def _metrics_server(process: str, port: int | None) -> AsyncIterator[Metrics]:
    """Prometheus `/metrics` for processes without a web app, when a port is configured."""
    metrics = create_metrics(process)
    if not port:
        yield metrics
        return
    async with serve_metrics(metrics, "127.0.0.1", port):
        log.info("metrics listening", extra={"url": f"http://127.0.0.1:{port}/metrics"})
        yield metrics


async def _serve_worker(settings: Settings, redis_url: str) -> None:
    async with (
        open_container(settings, redis_url, chat=True) as c,
        _metrics_server("worker", settings.worker_metrics_port) as metrics,
    ):
        stop = _stop_event()
        if c.rooms.nlu is not None:
            c.rooms.nlu = MeteredNlu(c.rooms.nlu, metrics)
        deps = WorkerDeps(c.tenants, c.inbox, c.leases, c.dispatcher, c.line, settings.loading_after_seconds, metrics)
        tasks = [asyncio.create_task(run_worker(deps, stop), name="chat")]
        for name, factory in c.worker_tasks.items():
            tasks.append(asyncio.create_task(factory(stop), name=name))
        await stop.wait()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    failed = [(t.get_name(), r) for t, r in zip(tasks, results) if isinstance(r, Exception)]
    for name, exc in failed:  # a loop that died stops the whole process: say why, and exit non-zero for the supervisor
        log.error("worker task failed", exc_info=exc, extra={"task": name})
    if failed:
        raise SystemExit(1)


async def _serve_scheduler(settings: Settings, redis_url: str) -> None:
    """One scheduler leads (lease ``scheduler``); another started by mistake stands by and takes over when the
    leader dies (bot.leases.run_as_leader), so no JMA telegram is polled and pushed by two schedulers."""
    async with open_container(settings, redis_url) as c, _metrics_server("scheduler", settings.scheduler_metrics_port):
        stop = _stop_event()

        async def lead(lost: asyncio.Event) -> None:
            scheduler = AsyncIOScheduler(timezone="Asia/Tokyo")

            async def heartbeat() -> None:
                await c.redis.set("cb:scheduler:heartbeat", str(time.time()))

            scheduler.add_job(heartbeat, "interval", seconds=15, id="heartbeat")
            for register in c.scheduler_jobs:
                register(scheduler)
            scheduler.start()
            await heartbeat()
            log.info("scheduler started", extra={"jobs": [j.id for j in scheduler.get_jobs()]})
            try:
                await asyncio.wait(
                    [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())], return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                scheduler.shutdown(wait=False)

        log.info("scheduler standing by", extra={"lease": "scheduler"})
        await run_as_leader(
            c.leases,
            "scheduler",
            f"{socket.gethostname()}:{os.getpid()}",
            lead,
            stop,
            ttl_seconds=settings.scheduler_lease_seconds,
            poll_seconds=settings.scheduler_standby_poll_seconds,
        )


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    setup_logging(args.process)
    runner = {"web": _serve_web, "worker": _serve_worker, "scheduler": _serve_scheduler}[args.process]
    with redis_for(settings) as redis_url:
        _run(runner(settings, redis_url))
    return 0


def _run(coro: Coroutine[Any, Any, None]) -> None:
    """uvloop (a pinned dependency: less per-await overhead on the webhook path; bench/webhook.py)."""
    uvloop.run(coro)


def cmd_emulator(args: argparse.Namespace, settings: Settings) -> int:
    setup_logging("emulator")
    tenants = load_tenants(settings.tenants_path(), demo=settings.demo)
    bot_url = args.bot_url or f"http://127.0.0.1:{settings.web_port}"
    run(tenants, bot_url, host=args.host, port=args.port or settings.emulator_port, options=EmulatorOptions())
    return 0
