"""Helpers for the delivery engine tests: a fake LINE, an in-memory user store, fast engine options."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest

from bot.users import MemoryUserStore, User
from broadcasts.engine import DeliveryWorker, EngineOptions, RedisDeliverer
from broadcasts.friends import FriendsAudience
from broadcasts.line import FakeLinePort
from broadcasts.ratelimit import MemoryRateLimiter

FAST = EngineOptions(
    concurrency=8,
    backoff_base=0.001,
    backoff_cap=0.005,
    reclaim_idle_seconds=0.3,
    reclaim_interval=0.05,
    resume_interval=0.05,
    poll_max=0.02,
    lane_cache_seconds=0.0,
    monthly_limit_retry_seconds=0.3,
)


@pytest.fixture
def line() -> FakeLinePort:
    return FakeLinePort()


@pytest.fixture
def users() -> MemoryUserStore:
    return MemoryUserStore()


@pytest.fixture
def deliverer(redis) -> RedisDeliverer:
    return RedisDeliverer(redis)


async def add_users(users: MemoryUserStore, tenant: str, count: int, languages=("ja",), start: int = 0) -> list[str]:
    ids = []
    for i in range(start, start + count):
        uid = f"U{tenant}{i:06d}"
        await users.save(User(tenant=tenant, user_id=uid, language=languages[i % len(languages)]))
        ids.append(uid)
    return ids


def make_worker(redis, line, users, *, tenants=("t1",), audience=None, options=FAST, name=None, rates=None) -> DeliveryWorker:
    return DeliveryWorker(
        redis,
        line,
        audience or FriendsAudience(users),
        users,
        list(tenants),
        limiter=MemoryRateLimiter({"multicast": 1e9, "push": 1e9, **(rates or {})}),
        options=options,
        name=name,
        rng=random.Random(7),
    )


RUNNING: list[Running] = []


class Running:
    """A worker running in the background of a test."""

    def __init__(self, worker: DeliveryWorker) -> None:
        self.worker = worker
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(worker.run(self.stop))
        self.crashed = False
        RUNNING.append(self)

    async def halt(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 15)

    async def crash(self) -> None:
        """Die without cleaning up: in-flight entries stay pending in Redis (like kill -9)."""
        self.crashed = True
        self.task.cancel()
        done, _ = await asyncio.wait([self.task], timeout=10)
        if not done:
            import sys
            for t in asyncio.all_tasks():
                t.print_stack(file=sys.stderr)
            raise AssertionError("worker did not die when cancelled")


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            for r in RUNNING:  # a worker that died on its own is a bug: show why instead of timing out
                if r.task.done() and not r.crashed and not r.stop.is_set():
                    r.task.result()
                    raise AssertionError("worker stopped by itself")
            await asyncio.sleep(0.01)


async def job_done(deliverer: RedisDeliverer, job_id: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        st = await deliverer.status(job_id)
        return st is not None and st.state in ("done", "cancelled") and st.finished_at is not None

    return check
