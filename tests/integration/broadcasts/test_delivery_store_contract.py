"""Contract of the delivery store (``broadcasts.store.DeliveryStore``), run on the memory fake, one Redis and the
Redis cluster: jobs, planning, batches, hold/resume/cancel, the lane streams with their consumer group (read new,
reclaim, touch, forget consumers), error counters and the quota ledger. The engine and the quota guard hold no Redis
client of their own, and the engine delivers on the memory store as it does on Redis."""

from __future__ import annotations

import ast
import asyncio
import random
from pathlib import Path

import pytest

from bot.users import MemoryUserStore, User
from broadcasts.audience import AudienceQuery
from broadcasts.engine import DeliveryWorker, EngineOptions
from broadcasts.friends import FriendsAudience
from broadcasts.jobs import DeliveryJob
from broadcasts.line import FakeLinePort
from broadcasts.memory_store import MemoryDeliveryStore
from broadcasts.ratelimit import MemoryRateLimiter
from broadcasts.store import LANES, Read, RedisDeliveryStore, tenant_of
from tests.conftest import BACKENDS, redis_for

BROADCASTS = Path(__file__).resolve().parents[3] / "broadcasts"


@pytest.fixture(params=BACKENDS)
def store(request):
    return MemoryDeliveryStore() if request.param == "memory" else RedisDeliveryStore(redis_for(request))


def _job(priority: str = "alert", source_id: str | None = None) -> DeliveryJob:
    extra = {"source_id": source_id} if source_id else {}
    return DeliveryJob(
        tenant="t1", audience=AudienceQuery("t1", all_friends=True), messages={"ja": [{"type": "text", "text": "x"}]}, priority=priority, **extra
    )


def test_engine_and_quota_guard_reach_redis_only_through_the_store():
    for name in ("engine.py", "quota.py"):
        tree = ast.parse((BROADCASTS / name).read_text(encoding="utf-8"))
        attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "self"}
        assert not attrs & {"r", "_r"}, name
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "broadcasts.store" for a in n.names}
        assert not imported & {"Keys", "GROUP"}, name


async def test_submit_is_idempotent_and_status_reads_back(store):
    job_id = await store.submit(_job("alert", "src-1"), now=100.0)
    assert await store.submit(_job("alert", "src-1")) == job_id
    st = await store.status(job_id)
    assert (st.tenant, st.priority, st.state, st.planned, st.recipients, st.created_at) == ("t1", "alert", "queued", False, 0, 100.0)
    assert (await store.job_spec(job_id)).source_id == "src-1"
    assert [s.job_id for s in await store.list_jobs("t1")] == [job_id]
    assert await store.status("no-tenant") is None and await store.status("t1.unknown") is None


async def test_planning_commit_finish_and_completion(store):
    await store.ensure_groups("t1")
    job_id = await store.submit(_job("routine"))
    (plan,) = (await store.read_new("w1", [Read("plan", "t1", "routine", 1)])).entries
    assert await store.claim_plan(job_id, "p1") == ("sending", 0)
    assert await store.commit(job_id, "routine", "p1", 0, [("ja", "multicast", "k0", ["U1", "U2"])], final=False)
    assert await store.claim_plan(job_id, "p2") == ("sending", 1)  # a planner taking over learns where it stopped
    assert not await store.commit(job_id, "routine", "p1", 1, [], final=True)  # the stale planner is refused
    assert await store.planned_recipients(job_id, 1) == {"U1", "U2"}
    assert await store.commit(job_id, "routine", "p2", 1, [("en", "push", "k1", ["U3"])], final=True, queue_entry=plan.entry_id)
    batches = (await store.read_new("w1", [Read("batch", "t1", "routine", 10)])).entries
    assert [e.fields["n"] for e in batches] == ["0", "1"]
    b0, b1 = [await store.batch(job_id, n) for n in (0, 1)]
    assert (b1.lang, b1.endpoint, b1.to, b1.retry_key, b1.state, b1.attempts) == ("en", "push", ("U3",), "k1", "pending", 0)
    await store.note_attempt(b0, 500)
    assert (await store.batch(job_id, 0)).attempts == 1
    assert await store.finish(b0, "routine", batches[0].entry_id, "sent", 2)
    assert not await store.finish(b0, "routine", "", "sent", 2)  # exactly once
    assert await store.finish(b1, "routine", batches[1].entry_id, "failed", 1, "http_400")
    st = await store.status(job_id)
    assert (st.state, st.planned, st.recipients, st.sent, st.failed, st.batches_done, st.failure_reasons) == (
        "done", True, 3, 2, 1, 2, {"http_400": 1}
    )
    assert await store.active_counts(["t1"]) == {"t1": (0, 0, 0)}
    assert (await store.events("t1"))[0]["type"] == "job_done"
    assert await store.claim_plan(job_id, "p3") == ("planned", 0)
    assert await store.claim_plan("t1.unknown", "p3") == ("missing", 0)


