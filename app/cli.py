"""The `civicbot` command: run processes and operate the system.

civicbot serve web|worker|scheduler     run one production process
civicbot emulator                       LINE platform emulator + resident simulator
civicbot demo                           everything on embedded defaults (make demo)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import uvloop
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app import commands
from app.bootstrap import open_container, redis_for
from app.demo import prepare_demo
from app.web import create_web_app
from bot.config import REPO_ROOT, ConfigError, Settings, load_tenants
from bot.logs import setup_logging
from bot.redis_server import embedded_redis
from bot.router import MeteredNlu
from bot.worker import WorkerDeps, run_worker
from emulator.app import EmulatorOptions, run
from kpi.metrics import Metrics, create_metrics, serve_metrics

log = logging.getLogger("civicapp.cli")


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


# ---------------------------------------------------------------- processes


async def _serve_web(settings: Settings, redis_url: str) -> None:
    app = create_web_app(settings, redis_url)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.web_host, settings.web_port)
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
        tasks = [asyncio.create_task(run_worker(deps, stop))]
        for name, factory in c.worker_tasks.items():
            tasks.append(asyncio.create_task(factory(stop), name=name))
        await stop.wait()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _serve_scheduler(settings: Settings, redis_url: str) -> None:
    async with open_container(settings, redis_url) as c, _metrics_server("scheduler", settings.scheduler_metrics_port):
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
            await _stop_event().wait()
        finally:
            scheduler.shutdown(wait=False)


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


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Start embedded Redis, the emulator + simulator, web, worker, scheduler and (when installed) Rasa."""
    setup_logging("demo")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["CIVICBOT_DEMO"] = "1"
    env.setdefault("CIVICBOT_LINE_API_URL", f"http://127.0.0.1:{settings.emulator_port}")
    exe = [sys.executable, "-m", "app.cli"]
    procs: list[tuple[str, subprocess.Popen]] = []
    logs_dir = settings.data_dir / "logs"
    logs_dir.mkdir(parents=True, exist_ok=True)
    with embedded_redis(settings.data_dir / "redis") as handle:
        env["REDIS_URL"] = handle.url
        prepare_demo(env)  # staff accounts and the sample FAQ of the demo tenants
        commands = [
            ("emulator", exe + ["emulator"]),
            ("web", exe + ["serve", "web"]),
            ("worker", exe + ["serve", "worker"]),
            ("scheduler", exe + ["serve", "scheduler"]),
        ]
        if "CIVICBOT_JMA_FEED_BASE_URL" not in os.environ:  # no internet needed: a local stand-in for JMA's feeds
            commands.insert(0, ("mockfeed", exe + ["alerts", "mockfeed", "--port", str(settings.mockfeed_port)]))
            env["CIVICBOT_JMA_FEED_BASE_URL"] = f"http://127.0.0.1:{settings.mockfeed_port}/developer/xml/feed/"
            env.setdefault("CIVICBOT_JMA_POLL_SECONDS", "10")
        rasa_serve = REPO_ROOT / "nlu" / "scripts" / "serve.sh"
        if rasa_serve.exists() and (REPO_ROOT / ".venv-rasa").exists() and not args.no_rasa:
            commands.append(("nlu", ["bash", str(rasa_serve), env.get("CIVICBOT_NLU_PORT", "5005")]))
        try:
            for name, cmd in commands:
                out = open(logs_dir / f"{name}.log", "ab")
                procs.append(
                    (
                        name,
                        subprocess.Popen(
                            cmd, env=env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                        ),
                    )
                )
            print(
                "\n civicbot demo is running (Ctrl-C stops everything)\n"
                f"   resident simulator : http://127.0.0.1:{settings.emulator_port}/\n"
                f"   webhook            : http://127.0.0.1:{settings.web_port}/callback/demo\n"
                f"   counsellor console : http://127.0.0.1:{settings.web_port}/console\n"
                f"   admin              : http://127.0.0.1:{settings.web_port}/admin\n"
                f"   public dashboard   : http://127.0.0.1:{settings.web_port}/dashboard\n"
                f"   JMA mock feed      : civicbot demo-alert FILE publishes a telegram (alerts/README.md)\n"
                f"   logs               : {logs_dir}/\n",
                flush=True,
            )
            stop = {"now": False}

            def _stop(*_: object) -> None:
                stop["now"] = True

            signal.signal(signal.SIGINT, _stop)
            signal.signal(signal.SIGTERM, _stop)
            while not stop["now"]:
                for name, proc in procs:
                    if proc.poll() is not None and name != "nlu":
                        print(f" {name} exited with {proc.returncode}; see {logs_dir / (name + '.log')}", flush=True)
                        stop["now"] = True
                time.sleep(0.3)
        finally:
            for _, proc in procs:
                if proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            for _, proc in procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                if proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
            print(" stopped.", flush=True)
    return 0


# ---------------------------------------------------------------- entry point


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="civicbot", description="LINE chatbot for Osaka's municipalities")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run a production process")
    s.add_argument("process", choices=["web", "worker", "scheduler"])
    s.set_defaults(func=cmd_serve)

    e = sub.add_parser("emulator", help="LINE platform emulator and resident simulator")
    e.add_argument("--host", default="127.0.0.1")
    e.add_argument("--port", type=int, default=None)
    e.add_argument(
        "--bot-url", default=None, help="where the bot's webhook listens (default http://127.0.0.1:$CIVICBOT_WEB_PORT)"
    )
    e.set_defaults(func=cmd_emulator)

    d = sub.add_parser("demo", help="start the whole system on embedded defaults")
    d.add_argument("--no-rasa", action="store_true", help="do not start the Rasa server (the fallback NLU answers)")
    d.set_defaults(func=cmd_demo)

    commands.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
        return int(args.func(args, settings) or 0)
    except ConfigError as exc:
        print(f"civicbot: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
