"""HandoffStore and HandoffBus contracts: identical behaviour from the Memory fakes and the Redis adapters."""

from __future__ import annotations

import asyncio

import pytest

from handoff.bus import MemoryHandoffBus, RedisHandoffBus
from handoff.model import Conversation, Message, Note
from handoff.store import MemoryHandoffStore, RedisHandoffStore
from tests.conftest import BACKENDS, redis_for


@pytest.fixture(params=BACKENDS)
def store(request):
    if request.param == "memory":
        return MemoryHandoffStore()
    return RedisHandoffStore(redis_for(request))


@pytest.fixture(params=BACKENDS)
def bus(request):
    if request.param == "memory":
        return MemoryHandoffBus()
    return RedisHandoffBus(redis_for(request))


def conv(user: str, risk: str = "normal", created: float = 1000.0, tenant: str = "demo", **kw) -> Conversation:
    return Conversation(id=Conversation.new_id(), tenant=tenant, user_id=user, risk=risk, created_at=created, last_activity=created, **kw)


async def test_one_open_conversation_per_resident(store):
    first, created = await store.create_or_get(conv("U1", summary="話を聞いてほしい"))
    again, created_again = await store.create_or_get(conv("U1"))
    assert created and not created_again and again.id == first.id and again.summary == "話を聞いてほしい"
    other_tenant, created_other = await store.create_or_get(conv("U1", tenant="suita"))
    assert created_other and other_tenant.id != first.id
    assert (await store.open_for_user("demo", "U1")).id == first.id
    assert await store.get("suita", first.id) is None


async def test_conversation_round_trips_every_field(store):
    original = conv("U1", "high", 1234.5, category="dv", reason="intent", summary="要約", crisis_text="本人の言葉", display_name="たろう", stat_category="dv")
    await store.create_or_get(original)
    assert await store.get("demo", original.id) == original
    assert (await store.get("demo", original.id)).emergency is False


async def test_queue_orders_by_risk_then_wait(store):
    a, _ = await store.create_or_get(conv("U1", "normal", 1000))
    b, _ = await store.create_or_get(conv("U2", "crisis", 3000))
    c, _ = await store.create_or_get(conv("U3", "normal", 500))
    d, _ = await store.create_or_get(conv("U4", "high", 2000))
    assert [x.id for x in await store.queue("demo")] == [b.id, d.id, c.id, a.id]
    await store.update("demo", a.id, {"risk": "crisis"})
    await store.requeue("demo", a.id)
    assert [x.id for x in await store.queue("demo")] == [a.id, b.id, d.id, c.id]
    assert await store.queue("suita") == []


async def test_take_is_exclusive_under_concurrency(store):
    c, _ = await store.create_or_get(conv("U1"))
    results = await asyncio.gather(*(store.take("demo", c.id, f"counsellor{i}", 2000.0) for i in range(10)))
    assert sorted(results) == [False] * 9 + [True]
    winner = f"counsellor{results.index(True)}"
    got = await store.get("demo", c.id)
    assert (got.status, got.holder, got.taken_at) == ("active", winner, 2000.0)
    assert await store.queue("demo") == [] and [x.id for x in await store.live("demo")] == [c.id]


async def test_transfer_only_by_the_holder(store):
    c, _ = await store.create_or_get(conv("U1"))
    assert not await store.transfer("demo", c.id, "alice", "bob")  # not active yet
    await store.take("demo", c.id, "alice", 2000.0)
    assert not await store.transfer("demo", c.id, "mallory", "bob")
    assert await store.transfer("demo", c.id, "alice", "bob")
    assert (await store.get("demo", c.id)).holder == "bob"


async def test_update_cannot_touch_the_lock(store):
    c, _ = await store.create_or_get(conv("U1"))
    with pytest.raises(ValueError):
        await store.update("demo", c.id, {"holder": "mallory"})
    await store.update("demo", c.id, {"emergency": True, "supervisors": ["sam"], "unread": 3, "labels": ["DV"]})
    got = await store.get("demo", c.id)
    assert (got.emergency, got.supervisors, got.unread, got.labels) == (True, ["sam"], 3, ["DV"])


async def test_finish_releases_the_resident_once(store):
    c, _ = await store.create_or_get(conv("U1"))
    await store.take("demo", c.id, "alice", 2000.0)
    assert await store.finish("demo", c.id, "closed", 3000.0, {"labels": ["DV"], "closing_category": "解決"})
    assert not await store.finish("demo", c.id, "closed", 3001.0)
    got = await store.get("demo", c.id)
    assert (got.status, got.closed_at, got.labels, got.closing_category) == ("closed", 3000.0, ["DV"], "解決")
    assert await store.open_for_user("demo", "U1") is None and await store.live("demo") == []
    assert not await store.take("demo", c.id, "bob", 3002.0)
    nxt, created = await store.create_or_get(conv("U1", created=4000.0))
    assert created and [h.id for h in await store.history("demo", "U1")] == [nxt.id, c.id]