async def test_hold_resume_requeue_and_cancel(store):
    await store.ensure_groups("t1")
    job_id = await store.submit(_job("routine"))
    await store.claim_plan(job_id, "p")
    await store.commit(job_id, "routine", "p", 0, [("ja", "multicast", "k0", ["U1", "U2"]), ("ja", "push", "k1", ["U3"])], final=True)
    e0, e1 = (await store.read_new("w", [Read("batch", "t1", "routine", 10)])).entries
    b0, b1 = await store.batch(job_id, 0), await store.batch(job_id, 1)
    await store.requeue(b1, "routine", e1.entry_id)  # back at the end of the lane
    (again,) = (await store.read_new("w", [Read("batch", "t1", "routine", 10)])).entries
    assert again.fields == {"job": job_id, "n": "1"} and again.entry_id != e1.entry_id
    await store.hold(b0, "routine", e0.entry_id, "quota")
    st = await store.status(job_id)
    assert (st.state, st.held) == ("held", 2) and await store.held_jobs("t1") == [job_id]
    assert (await store.batch(job_id, 0)).state == "held"
    assert await store.resume(job_id) == 1
    assert (await store.status(job_id)).state == "sending" and await store.held_jobs("t1") == []
    (back,) = (await store.read_new("w", [Read("batch", "t1", "routine", 10)])).entries
    assert back.fields == {"job": job_id, "n": "0"}
    assert [e["type"] for e in await store.events("t1")][:2] == ["job_resumed", "job_held"]
    assert await store.cancel(job_id) and await store.job_state(job_id) == "cancelled"
    assert not await store.cancel(job_id)
    await store.finish(await store.batch(job_id, 0), "routine", back.entry_id, "cancelled", 2)
    await store.finish(await store.batch(job_id, 1), "routine", again.entry_id, "cancelled", 1)
    st = await store.status(job_id)
    assert (st.state, st.cancelled, st.finished_at is not None) == ("cancelled", 3, True)


async def test_new_entries_counts_and_missing_groups(store):
    await store.ensure_groups("t1")
    await store.ensure_groups("t1")  # idempotent
    job_id = await store.submit(_job("alert"))
    assert (await store.active_counts(["t1", "t2"])) == {"t1": (0, 1, 0), "t2": (0, 0, 0)}
    found = await store.read_new("w1", [Read("plan", "t1", "alert", 1), Read("batch", "t1", "alert", 10)])
    assert [(e.kind, e.tenant, e.lane, e.fields) for e in found.entries] == [("plan", "t1", "alert", {"job": job_id})]
    assert found.missing_groups == set()
    assert (await store.read_new("w2", [Read("plan", "t1", "alert", 1)])).entries == []  # taken by w1
    assert (await store.read_new("w1", [])).entries == []
    missing = await store.read_new("w1", [Read("plan", "t2", "routine", 1)])  # t2's groups were never made
    assert missing.entries == [] and missing.missing_groups == {"t2"}


