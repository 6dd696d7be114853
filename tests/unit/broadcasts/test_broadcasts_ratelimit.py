"""Token buckets, one contract for the in-memory and the Redis (shared by all workers) implementation."""

from __future__ import annotations

import pytest

from broadcasts.ratelimit import DEFAULT_RATES, MemoryRateLimiter, RedisRateLimiter, burst_for
from tests.conftest import BACKENDS, redis_for


@pytest.fixture(params=BACKENDS)
def make_limiter(request):
    redis = None if request.param == "memory" else redis_for(request)

    def make(rates):
        return MemoryRateLimiter(rates) if request.param == "memory" else RedisRateLimiter(redis, rates)

    return make


async def test_defaults_are_lines_published_limits():
    assert DEFAULT_RATES["multicast"] == 200
    assert DEFAULT_RATES["push"] == DEFAULT_RATES["reply"] == 2000
    assert DEFAULT_RATES["narrowcast"] == DEFAULT_RATES["broadcast"] == pytest.approx(60 / 3600)
    assert DEFAULT_RATES["loading"] == 100


async def test_a_burst_is_free_then_waiters_queue_at_the_rate(make_limiter):
    limiter = make_limiter({"multicast": 1.0, "push": 100.0})  # slow rate: the test's own run time cannot refill it
    assert burst_for(1.0) == 1 and burst_for(100.0) == 5
    waits = [await limiter.reserve("t1", "multicast") for _ in range(11)]
    assert waits[0] == 0.0
    later = waits[1:]
    assert all(w > 0 for w in later)
    assert later == sorted(later)  # each next caller waits longer: a queue, not a free-for-all
    assert later[-1] == pytest.approx(10.0, abs=0.5)


async def test_channels_and_endpoints_have_separate_buckets(make_limiter):
    limiter = make_limiter({"multicast": 1.0, "push": 1.0})
    assert await limiter.reserve("t1", "multicast") == 0
    assert await limiter.reserve("t1", "multicast") > 0
    assert await limiter.reserve("t2", "multicast") == 0
    assert await limiter.reserve("t1", "push") == 0


async def test_broadcast_allows_one_per_minute(make_limiter):
    limiter = make_limiter({})
    assert await limiter.reserve("t1", "broadcast") == 0
    assert await limiter.reserve("t1", "broadcast") == pytest.approx(60.0, rel=0.01)


async def test_endpoints_without_a_limit_never_wait(make_limiter):
    limiter = make_limiter({})
    assert [await limiter.reserve("t1", "profile") for _ in range(5)] == [0.0] * 5


async def test_workers_share_the_redis_bucket(redis):
    a, b = RedisRateLimiter(redis, {"multicast": 1.0}), RedisRateLimiter(redis, {"multicast": 1.0})
    assert await a.reserve("t1", "multicast") == 0
    assert await b.reserve("t1", "multicast") > 0
