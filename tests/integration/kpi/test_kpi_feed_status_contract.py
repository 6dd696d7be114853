"""Contract suite for the FeedStatus port (memory and Redis) and the Redis readiness probe."""

from __future__ import annotations

import pytest

from kpi.health import MemoryFeedStatus, RedisFeedStatus, readiness, redis_probe
from tests.conftest import BACKENDS, redis_for


@pytest.fixture(params=BACKENDS)
def feeds(request):
    clock = lambda: 5000.0  # noqa: E731
    if request.param == "memory":
        return MemoryFeedStatus(clock=clock)
    return RedisFeedStatus(redis_for(request), clock=clock)


async def test_only_successful_polls_are_remembered(feeds):
    assert await feeds.last_success() == {}
    await feeds.polled("jma-extra", ok=False)
    assert await feeds.last_success() == {}
    await feeds.polled("jma-extra", ok=True)
    await feeds.polled("jma-eqvol", ok=True, at=4000.0)
    assert await feeds.last_success() == {"jma-extra": 5000.0, "jma-eqvol": 4000.0}


async def test_redis_probe(redis):
    status, details = await readiness({"redis": redis_probe(redis)})
    assert status == 200 and details["checks"]["redis"]["ok"]
