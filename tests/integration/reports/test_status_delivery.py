"""Status notices through the real delivery engine (Redis) and line-bot-sdk against the LINE emulator, with LINE
answering 5xx: the notice is retried with its retry key until LINE takes it, so the reporter and the follower each
get it once, in their language — where a push given up after three tries used to be lost."""

from __future__ import annotations

import asyncio
import random

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr

from app.reports_delivery import EngineNotices, ReportsAudience
from bot.config import Tenant
from bot.users import RedisUserStore, User
from broadcasts.engine import DeliveryWorker, EngineOptions, RedisDeliverer
from broadcasts.line import SdkLinePort, SendOutcome
from broadcasts.ratelimit import RedisRateLimiter
from emulator.app import STATE, create_app
from emulator.options import EmulatorOptions
from reports.model import Report
from reports.service import change_status, notify
from reports.store import RedisReportStore
from reports.testing import make_deps

TENANT = Tenant(id="demo", display_name="デモ市", lg_code="271004", channel_token=SecretStr("tok-demo"), channel_secret=SecretStr("s"))
# production retries 12 times with backoff up to 30 s; here the same engine, quicker
OPTS = EngineOptions(backoff_base=0.02, backoff_cap=0.1, max_attempts=40, reclaim_idle_seconds=2, reclaim_interval=0.2,
                     poll_max=0.02, resume_interval=0.1)


class Answers:
    """The LINE port the engine uses, noting the HTTP status of every answer LINE gave."""

    def __init__(self, inner: SdkLinePort) -> None:
        self.inner = inner
        self.statuses: list[int] = []

    async def push(self, tenant, to, messages, retry_key) -> SendOutcome:
        out = await self.inner.push(tenant, to, messages, retry_key)
        self.statuses.append(out.status)
        return out

    async def multicast(self, tenant, to, messages, retry_key) -> SendOutcome:
        out = await self.inner.multicast(tenant, to, messages, retry_key)
        self.statuses.append(out.status)
        return out

    async def quota(self, tenant):
        return await self.inner.quota(tenant)


@pytest.fixture
async def world(redis):
    app = create_app({"demo": TENANT}, "http://127.0.0.1:9", EmulatorOptions(seed=7))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    line = Answers(SdkLinePort({"demo": "tok-demo"}, url, timeout_seconds=2.0))
    users, reports = RedisUserStore(redis), RedisReportStore(redis)
    deliverer = RedisDeliverer(redis)
    deps, *_ = make_deps()
    deps.reports, deps.users, deps.notices = reports, users, EngineNotices(deliverer)
    worker = DeliveryWorker(redis, line, ReportsAudience(reports, users), users, ["demo"],
                            limiter=RedisRateLimiter(redis, {}), options=OPTS, rng=random.Random(18))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))

    async def configure(**changes) -> None:
        async with aiohttp.ClientSession() as s, s.post(f"{url}/_emulator/config", json=changes) as resp:
            assert resp.status == 200, await resp.text()

    try:
        yield deps, deliverer, line, app[STATE], configure
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await line.inner.close()
        await runner.cleanup()


async def until(check, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.02)


async def test_a_line_5xx_delays_the_status_notice_but_loses_and_doubles_nothing(world):
    deps, deliverer, line, emulator, configure = world
    await deps.users.save(User(tenant="demo", user_id="Ureporter", language="ja"))
    await deps.users.save(User(tenant="demo", user_id="Ufollower", language="vi"))
    await deps.users.save(User(tenant="demo", user_id="Ublocked", language="ja", active=False))
    await deps.reports.create(Report(tenant="demo", id="R000001", category="pothole", lat=34.69, lng=135.50,
                                     created_at=deps.clock(), reporter="Ureporter", followers=["Ufollower", "Ublocked"]))
    await configure(fault_rate=1.0)  # LINE answers 500 to everything

    report = await change_status(deps, "demo", "R000001", "closed", "穴を埋めました。", "staff")

    async def five_failures() -> bool:
        return line.statuses.count(500) >= 5  # the former push gave up after 3 and recorded "notify_failed"

    await until(five_failures)
    assert emulator.ledger.stats()["deliveries"] == 0
    await configure(fault_rate=0.0, fault_after_delivery_rate=1.0)  # LINE delivers, then answers 500 anyway
    [job] = await deliverer.list_jobs("demo")

    async def done() -> bool:
        st = await deliverer.status(job.job_id)
        return st is not None and st.state == "done"

    await until(done)
    st = await deliverer.status(job.job_id)
    assert (st.kind, st.recipients, st.sent, st.failed) == ("reports:status", 2, 2, 0)
    assert 409 in line.statuses  # the retry after "delivered, then 500" carried the same retry key
    assert emulator.ledger.stats() == {"deliveries": 2, "unique_recipients": 2, "duplicates": 0}
    [ja] = emulator.ledger.deliveries(to="Ureporter")
    [vi] = emulator.ledger.deliveries(to="Ufollower")
    assert "R000001" in ja.messages[0]["text"] and "「完了」" in ja.messages[0]["text"] and "穴を埋めました" in ja.messages[0]["text"]
    assert "Đã xong" in vi.messages[0]["text"]
    assert emulator.ledger.deliveries(to="Ublocked") == []

    assert await notify(deps, report) == job.job_id  # the same change handed over again is the same delivery
    await asyncio.sleep(0.3)
    assert emulator.ledger.stats()["deliveries"] == 2 and len(await deliverer.list_jobs("demo")) == 1
