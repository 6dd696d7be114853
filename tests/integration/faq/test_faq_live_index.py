"""Live reindex: an edit is visible to the next search, in this process and in another, and no search fails."""

from __future__ import annotations

import asyncio

import pytest

from faq.index import LiveIndex
from faq.models import FaqEntry
from faq.store import MemoryFaqStore, RedisFaqStore
from tests.conftest import BACKENDS, redis_for


def entries(tenant: str = "t") -> list[FaqEntry]:
    return [
        FaqEntry(tenant, "g1", "粗大ごみの出し方", "受付センターに申し込んでください。"),
        FaqEntry(tenant, "k1", "住民票の写しの取り方", "市民課で取れます。"),
        FaqEntry(tenant, "h1", "保育所の申し込み", "保育幼稚園課で受け付けます。"),
    ]


@pytest.fixture(params=BACKENDS)
def empty_store(request):
    return MemoryFaqStore() if request.param == "memory" else RedisFaqStore(redis_for(request))


@pytest.fixture
async def store(empty_store):
    await empty_store.put_many("t", entries(), who="setup")
    return empty_store


async def test_edit_is_seen_by_next_search(store):
    index = LiveIndex(store)
    assert (await index.search("t", "図書館の本"))[:1] == []
    await store.put(FaqEntry("t", "k1", "図書館の本の借り方", "カウンターで利用者カードを作ってください。"), who="ed")
    hits = await index.search("t", "図書館の本")
    assert hits[0].id == "k1"
    assert (await index.entry("t", "k1")).answer.startswith("カウンター")


async def test_delete_is_seen_by_next_search(store):
    index = LiveIndex(store)
    assert (await index.search("t", "粗大ごみ"))[0].id == "g1"
    await store.delete("t", "g1", who="ed")
    assert all(h.id != "g1" for h in await index.search("t", "粗大ごみ"))


async def test_other_process_notices_through_the_revision(redis):
    writer, reader = RedisFaqStore(redis), RedisFaqStore(redis)
    await writer.put_many("t", entries(), who="setup")
    index_elsewhere = LiveIndex(reader)
    assert (await index_elsewhere.search("t", "ハチの巣"))[:1] == []
    await writer.put(FaqEntry("t", "n1", "ハチの巣の駆除", "所有者にお願いしています。"), who="ed")
    assert (await index_elsewhere.search("t", "ハチの巣"))[0].id == "n1"


async def test_concurrent_searches_during_reindex_never_fail(store):
    index = LiveIndex(store)
    await index.search("t", "住民票")
    stop = asyncio.Event()

    async def searcher() -> int:
        n = 0
        while not stop.is_set():
            hits = await index.search("t", "住民票の写し")
            assert hits and hits[0].id == "k1"
            n += 1
            await asyncio.sleep(0)
        return n

    async def editor() -> None:
        for i in range(15):
            await store.put(FaqEntry("t", f"x{i}", f"追加の質問{i} 犬の登録", "保健所へ。"), who="ed")
            await asyncio.sleep(0.005)
        stop.set()

    counts = await asyncio.gather(*(searcher() for _ in range(8)), editor())
    assert all(c > 0 for c in counts[:8])
    final = await index.search("t", "追加の質問14 犬の登録", 20)
    assert "x14" in [h.id for h in final]


async def test_failed_build_keeps_old_snapshot(store, monkeypatch):
    index = LiveIndex(store)
    assert (await index.search("t", "住民票"))[0].id == "k1"
    await store.put(FaqEntry("t", "z", "新しい質問", "回答"), who="ed")

    async def broken(tenant):
        raise ConnectionError("redis went away")

    monkeypatch.setattr(store, "all", broken)
    assert (await index.search("t", "住民票"))[0].id == "k1"


async def test_votes_reach_the_ranking_without_an_edit(store):
    from faq.models import FaqFeedback, query_hash

    await store.put(FaqEntry("t", "k2", "住民票の写しの郵送請求", "郵送でも取れます。"), who="ed")
    index = LiveIndex(store, feedback_refresh=0)
    query = "住民票の写し"
    first = (await index.search("t", query))[0].id
    for _ in range(3):
        await store.add_feedback(FaqFeedback("t", first, query_hash(query), "down"))
    assert (await index.search("t", query))[0].id != first
