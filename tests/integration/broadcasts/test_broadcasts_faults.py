"""Fault tests with real processes: kill -9 a worker mid-job, kill -9 Redis mid-job (AOF). The emulator judges."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.redis_server import embedded_redis
from bot.users import RedisUserStore
from broadcasts.audience import AudienceQuery
from broadcasts.engine import RedisDeliverer
from broadcasts.jobs import DeliveryJob
from broadcasts.service import seed_subscribers
from tests.integration.broadcasts.conftest import TENANTS

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]


def start_worker(redis_url: str, line_url: str, name: str, rate: float = 10.0) -> subprocess.Popen:
    """A worker process limited to ``rate`` multicasts/s, so that a job is still running when we kill things."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.delivery_worker", "--redis-url", redis_url, "--line-url", line_url,
         "--tenant", "t1", "--reclaim-idle", "2", "--concurrency", "8", "--name", name, "--rate", f"multicast={rate}"],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    proc.stdin.write(json.dumps({t: v.channel_token.get_secret_value() for t, v in TENANTS.items()}) + "\n")
    proc.stdin.close()
    return proc


def stop_worker(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def broadcast_job(text: str) -> DeliveryJob:
    return DeliveryJob(
        tenant="t1",
        audience=AudienceQuery(tenant="t1", all_friends=True),
        messages={"ja": [{"type": "text", "text": text}]},
        priority="emergency",
    )


async def until(predicate, timeout: float = 120.0, every: float = 0.1) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(every)


async def test_kill9_worker_mid_100k_job_then_restart_everyone_exactly_once(redis, redis_url, emulator):
    await _kill9_worker_scenario(redis, redis_url, emulator, 100_000)


async def _kill9_worker_scenario(redis, redis_url, emulator, n: int) -> None:
    """Worker A is killed with SIGKILL once a fifth of the recipients have the message (batches in flight, some
    of them accepted by LINE but not yet settled); worker B reclaims A's pending batches and finishes the job."""
    users = RedisUserStore(redis)
    await seed_subscribers(users, "t1", n)
    await emulator.configure(slow_rate=0.3, slow_ms=150)
    job_id = await RedisDeliverer(redis).submit(broadcast_job("大津波警報が発表されました。"))
    a = start_worker(redis_url, emulator.url, "A")
    try:
        await until(lambda: _deliveries_at_least(emulator, n // 5), timeout=120 + n / 500)
        a.send_signal(signal.SIGKILL)
        a.wait()
        killed_at = (await emulator.stats())["deliveries"]
        assert killed_at < n
        b = start_worker(redis_url, emulator.url, "B", rate=50)
        try:
            await until(lambda: _job_done(redis, job_id), timeout=120 + n / 500)
        finally:
            stop_worker(b)
    finally:
        stop_worker(a)
    assert await emulator.stats() == {"deliveries": n, "unique_recipients": n, "duplicates": 0}
    st = await RedisDeliverer(redis).status(job_id)
    assert (st.sent, st.failed, st.state) == (n, 0, "done")


async def test_redis_kill9_mid_job_loses_no_acknowledged_job(tmp_path, emulator):
    data_dir = tmp_path / "redis"
    cm = embedded_redis(data_dir, appendonly=True)
    handle = cm.__enter__()
    port = int(handle.url.rsplit(":", 1)[1].split("/")[0])
    client = aioredis.Redis.from_url(handle.url, decode_responses=True)
    worker = None
    try:
        n = 8000
        await seed_subscribers(RedisUserStore(client), "t1", n)
        await emulator.configure(slow_rate=0.5, slow_ms=100)
        job_id = await RedisDeliverer(client).submit(broadcast_job("土砂災害警戒情報が発表されました。"))
        worker = start_worker(handle.url, emulator.url, "W")
        await until(lambda: _deliveries_at_least(emulator, 1500))
        os.kill(int((data_dir / "redis.pid").read_text()), signal.SIGKILL)
        await asyncio.sleep(1.0)
        cm2 = embedded_redis(data_dir, port=port, appendonly=True)  # same files, same port: the AOF is replayed
        cm2.__enter__()
        try:
            await client.aclose()
            client = aioredis.Redis.from_url(handle.url, decode_responses=True)
            assert await RedisDeliverer(client).status(job_id) is not None  # the acknowledged job survived
            await until(lambda: _job_done(client, job_id))
            stats = await emulator.stats()
            st = await RedisDeliverer(client).status(job_id)
        finally:
            stop_worker(worker)
            await client.aclose()
            cm2.__exit__(None, None, None)
    finally:
        if worker is not None:
            stop_worker(worker)
        try:
            cm.__exit__(None, None, None)
        except Exception:
            pass
    assert stats == {"deliveries": n, "unique_recipients": n, "duplicates": 0}
    assert (st.sent, st.state) == (n, "done")


async def _deliveries_at_least(emulator, count: int) -> bool:
    return (await emulator.stats())["deliveries"] >= count


async def _job_done(client, job_id: str) -> bool:
    st = await RedisDeliverer(client).status(job_id)
    return st is not None and st.state == "done"
