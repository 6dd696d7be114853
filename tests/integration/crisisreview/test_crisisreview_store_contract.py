"""CrisisReviewStore contract: identical behaviour from the Memory fake and the Redis adapter."""

from __future__ import annotations

import asyncio

import pytest

from crisisreview.model import ReviewItem
from crisisreview.store import MemoryCrisisReviewStore, RedisCrisisReviewStore
from tests.conftest import BACKENDS, redis_for

DAY = 86400.0


@pytest.fixture(params=BACKENDS)
def store(request):
    if request.param == "memory":
        return MemoryCrisisReviewStore()
    return RedisCrisisReviewStore(redis_for(request))


def item(iid: str = "i1", tenant: str = "demo", marked_at: float = 1000.0, **kw) -> ReviewItem:
    values = dict(
        id=iid, tenant=tenant, conversation_ref="c-abc", message_ref="m1", text="もう起きたくない\t本当に",
        verdict="missed", category="suicide", bot_level="none", bot_category=None, language="ja", marked_by="alice",
        marked_at=marked_at,
    )
    values.update(kw)
    return ReviewItem(**values)


async def test_a_mark_round_trips_every_field(store):
    original = item(bot_level="concern", bot_category="self_harm", marked_at=1234.5)
    assert await store.mark(original, DAY)
    assert await store.get("demo", "i1") == original
    assert await store.get("suita", "i1") is None
    none_category = item("i2", verdict="not_crisis", category=None)
    await store.mark(none_category, DAY)
    assert (await store.get("demo", "i2")).category is None


async def test_pending_oldest_first_and_per_tenant(store):
    await store.mark(item("b", marked_at=2000), DAY)
    await store.mark(item("a", marked_at=1000), DAY)
    await store.mark(item("c", tenant="suita", marked_at=500), DAY)
    assert [i.id for i in await store.pending("demo")] == ["a", "b"]
    assert [i.id for i in await store.pending("demo", limit=1)] == ["a"]
    assert [i.id for i in await store.pending("suita")] == ["c"]
    assert await store.reviewed("demo") == []


async def test_a_pending_mark_is_replaced_a_decided_one_is_not(store):
    await store.mark(item(verdict="missed", category="dv"), DAY)
    assert await store.mark(item(verdict="not_crisis", category=None, marked_by="bob"), DAY)
    again = await store.get("demo", "i1")
    assert (again.verdict, again.marked_by) == ("not_crisis", "bob")
    assert [i.id for i in await store.pending("demo")] == ["i1"]
    decided = await store.decide("demo", "i1", "confirmed", "none", "sam", 5000.0)
    assert (decided.status, decided.label, decided.reviewed_by, decided.reviewed_at) == ("confirmed", "none", "sam", 5000.0)
    assert not await store.mark(item(marked_by="carol"), DAY)
    assert (await store.get("demo", "i1")).marked_by == "bob"


async def test_decide_moves_the_item_once(store):
    await store.mark(item("a"), DAY)
    await store.mark(item("b"), DAY)
    await store.decide("demo", "a", "confirmed", "suicide", "sam", 3000.0)
    await store.decide("demo", "b", "rejected", "none", "sam", 4000.0)
    assert await store.pending("demo") == []
    assert [(i.id, i.status, i.label) for i in await store.reviewed("demo")] == [("b", "rejected", "none"), ("a", "confirmed", "suicide")]
    assert await store.decide("demo", "a", "rejected", "none", "other", 6000.0) is None
    assert await store.decide("demo", "missing", "confirmed", "dv", "sam", 6000.0) is None
    assert await store.decide("suita", "b", "confirmed", "dv", "sue", 6000.0) is None
    assert (await store.get("demo", "a")).label == "suicide"


async def test_two_supervisors_deciding_at_once_one_wins(store):
    await store.mark(item(), DAY)
    results = await asyncio.gather(*(store.decide("demo", "i1", "confirmed", "suicide", f"sv{n}", 3000.0 + n) for n in range(5)))
    assert sum(r is not None for r in results) == 1


async def test_items_expire_with_the_retention(store):
    await store.mark(item("short"), 0.2)
    await store.mark(item("long", marked_at=2000), DAY)
    await store.mark(item("decided"), 0.2)
    await store.decide("demo", "decided", "confirmed", "suicide", "sam", 3000.0)
    await asyncio.sleep(0.35)
    assert await store.get("demo", "short") is None and await store.get("demo", "decided") is None
    assert [i.id for i in await store.pending("demo")] == ["long"]
    assert await store.reviewed("demo") == []
    assert await store.decide("demo", "short", "confirmed", "suicide", "sam", 3000.0) is None


async def test_redis_keys_are_tenant_tagged_and_carry_the_retention(redis):
    store = RedisCrisisReviewStore(redis)
    await store.mark(item(), 30 * DAY)
    assert sorted(await redis.keys("*")) == ["cb:{demo}:crisisreview:item:i1", "cb:{demo}:crisisreview:pending"]
    assert 30 * DAY - 5 <= await redis.ttl("cb:{demo}:crisisreview:item:i1") <= 30 * DAY
    await store.decide("demo", "i1", "confirmed", "suicide", "sam", 3000.0)
    assert 30 * DAY - 5 <= await redis.ttl("cb:{demo}:crisisreview:item:i1") <= 30 * DAY  # a decision keeps the expiry
