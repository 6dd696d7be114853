"""One contract suite per core port, run against the in-memory fake and the Redis adapter."""

from __future__ import annotations

import signal
import time

import pytest

from bot.inbox import MemoryInbox, RedisInbox, shard_for, source_key
from bot.leases import MemoryLeases, RedisLeases
from bot.redis_client import NotReplicated
from bot.resp_channel import RespChannel
from bot.users import MemoryUserStore, RedisUserStore, User
from tests.conftest import BACKENDS, redis_for
from tests.helpers import ManualClock, text_event


@pytest.fixture
async def resp_channel(redis_url):
    channel = RespChannel(redis_url)
    yield channel
    await channel.aclose()


@pytest.fixture(params=[*BACKENDS, "redis+channel", pytest.param("cluster+wait", marks=pytest.mark.cluster)])
def inbox(request):
    if request.param == "memory":
        return MemoryInbox(shards=4)
    if request.param == "cluster+wait":  # every enqueue waits for its shard's replica (WAIT 1)
        return RedisInbox(request.getfixturevalue("cluster_redis"), shards=4, wait_replicas=1, wait_timeout_ms=2000)
    if request.param == "redis+channel":
        return RedisInbox(request.getfixturevalue("redis"), shards=4, channel=request.getfixturevalue("resp_channel"))
    return RedisInbox(redis_for(request), shards=4)


@pytest.fixture(params=BACKENDS)
def leases(request):
    if request.param == "memory":
        return MemoryLeases()
    return RedisLeases(redis_for(request))


@pytest.fixture(params=BACKENDS)
def users(request):
    if request.param == "memory":
        return MemoryUserStore()
    return RedisUserStore(redis_for(request))


async def _shard_with_entries(inbox):
    for shard in range(inbox.shards):
        if await inbox.read(shard, block_ms=10):
            return shard
    raise AssertionError("no shard has entries")


async def _drain(inbox, shard):
    out = []
    while True:
        batch = await inbox.read(shard, count=100, block_ms=10)
        if not batch:
            return out
        for entry in batch:
            out.append(entry)
            await inbox.ack(entry)


async def test_inbox_dedups_by_event_id(inbox):
    e = text_event()
    assert await inbox.enqueue("demo", [e]) == 1
    assert await inbox.enqueue("demo", [e, e]) == 0
    assert await inbox.depth() == 1


async def test_inbox_same_event_id_in_two_tenants_is_two_events(inbox):
    e = text_event()
    assert await inbox.enqueue("demo", [e]) == 1
    assert await inbox.enqueue("suita", [e]) == 1


async def test_inbox_keeps_order_per_user(inbox):
    user = "U" + "a" * 32
    events = [text_event(user, f"m{i}") for i in range(20)]
    await inbox.enqueue("demo", events)
    shard = await _shard_with_entries(inbox)
    got = await _drain(inbox, shard)
    assert [e.event["message"]["text"] for e in got] == [f"m{i}" for i in range(20)]


async def test_inbox_unacked_entries_are_read_again(inbox):
    await inbox.enqueue("demo", [text_event()])
    shard = await _shard_with_entries(inbox)
    first = await inbox.read(shard, block_ms=10)
    assert len(first) == 1  # still there: not acknowledged
    await inbox.ack(first[0])
    assert await inbox.read(shard, block_ms=10) == []
    assert await inbox.depth() == 0


async def test_inbox_poison_event_goes_to_dead_letters_after_three_attempts(inbox):
    await inbox.enqueue("demo", [text_event()])
    shard = await _shard_with_entries(inbox)
    results = []
    for _ in range(3):
        entry = (await inbox.read(shard, block_ms=10))[0]
        results.append(await inbox.retry_later(entry, "boom"))
    assert results == [False, False, True]
    assert await inbox.read(shard, block_ms=10) == []


async def test_leases_are_exclusive_until_released(leases):
    assert await leases.acquire("inbox-1", "a", 10_000)
    assert not await leases.acquire("inbox-1", "b", 10_000)
    assert await leases.acquire("inbox-1", "a", 10_000)  # renew
    await leases.release("inbox-1", "b")  # not the owner: no effect
    assert not await leases.acquire("inbox-1", "b", 10_000)
    await leases.release("inbox-1", "a")
    assert await leases.acquire("inbox-1", "b", 10_000)


async def test_leases_expire(leases):
    assert await leases.acquire("inbox-2", "a", 1)
    import asyncio

    await asyncio.sleep(0.02)
    assert await leases.acquire("inbox-2", "b", 10_000)


async def test_heartbeat_counts_live_workers(leases):
    assert await leases.heartbeat("w1", 10_000) == 1
    assert await leases.heartbeat("w2", 10_000) == 2


