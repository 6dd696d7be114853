"""The delivery store owns every key of the engine: stream reads, reclaims, consumer clean-up, error counters and the
quota ledger go through it (real Redis). The engine and the quota guard hold no Redis client of their own."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

from broadcasts.audience import AudienceQuery
from broadcasts.jobs import DeliveryJob
from broadcasts.store import LANES, DeliveryStore, Read, tenant_of

BROADCASTS = Path(__file__).resolve().parents[3] / "broadcasts"


def _job(priority: str = "alert") -> DeliveryJob:
    return DeliveryJob(tenant="t1", audience=AudienceQuery("t1", all_friends=True), messages={"ja": [{"type": "text", "text": "x"}]}, priority=priority)


def test_engine_and_quota_guard_reach_redis_only_through_the_store():
    for name in ("engine.py", "quota.py"):
        tree = ast.parse((BROADCASTS / name).read_text(encoding="utf-8"))
        attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "self"}
        assert not attrs & {"r", "_r"}, name
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "broadcasts.store" for a in n.names}
        assert not imported & {"Keys", "GROUP"}, name


async def test_new_entries_counts_and_missing_groups(redis):
    store = DeliveryStore(redis)
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


async def test_reclaim_touch_and_forgetting_consumers(redis):
    store = DeliveryStore(redis)
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
    await asyncio.sleep(0.05)
    assert "dead" in await store.forget_consumers("t1", keep="alive", idle_ms=10)  # holds nothing, idle
    assert "alive" not in await store.forget_consumers("t1", keep="alive", idle_ms=0)
    assert {c["name"] for c in await redis.xinfo_consumers(entry.stream, "delivery")} == {"alive"}


async def test_job_state_error_counters_and_plan_error(redis):
    store = DeliveryStore(redis)
    job_id = await store.submit(_job("routine"))
    assert tenant_of(job_id) == "t1" and await store.job_state(job_id) == "queued"
    assert [await store.count_error(job_id) for _ in range(3)] == [1, 2, 3]
    assert [await store.count_error(job_id, 0) for _ in range(2)] == [1, 2]
    await store.note_plan_error(job_id, "audience_error")
    assert (await store.status(job_id)).error == "audience_error"
    assert await store.job_state("t1.unknown") is None
    assert LANES == ("emergency", "alert", "routine")


async def test_quota_ledger(redis):
    store = DeliveryStore(redis)
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