async def test_reclaim_touch_and_forgetting_consumers(store):
    await store.ensure_groups("t1")
    job_id = await store.submit(_job("emergency"))
    (entry,) = (await store.read_new("dead", [Read("plan", "t1", "emergency", 1)])).entries
    await asyncio.sleep(0.05)
    assert await store.reclaim("alive", "plan", "t1", "emergency", 10_000, 5) == []  # not idle long enough
    await store.touch("dead", entry)
    (taken,) = await store.reclaim("alive", "plan", "t1", "emergency", 0, 5)
    assert (taken.entry_id, taken.fields["job"], taken.stream) == (entry.entry_id, job_id, entry.stream)
    assert await store.reclaim("alive", "plan", "t2", "emergency", 0, 5) is None  # no group: the caller recreates it
    await store.ack(taken.stream, taken.entry_id)
    assert await store.reclaim("again", "plan", "t1", "emergency", 0, 5) == []  # acknowledged: nothing to take over
    await asyncio.sleep(0.05)
    gone = await store.forget_consumers("t1", keep="alive", idle_ms=10)
    assert "dead" in gone and "alive" not in gone  # holds nothing, idle; the keeper stays
    assert "alive" not in await store.forget_consumers("t1", keep="alive", idle_ms=0)


async def test_a_consumer_holding_work_is_not_forgotten(store):
    await store.ensure_groups("t1")
    await store.submit(_job("alert"))
    await store.read_new("busy", [Read("plan", "t1", "alert", 1)])
    await asyncio.sleep(0.05)
    assert "busy" not in await store.forget_consumers("t1", keep="other", idle_ms=10)


async def test_job_state_error_counters_and_plan_error(store):
    job_id = await store.submit(_job("routine"))
    assert tenant_of(job_id) == "t1" and await store.job_state(job_id) == "queued"
    assert [await store.count_error(job_id) for _ in range(3)] == [1, 2, 3]
    assert [await store.count_error(job_id, 0) for _ in range(2)] == [1, 2]
    await store.note_plan_error(job_id, "audience_error")
    assert (await store.status(job_id)).error == "audience_error"
    assert await store.job_state("t1.unknown") is None


async def test_quota_ledger(store):
    assert await store.quota("t1") == {}
    assert await store.lock_quota_reading("t1") and not await store.lock_quota_reading("t1")  # one reader at a time
    await store.mark_quota_exhausted("t1", 5.0, 10)
    await store.record_quota_reading("t1", 1000, 400, 123.5)  # a fresh reading: exhausted and lock cleared
    assert await store.quota("t1") == {"limit": "1000", "used": "400", "local": "0", "read_at": "123.5"}
    assert await store.lock_quota_reading("t1")
    await store.add_quota_sent("t1", 7)
    await store.mark_quota_exhausted("t1", 9.0, None)
    raw = await store.quota("t1")
    assert (raw["local"], raw["exhausted"]) == ("7", "9.0")
    await store.record_quota_reading("t2", None, 0, 1.0)
    assert (await store.quota("t2"))["limit"] == "-1"
    assert await store.quota_warned_once("t1", "202701", 80) and not await store.quota_warned_once("t1", "202701", 80)
    assert await store.quota_warned_once("t1", "202702", 80)


async def test_the_engine_delivers_on_the_store(store):
    """Every friend once, per language, on whichever store: the worker needs nothing else of Redis."""
    users = MemoryUserStore()
    for i in range(1203):
        await users.save(User(tenant="t1", user_id=f"U{i:05d}", language=("ja", "en")[i % 2]))
    line = FakeLinePort()
    job = DeliveryJob(
        tenant="t1", audience=AudienceQuery("t1", all_friends=True), priority="emergency",
        messages={"ja": [{"type": "text", "text": "避難してください"}], "en": [{"type": "text", "text": "Evacuate"}]},
    )
    job_id = await store.submit(job)
    worker = DeliveryWorker(
        None, line, FriendsAudience(users), users, ["t1"], store=store, limiter=MemoryRateLimiter({"multicast": 1e9, "push": 1e9}),
        options=EngineOptions(poll_max=0.02, reclaim_interval=0.05), rng=random.Random(7),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        for _ in range(400):
            st = await store.status(job_id)
            if st.state == "done":
                break
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task
    assert (st.state, st.sent, st.recipients, st.batches) == ("done", 1203, 1203, 4)
    assert LANES[0] == "emergency" and st.priority == "emergency"
