"""Shared fixtures: a real (embedded) Redis server for the whole session, flushed per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.redis_server import embedded_redis

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> str:
    """REDIS_URL when the environment gives one, otherwise an embedded server started for this session."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    with embedded_redis(tmp_path_factory.mktemp("redis"), appendonly=False) as handle:
        yield handle.url


@pytest.fixture
async def redis(redis_url):
    """An asyncio Redis client on a flushed database (decode_responses=True)."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared/fixtures is not beside the repo")
    return SHARED



@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """`make test` sets CIVICBOT_STRICT_SKIPS=1: a skipped test fails the run, with its reason (nothing skips silently)."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and os.environ.get("CIVICBOT_STRICT_SKIPS") == "1":
        report.outcome = "failed"
        report.longrepr = f"skipped under make test (CIVICBOT_STRICT_SKIPS=1): {report.longrepr}"
