"""Contract of the crisis layer's conversation context, run against the in-memory fake and Redis."""

from __future__ import annotations

import pytest

from nlu.risk import CONTEXT_TURNS, CONTEXT_WINDOW_S
from nlu.risk_context import MemoryRiskContext, RedisRiskContext
from tests.conftest import BACKENDS, redis_for

T0 = 1_700_000_000_000


@pytest.fixture(params=BACKENDS)
def context(request):
    if request.param == "memory":
        return MemoryRiskContext()
    return RedisRiskContext(redis_for(request))


async def test_recent_scores_come_newest_first_per_resident(context):
    await context.remember("demo", "U1", 0.2, T0)
    await context.remember("demo", "U1", 0.8, T0 + 1000)
    await context.remember("demo", "U2", 0.5, T0 + 1000)
    await context.remember("other", "U1", 0.9, T0 + 1000)
    assert await context.recent("demo", "U1", T0 + 2000) == [0.8, 0.2]
    assert await context.recent("demo", "U2", T0 + 2000) == [0.5]
    assert await context.recent("demo", "U3", T0 + 2000) == []


async def test_only_the_last_turns_inside_the_window_count(context):
    for i in range(CONTEXT_TURNS + 3):
        await context.remember("demo", "U1", i / 10, T0 + i)
    recent = await context.recent("demo", "U1", T0 + 100)
    assert len(recent) == CONTEXT_TURNS and recent[0] == pytest.approx((CONTEXT_TURNS + 2) / 10)
    later = T0 + CONTEXT_TURNS + 2 + CONTEXT_WINDOW_S * 1000 + 1
    assert await context.recent("demo", "U1", later) == []


async def test_forget(context):
    await context.remember("demo", "U1", 0.7, T0)
    await context.forget("demo", "U1")
    assert await context.recent("demo", "U1", T0) == []


async def test_redis_keeps_numbers_only_with_a_ttl(redis):
    context = RedisRiskContext(redis)
    await context.remember("demo", "U1", 0.71234, T0)
    key = "cb:{demo}:crisis:ctx:U1"
    assert await redis.lrange(key, 0, -1) == [f"{T0}:0.712"]
    assert 0 < await redis.ttl(key) <= CONTEXT_WINDOW_S
