"""Run the real processes (embedded Redis, emulator, web, worker) for integration and e2e tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status < 500:
                    return
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up: {last}")


OPS_TOKEN = "test-ops-token"
OPS_HEADERS = {"Authorization": f"Bearer {OPS_TOKEN}"}


class System:
    """Processes of one civicbot deployment on loopback; each can be stopped, killed and restarted."""

    def __init__(self, tmp: Path, redis_url: str, extra_env: dict[str, str] | None = None) -> None:
        self.tmp = tmp
        self.web_port = free_port()
        self.emulator_port = free_port()
        self.env = dict(
            os.environ,
            CIVICBOT_DEMO="1",
            REDIS_URL=redis_url,
            CIVICBOT_DATA_DIR=str(tmp),
            CIVICBOT_WEB_PORT=str(self.web_port),
            CIVICBOT_EMULATOR_PORT=str(self.emulator_port),
            CIVICBOT_LINE_API_URL=f"http://127.0.0.1:{self.emulator_port}",
            CIVICBOT_NLU_URL="http://127.0.0.1:9",  # no Rasa: the in-process fallback answers
            CIVICBOT_OPS_TOKEN=OPS_TOKEN,  # /metrics and the detail of /readyz answer only with it
            **(extra_env or {}),
        )
        self.procs: dict[str, subprocess.Popen] = {}

    @property
    def emulator(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start(self, name: str) -> None:
        """Start process ``name``: web, worker, scheduler or emulator, optionally numbered (``web2``, ``worker3``) —
        several web processes share the port with ``CIVICBOT_WEB_REUSE_PORT=1``."""
        kind = name.rstrip("0123456789")
        cmd = {
            "emulator": ["emulator"],
            "web": ["serve", "web"],
            "worker": ["serve", "worker"],
            "scheduler": ["serve", "scheduler"],
        }[kind]
        log = open(self.tmp / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen([sys.executable, "-m", "app.cli", *cmd], env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        if kind == "emulator":
            wait_http(self.emulator + "/_emulator/stats")
        elif kind == "web":
            self._wait_log(name, "web listening")
            wait_http(self.web + "/healthz")
        elif kind == "worker":
            self._wait_log(name, "worker started")
        elif kind == "scheduler":
            self._wait_log(name, "scheduler standing by")

    def _wait_log(self, name: str, needle: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log(name).split("worker stopped")[-1]:
                return
            if self.procs[name].poll() is not None:
                raise RuntimeError(f"{name} exited: {self.log(name)[-2000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"{name} not ready after {timeout} s")

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc and proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # ------------------------------------------------------------ talking to the emulator
    def post(self, path: str, payload: dict | None = None) -> dict | list:
        data = json.dumps(payload or {}).encode()
        req = urllib.request.Request(self.emulator + path, data=data, headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def get(self, path: str) -> dict | list:
        with urllib.request.urlopen(self.emulator + path, timeout=10) as r:
            return json.loads(r.read())

    def say(self, user: str, text: str, tenant: str = "demo") -> dict:
        return self.post("/_emulator/send", {"tenant": tenant, "user_id": user, "text": text})

    def messages_to(self, user: str) -> list[dict]:
        return self.get(f"/_emulator/messages?to={user}")

    def wait_messages(self, user: str, count: int, timeout: float = 30) -> list[dict]:
        deadline = time.monotonic() + timeout
        got: list[dict] = []
        while time.monotonic() < deadline:
            got = self.messages_to(user)
            if len(got) >= count:
                return got
            time.sleep(0.1)
        raise AssertionError(f"expected {count} deliveries to {user}, got {len(got)}: {got}")


def flush(redis_url: str) -> None:
    """Empty the server, or every primary of a cluster (``redis+cluster://``)."""
    import redis as syncredis
    from redis.cluster import ClusterNode, RedisCluster

    from bot.redis_client import cluster_nodes, is_cluster_url

    if is_cluster_url(redis_url):
        client = RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in cluster_nodes(redis_url)])
        client.flushdb(target_nodes=RedisCluster.PRIMARIES)
        client.close()
        return
    syncredis.Redis.from_url(redis_url).flushdb()


@contextlib.contextmanager
def chat_system(
    tmp: Path,
    redis_url: str,
    *,
    prepare: Callable[[str], Awaitable[None]] | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[System]:
    """Emulator, web and worker on a flushed Redis; ``prepare(redis_url)`` seeds data before they start. Every
    process is stopped on exit, also when one of them fails to start."""
    flush(redis_url)
    if prepare is not None:
        asyncio.run(prepare(redis_url))
    system = System(tmp, redis_url, extra_env)
    try:
        for name in ("emulator", "web", "worker"):
            system.start(name)
        yield system
    finally:
        system.stop_all()