async def test_users_follow_unfollow(users):
    await users.save(User(tenant="demo", user_id="U1", language="en"))
    assert await users.is_active("demo", "U1")
    got = await users.get("demo", "U1")
    assert got.language == "en" and got.active
    await users.set_active("demo", "U1", False)
    assert not await users.is_active("demo", "U1")
    assert [u async for u in users.active_ids("demo")] == []
    assert await users.count_active("demo") == 0


async def test_users_in_batches_keep_order_and_report_unknown_ids(users):
    await users.save(User(tenant="demo", user_id="U1", language="en", display_name="山田|花子"))
    await users.save(User(tenant="demo", user_id="U2", active=False))
    got = await users.get_many("demo", ["U2", "nobody", "U1"])
    assert [u and u.user_id for u in got] == ["U2", None, "U1"]
    assert got[2].display_name == "山田|花子" and got[2].language == "en"
    assert await users.active_many("demo", ["U1", "nobody", "U2"]) == [True, False, False]
    await users.set_active("demo", "U3", True)  # never saved: becomes a known, active friend
    assert (await users.get("demo", "U3")).active and await users.count_active("demo") == 2


async def test_users_are_per_tenant(users):
    await users.save(User(tenant="demo", user_id="U1"))
    assert await users.get("suita", "U1") is None
    assert [u async for u in users.active_ids("demo")] == ["U1"]


async def test_channel_inbox_survives_a_killed_connection_and_a_script_flush(redis, redis_url):
    channel = RespChannel(redis_url)
    inbox = RedisInbox(redis, shards=4, channel=channel)
    try:
        assert await inbox.enqueue("demo", [text_event()]) == 1
        await redis.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        from redis.exceptions import ConnectionError as RedisConnectionError

        with pytest.raises((ConnectionError, RedisConnectionError)):
            await inbox.enqueue("demo", [text_event()])  # this batch fails loudly (webhook → 503, LINE redelivers)
        assert await inbox.enqueue("demo", [text_event()]) == 1  # and the next one reconnects
        await redis.script_flush()
        assert await inbox.enqueue("demo", [text_event(), text_event()]) == 2  # NOSCRIPT → reload, no loss
        assert await inbox.depth() == 4
    finally:
        await channel.aclose()


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_dead_letters_are_kept_only_for_the_retention_period(kind, redis):
    """Review finding 12: dead letters kept message text and user id forever, outliving every retention_days."""
    clock = ManualClock()
    day = 86400
    inbox = MemoryInbox(shards=1, dead_retention_seconds=7 * day, clock=clock) if kind == "memory" else RedisInbox(
        redis, shards=1, dead_retention_seconds=7 * day, clock=clock)

    async def kill(text: str) -> None:
        await inbox.enqueue("demo", [text_event(text=text)])
        for _ in range(3):
            entry = (await inbox.read(0, block_ms=10))[0]
            await inbox.retry_later(entry, "boom")

    await kill("電話番号は090-0000-0000です")
    assert [d["tenant"] for d in await inbox.dead_letters(0)] == ["demo"]
    clock.advance(8 * day)
    await kill("二通目")
    letters = await inbox.dead_letters(0)
    assert [d["event"]["message"]["text"] for d in letters] == ["二通目"]
    if kind == "redis":
        assert 0 < await redis.ttl(RedisInbox.dead_key(0)) <= 7 * day  # nothing new: the whole list expires too
    clock.advance(8 * day)
    assert await inbox.dead_letters(0) == []


@pytest.mark.cluster
async def test_inbox_refuses_to_acknowledge_an_event_its_connected_replica_did_not_confirm(redis_cluster, cluster_redis):
    """WAIT 1 while the shard's replica is connected but stalled (SIGSTOP): enqueue raises (→ the webhook answers
    503, LINE redelivers) instead of answering 200 for a write a failover could lose; the redelivery is deduped."""
    inbox = RedisInbox(cluster_redis, shards=4, wait_replicas=1, wait_timeout_ms=300)
    e = text_event()
    _, replicas = redis_cluster.owner(RedisInbox.stream_key(shard_for("demo", source_key(e), 4)))
    replica = redis_cluster.node(replicas[0]).proc
    replica.send_signal(signal.SIGSTOP)
    try:
        with pytest.raises(NotReplicated):
            await inbox.enqueue("demo", [e])
    finally:
        replica.send_signal(signal.SIGCONT)
    assert await inbox.enqueue("demo", [e]) == 0  # it did reach the primary: the redelivery is not a second event


async def test_inbox_without_a_connected_replica_acknowledges_with_primary_only_durability(redis):
    """A primary with no replica (a single server, or right after a failover until the old primary rejoins) cannot
    do better than its AOF: intake goes on, and only the first write pays the WAIT timeout."""
    inbox = RedisInbox(redis, shards=4, wait_replicas=1, wait_timeout_ms=300)
    assert await inbox.enqueue("demo", [text_event()]) == 1
    t0 = time.monotonic()
    assert await inbox.enqueue("demo", [text_event()]) == 1
    assert time.monotonic() - t0 < 0.3