async def test_finish_from_queue(store):
    c, _ = await store.create_or_get(conv("U1"))
    assert await store.finish("demo", c.id, "cancelled", 1500.0)
    assert await store.queue("demo") == [] and await store.open_for_user("demo", "U1") is None


async def test_transcript_and_notes(store):
    c, _ = await store.create_or_get(conv("U1"))
    await store.append_message("demo", c.id, Message("m1", 1.0, "resident", "たすけて <b>"))
    await store.append_message("demo", c.id, Message("m2", 2.0, "counsellor", "はい", author="alice"))
    await store.add_note("demo", c.id, Note(3.0, "alice", "要フォロー"))
    assert [(m.id, m.sender, m.text, m.author) for m in await store.transcript("demo", c.id)] == [
        ("m1", "resident", "たすけて <b>", ""),
        ("m2", "counsellor", "はい", "alice"),
    ]
    assert [(n.author, n.text) for n in await store.notes("demo", c.id)] == [("alice", "要フォロー")]
    assert await store.transcript("suita", c.id) == []


async def test_purge_removes_only_old_closed_conversations(store):
    old, _ = await store.create_or_get(conv("U1"))
    await store.append_message("demo", old.id, Message("m1", 1.0, "resident", "x"))
    await store.finish("demo", old.id, "closed", 100.0)
    recent, _ = await store.create_or_get(conv("U2"))
    await store.finish("demo", recent.id, "closed", 900.0)
    still_open, _ = await store.create_or_get(conv("U3"))
    assert await store.purge_closed_before("demo", 500.0) == 1
    assert await store.get("demo", old.id) is None and await store.transcript("demo", old.id) == []
    assert await store.get("demo", recent.id) is not None and await store.get("demo", still_open.id) is not None
    assert await store.history("demo", "U1") == []


async def test_unanswered_counter(store):
    assert await store.bump_unanswered("demo", "U1", 600, 1000.0) == 1
    assert await store.bump_unanswered("demo", "U1", 600, 1001.0) == 2
    assert await store.bump_unanswered("suita", "U1", 600, 1001.0) == 1
    await store.reset_unanswered("demo", "U1")
    assert await store.bump_unanswered("demo", "U1", 600, 1002.0) == 1


async def test_presence(store):
    await store.set_presence("demo", "alice", until=1060.0)
    await store.set_presence("demo", "bob", until=1010.0)
    await store.set_presence("suita", "sue", until=1060.0)
    assert await store.present("demo", 1000.0) == ["alice", "bob"]
    assert await store.present("demo", 1020.0) == ["alice"]
    await store.set_presence("demo", "alice", until=0.0)  # console closed
    assert await store.present("demo", 1020.0) == []


async def test_bus_delivers_to_subscribers_of_the_tenant_only(bus):
    async with bus.subscribe("demo") as demo_events, bus.subscribe("suita") as suita_events:
        await bus.publish("demo", {"type": "message", "cid": "c1", "message": {"text": "こんにちは"}})
        await bus.publish("suita", {"type": "queue", "cid": "c9"})
        got = await asyncio.wait_for(anext(demo_events), 5)
        assert got == {"type": "message", "cid": "c1", "message": {"text": "こんにちは"}}
        assert (await asyncio.wait_for(anext(suita_events), 5))["cid"] == "c9"
        await bus.publish("demo", {"type": "queue", "cid": "c2"})
        assert (await asyncio.wait_for(anext(demo_events), 5))["cid"] == "c2"  # c9 never reached demo


@pytest.mark.cluster
async def test_on_a_cluster_the_bus_uses_sharded_pub_sub_on_the_tenants_shard(cluster_redis, cluster_url):
    """SPUBLISH reaches only the shard that owns the tenant's slot (PUBLISH would be broadcast to every node)."""
    bus = RedisHandoffBus(cluster_redis)
    channel = RedisHandoffBus.channel("demo")
    owner = cluster_redis.get_node_from_key(channel)
    async with bus.subscribe("demo") as events:
        shard_subs = await cluster_redis.execute_command("PUBSUB SHARDNUMSUB", channel, target_nodes=owner)
        classic_subs = await cluster_redis.execute_command("PUBSUB NUMSUB", channel, target_nodes=owner)
        await bus.publish("demo", {"type": "queue", "cid": "c1"})
        assert (await asyncio.wait_for(anext(events), 5)) == {"type": "queue", "cid": "c1"}
    assert dict(shard_subs) == {channel: 1}
    assert dict(classic_subs) == {channel: 0}
