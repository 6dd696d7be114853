"""One contract for every FaqStore: the in-memory fake and Redis (embedded server) must behave the same."""

from __future__ import annotations

import pytest

from faq.models import FaqEntry, FaqFeedback
from faq.store import MemoryFaqStore, RedisFaqStore, VersionConflict
from tests.conftest import BACKENDS, redis_for


@pytest.fixture(params=BACKENDS)
def store(request):
    return MemoryFaqStore() if request.param == "memory" else RedisFaqStore(redis_for(request))


def entry(eid: str = "1", tenant: str = "t1", **kw) -> FaqEntry:
    base = dict(question="粗大ごみの出し方は？", answer="事前に申し込んでください。", category="ごみ")
    base.update(kw)
    return FaqEntry(tenant=tenant, id=eid, **base)


async def test_put_get_roundtrip_and_version(store):
    stored = await store.put(entry(keywords=["粗大ごみ", "申込"], url="https://example.jp/1"), who="alice")
    assert stored.version == 1
    got = await store.get("t1", "1")
    assert got == stored
    assert got.keywords == ["粗大ごみ", "申込"]


async def test_update_bumps_version_and_records_before_after(store):
    await store.put(entry(), who="alice")
    updated = await store.put(entry(answer="電話で申し込んでください。"), who="bob")
    assert updated.version == 2
    history = await store.history("t1", "1")
    assert [c.who for c in history] == ["bob", "alice"]  # newest first
    assert history[0].before["answer"] == "事前に申し込んでください。"
    assert history[0].after["answer"] == "電話で申し込んでください。"
    assert history[1].before is None


async def test_unchanged_put_is_not_a_change(store):
    await store.put(entry(), who="alice")
    rev = await store.revision("t1")
    again = await store.put(entry(), who="alice")
    assert again.version == 1
    assert await store.revision("t1") == rev
    assert len(await store.history("t1")) == 1


async def test_expected_version_guards_concurrent_edits(store):
    await store.put(entry(), who="alice")
    await store.put(entry(answer="A"), who="alice", expected_version=1)
    with pytest.raises(VersionConflict):
        await store.put(entry(answer="B"), who="bob", expected_version=1)
    assert (await store.get("t1", "1")).answer == "A"


async def test_tenants_are_isolated(store):
    await store.put(entry(tenant="t1"), who="a")
    await store.put(entry(tenant="t2", question="別の市の質問"), who="b")
    assert [e.question for e in await store.all("t2")] == ["別の市の質問"]
    assert (await store.get("t1", "1")).question == "粗大ごみの出し方は？"
    assert await store.history("t2", "1") != await store.history("t1", "1")


async def test_delete_records_history_and_bumps_revision(store):
    await store.put(entry(), who="alice")
    rev = await store.revision("t1")
    assert await store.delete("t1", "1", who="carol") is True
    assert await store.get("t1", "1") is None
    assert await store.revision("t1") > rev
    last = (await store.history("t1", "1"))[0]
    assert (last.who, last.after, last.before["id"]) == ("carol", None, "1")
    assert await store.delete("t1", "1", who="carol") is False


async def test_put_many_counts_created_updated_unchanged(store):
    first = await store.put_many("t1", [entry("1"), entry("2")], who="import")
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    second = await store.put_many("t1", [entry("1"), entry("2", answer="新しい回答"), entry("3")], who="import")
    assert (second.created, second.updated, second.unchanged) == (1, 1, 1)
    assert (await store.get("t1", "2")).version == 2
    assert [e.id for e in await store.all("t1")] == ["1", "2", "3"]


async def test_revision_moves_on_every_change(store):
    assert await store.revision("t1") == 0
    await store.put(entry(), who="a")
    r1 = await store.revision("t1")
    await store.put_many("t1", [entry("2")], who="a")
    assert await store.revision("t1") > r1 > 0


async def test_feedback_records_and_counts(store):
    await store.add_feedback(FaqFeedback("t1", "1", "abc", "up"))
    await store.add_feedback(FaqFeedback("t1", "1", "abc", "down"))
    await store.add_feedback(FaqFeedback("t1", "1", "def", "up"))
    await store.add_feedback(FaqFeedback("t2", "1", "abc", "down"))
    assert (await store.feedback_counts("t1")) == {"1": (2, 1)}
    records = await store.feedback("t1")
    assert len(records) == 3 and records[0].query_hash == "def"


async def test_one_vote_per_voter_entry_and_query(store):
    assert await store.add_feedback(FaqFeedback("t1", "1", "q", "down", voter="v1")) is True
    assert await store.add_feedback(FaqFeedback("t1", "1", "q", "down", voter="v1")) is False
    assert await store.add_feedback(FaqFeedback("t1", "1", "other", "down", voter="v1")) is True
    assert await store.add_feedback(FaqFeedback("t1", "1", "q", "down", voter="v2")) is True
    assert await store.add_feedback(FaqFeedback("t2", "1", "q", "down", voter="v1")) is True
    assert (await store.feedback_counts("t1")) == {"1": (0, 3)}


async def test_demo_hook_loads_sample_into_demo_tenant_only(redis):
    from bot.config import Tenant
    from faq.demo import load_demo_faq

    tenants = {"demo": Tenant(id="demo", display_name="デモ市", lg_code="271004", demo=True),
               "suita": Tenant(id="suita", display_name="吹田市", lg_code="272051", demo=True)}
    notes = await load_demo_faq(redis, tenants)
    assert notes and "0 errors" in notes[0]
    store = RedisFaqStore(redis)
    assert len(await store.all("demo")) >= 100 and await store.all("suita") == []
    again = await load_demo_faq(redis, tenants)
    assert " 0 new, 0 updated" in again[0]
