"""`civicbot demo` (make demo): every process on embedded defaults, with demo staff accounts and the sample FAQ."""

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

import staff
import staff.cli
from bot.config import REPO_ROOT, Settings, load_tenants
from bot.logs import setup_logging
from bot.redis_client import connect as connect_redis
from bot.redis_server import embedded_redis
from faq.demo import load_demo_faq
from garbage.demo import load_demo_garbage

log = logging.getLogger("civicapp.demo")

DEMO_PASSWORD = "demo-password-2026"  # demo mode only; printed by `make demo`


async def _prepare(redis_url: str) -> list[str]:
    settings = Settings(demo=True)
    tenants = load_tenants(settings.tenants_path(), demo=True)
    demo_ids = [tid for tid, t in tenants.items() if t.demo]
    client = connect_redis(redis_url)
    try:
        notes = []
        created = await staff.cli.seed_demo_accounts(staff.RedisStaffStore(client), demo_ids, DEMO_PASSWORD)
        if created:
            notes.append(f"staff accounts created: {', '.join(created)}")
        notes.extend(await load_demo_faq(client, tenants))
        notes.extend(await load_demo_garbage(client, tenants))
        return notes
    finally:
        await client.aclose()


def prepare_demo(env: dict[str, str]) -> None:
    notes = asyncio.run(_prepare(env["REDIS_URL"]))
    for note in notes:
        print(f" demo: {note}", flush=True)
    print(f" demo: staff login — tenant demo, user counsellor1 / supervisor / admin, password {DEMO_PASSWORD}", flush=True)


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
