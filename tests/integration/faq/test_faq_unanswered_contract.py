"""One contract for every UnansweredStore: the in-memory fake and Redis (embedded server) behave the same."""

from __future__ import annotations

import time

import pytest

from faq.models import query_hash
from faq.unanswered import RETENTION, MemoryUnansweredStore, RedisUnansweredStore
from tests.conftest import BACKENDS, redis_for


@pytest.fixture(params=BACKENDS)
def store(request):
    return MemoryUnansweredStore() if request.param == "memory" else RedisUnansweredStore(redis_for(request))


async def test_same_question_counts_with_first_and_last_seen(store):
    t0 = float(int(time.time()) - 3600)  # stores keep whole seconds
    await store.record("t1", "ハクビシンが屋根裏にいる", "ja", "nothing", now=t0)
    await store.record("t1", "ハクビシンが屋根裏にいる", "ja", "nothing", now=t0 + 60)
    await store.record("t1", "犬のしつけ教室はある？", "ja", "nothing", now=t0 + 30)
    items = await store.list("t1")
    assert [q.text for q in items] == ["ハクビシンが屋根裏にいる", "犬のしつけ教室はある？"]  # latest first
    first = items[0]
    assert (first.count, first.first, first.last, first.key) == (2, t0, t0 + 60, query_hash("ハクビシンが屋根裏にいる"))


async def test_questions_are_dropped_ninety_days_after_last_asked(store):
    now = time.time()
    await store.record("t1", "古い質問です", "ja", "nothing", now=now - RETENTION - 10)
    await store.record("t1", "新しい質問です", "ja", "nothing", now=now)
    assert [q.text for q in await store.list("t1", now=now)] == ["新しい質問です"]


async def test_a_thumbs_down_moves_an_answered_question_into_the_list(store):
    await store.remember_answered("t1", "粗大ごみの料金は？", "ja")
    assert await store.list("t1") == []
    assert await store.voted_down("t1", query_hash("粗大ごみの料金は？"))
    (item,) = await store.list("t1")
    assert (item.text, item.reason, item.count) == ("粗大ごみの料金は？", "down", 1)
    assert not await store.voted_down("t1", query_hash("粗大ごみの料金は？"))  # the pending copy is used once
    assert not await store.voted_down("t1", query_hash("聞かれていない質問"))


async def test_remove_and_tenant_isolation(store):
    await store.record("t1", "質問その一です", "ja", "nothing")
    await store.record("t2", "質問その一です", "ja", "nothing")
    await store.record("t1", "How do I get a bus pass?", "en", "nothing")
    assert await store.remove("t1", [query_hash("質問その一です"), "0" * 16]) == 1
    assert [q.text for q in await store.list("t1")] == ["How do I get a bus pass?"]
    assert [q.lang for q in await store.list("t1")] == ["en"]
    assert [q.text for q in await store.list("t2")] == ["質問その一です"]


async def test_redis_keys_carry_the_tenant_hash_tag_and_expire(redis):
    store = RedisUnansweredStore(redis)
    await store.record("t1", "質問です", "ja", "nothing")
    await store.remember_answered("t1", "答えた質問です", "ja")
    keys = sorted(await redis.keys("*"))
    assert keys and all(k.startswith("cb:{t1}:faq:unanswered") for k in keys)
    assert all([0 < await redis.ttl(k) <= RETENTION for k in keys])
