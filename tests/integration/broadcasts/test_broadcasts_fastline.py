"""``FastMulticastLinePort`` answers like ``SdkLinePort`` (one suite over both), the emulator validating the wire."""

from __future__ import annotations

import random
import uuid

import pytest

from bot.users import RedisUserStore
from broadcasts.engine import DeliveryWorker, EngineOptions, RedisDeliverer
from broadcasts.fastline import FastMulticastLinePort
from broadcasts.friends import FriendsAudience
from broadcasts.line import SdkLinePort
from broadcasts.ratelimit import RedisRateLimiter
from broadcasts.service import seed_subscribers, synthetic_user_id
from tests.integration.broadcasts.conftest import TENANTS
from tests.integration.broadcasts.test_broadcasts_emulator import job
from tests.unit.broadcasts.conftest import Running, job_done, wait_for

TEXT = [{"type": "text", "text": "大雨警報が発表されました。"}]


@pytest.fixture(params=["sdk", "fast"])
async def port(request, emulator):
    cls = SdkLinePort if request.param == "sdk" else FastMulticastLinePort
    tokens = {t: v.channel_token.get_secret_value() for t, v in TENANTS.items()} | {"bad": "not-a-token"}
    p = cls(tokens, emulator.url, timeout_seconds=2.0)
    yield p
    await p.close()


def ids(n: int) -> list[str]:
    return [synthetic_user_id("t1", i) for i in range(n)]


async def test_multicast_delivers_and_a_repeated_retry_key_is_accepted_without_a_second_delivery(port, emulator):
    key = str(uuid.uuid4())
    first = await port.multicast("t1", ids(3), TEXT, key)
    again = await port.multicast("t1", ids(3), TEXT, key)
    assert (first.status, first.accepted) == (200, True)
    assert (again.status, again.accepted) == (409, True)
    assert await emulator.stats() == {"deliveries": 3, "unique_recipients": 3, "duplicates": 0}


async def test_rate_limit_is_a_retryable_429(port, emulator):
    await emulator.configure(rate_limits={"multicast": 1})
    outcomes = [await port.multicast("t1", ids(2), TEXT, str(uuid.uuid4())) for _ in range(3)]
    assert outcomes[0].status == 200
    assert {o.status for o in outcomes[1:]} == {429} and all(o.retryable and not o.monthly_limit for o in outcomes[1:])


async def test_monthly_limit_message_is_recognised(port, emulator):
    await emulator.configure(monthly_quota=1)
    out = await port.multicast("t1", ids(2), TEXT, str(uuid.uuid4()))
    assert out.status == 429 and out.monthly_limit


async def test_invalid_token_and_invalid_message_are_failures_with_lines_reason(port):
    bad_token = await port.multicast("bad", ids(1), TEXT, str(uuid.uuid4()))
    too_long = await port.multicast("t1", ids(1), [{"type": "text", "text": "あ" * 5001}], str(uuid.uuid4()))
    assert bad_token.status == 401 and not bad_token.retryable
    assert too_long.status == 400 and not too_long.retryable and too_long.message


async def test_no_answer_is_status_0():
    p = FastMulticastLinePort({"t1": "tok"}, "http://127.0.0.1:9", timeout_seconds=1.0)
    try:
        out = await p.multicast("t1", ids(1), TEXT, str(uuid.uuid4()))
    finally:
        await p.close()
    assert out.status == 0 and out.retryable


async def test_engine_on_the_fast_port_is_exactly_once_with_20_percent_faults(redis, emulator, port):
    users = RedisUserStore(redis)
    await seed_subscribers(users, "t1", 3000)
    await emulator.configure(fault_rate=0.1, fault_after_delivery_rate=0.05, slow_rate=0.05, slow_ms=50)
    deliverer = RedisDeliverer(redis)
    job_id = await deliverer.submit(job("emergency", "津波警報"))
    opts = EngineOptions(concurrency=16, backoff_base=0.01, backoff_cap=0.1, reclaim_idle_seconds=2,
                         reclaim_interval=0.2, poll_max=0.02)
    running = Running(DeliveryWorker(redis, port, FriendsAudience(users, with_language=False), users, ["t1"],
                                     limiter=RedisRateLimiter(redis, {}), options=opts, rng=random.Random(5)))
    try:
        await wait_for(await job_done(deliverer, job_id), timeout=60)
    finally:
        await running.halt()
    assert await emulator.stats() == {"deliveries": 3000, "unique_recipients": 3000, "duplicates": 0}
    st = await deliverer.status(job_id)
    assert (st.sent, st.failed, st.state) == (3000, 0, "done")
