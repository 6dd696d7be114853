"""The embedded Redis: AOF persistence across restarts, attach by a second process, no server left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import redis

from bot.redis_server import _ping, embedded_redis


def test_data_survives_a_restart_with_aof(tmp_path):
    with embedded_redis(tmp_path) as handle:
        assert handle.owned
        redis.Redis.from_url(handle.url).set("k", "v")
    with embedded_redis(tmp_path) as handle:
        assert redis.Redis.from_url(handle.url).get("k") == b"v"


def test_second_user_attaches_without_owning(tmp_path):
    with embedded_redis(tmp_path) as first, embedded_redis(tmp_path) as second:
        assert first.owned and not second.owned and first.url == second.url


def test_server_stops_when_its_owner_is_killed(tmp_path):
    script = textwrap.dedent(
        f"""
        import time
        from bot.redis_server import embedded_redis
        with embedded_redis({str(tmp_path)!r}) as h:
            print(h.url.rsplit(":", 1)[1].split("/")[0], flush=True)
            time.sleep(60)
        """
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    port = int(owner.stdout.readline())
    assert _ping(port)
    owner.send_signal(signal.SIGKILL)  # no cleanup code runs
    owner.wait()
    deadline = time.monotonic() + 10
    while _ping(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _ping(port)
